const MARKER = Symbol.for('llm-ir.error');

/**
 * Error codes raised by `@llm-ir/core`. Other packages extend the set with their own string codes.
 *
 * - `invalid-json`: a file or line is not valid JSON.
 * - `invalid-row`: a row misses a field or has a field of the wrong type.
 * - `invalid-format`: a challenge prompt does not have the expected structure.
 * - `duplicate-id`: two rows share an id.
 * - `unknown-label`: a label is not in the task's label set.
 * - `placeholder-mismatch`: the number of `<image>` placeholders differs from the image list.
 * - `empty-dialogue`: a dialogue has no turn.
 * - `image-missing` / `image-empty` / `image-corrupt` / `image-truncated` / `image-too-large` /
 *   `image-unsupported` / `path-escape`: image problems (see {@link checkImage}).
 * - `config-invalid`: options failed validation.
 * - `io`: reading or writing a file failed.
 * - `cancelled`: an `AbortSignal` fired.
 */
export type CoreErrorCode =
  | 'invalid-json'
  | 'invalid-row'
  | 'invalid-format'
  | 'duplicate-id'
  | 'unknown-label'
  | 'placeholder-mismatch'
  | 'empty-dialogue'
  | 'image-missing'
  | 'image-empty'
  | 'image-corrupt'
  | 'image-truncated'
  | 'image-too-large'
  | 'image-unsupported'
  | 'path-escape'
  | 'config-invalid'
  | 'io'
  | 'cancelled';

/** Options accepted by {@link LlmIrError}. */
export interface LlmIrErrorOptions {
  /** Machine-readable code (a {@link CoreErrorCode} or a package's own code). */
  code: CoreErrorCode | (string & {});
  /** Human-readable message. */
  message: string;
  /** The underlying error, if any. */
  cause?: unknown;
  /** File the problem is in, when there is one. */
  file?: string;
  /** Zero-based row (array index or line number - 1) the problem is in, when there is one. */
  row?: number;
  /** Id of the row the problem is in, when known. */
  id?: string;
  /** Field of the row the problem is in, when known. */
  field?: string;
}

/**
 * Base error of every llm-ir package. Carries a string `code` and, for data problems, the file,
 * row, id and field it concerns. `LlmIrError.isInstance(e)` works across duplicate installs.
 *
 * @example
 * ```ts
 * try { await readChallengeFile('train.json') }
 * catch (e) { if (LlmIrError.isInstance(e)) console.error(e.code, e.message) }
 * ```
 */
export class LlmIrError extends Error {
  private readonly [MARKER] = true;
  /** Machine-readable code. */
  readonly code: CoreErrorCode | (string & {});
  /** File the problem is in, when there is one. */
  readonly file: string | undefined;
  /** Zero-based row the problem is in, when there is one. */
  readonly row: number | undefined;
  /** Id of the row the problem is in, when known. */
  readonly id: string | undefined;
  /** Field the problem is in, when known. */
  readonly field: string | undefined;
  /** The reason alone, without the file/row/id/field prefix of `message`. */
  readonly reason: string;

  constructor(options: LlmIrErrorOptions) {
    super(formatMessage(options), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LlmIrError';
    this.code = options.code;
    this.file = options.file;
    this.row = options.row;
    this.id = options.id;
    this.field = options.field;
    this.reason = options.message;
  }

  /** True for any llm-ir error, even one created by another copy of this package. */
  static isInstance(error: unknown): error is LlmIrError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }
}

function formatMessage(o: LlmIrErrorOptions): string {
  const where: string[] = [];
  if (o.file !== undefined) where.push(o.file);
  if (o.row !== undefined) where.push(`row ${o.row}`);
  if (o.id !== undefined) where.push(`id ${o.id}`);
  if (o.field !== undefined) where.push(`field ${o.field}`);
  return where.length > 0 ? `${where.join(', ')}: ${o.message}` : o.message;
}

/** A problem found in options: `issues` lists each path and message. */
export class ConfigValidationError extends LlmIrError {
  /** Every problem found, with its path in the options object. */
  readonly issues: ReadonlyArray<{ path: string; message: string }>;
  constructor(options: { issues: ReadonlyArray<{ path: string; message: string }>; cause?: unknown; what?: string }) {
    super({
      code: 'config-invalid',
      message: `invalid ${options.what ?? 'options'}: ${options.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
      cause: options.cause,
    });
    this.name = 'ConfigValidationError';
    this.issues = options.issues;
  }
}

/** Wraps anything thrown into an {@link LlmIrError}, keeping llm-ir errors as they are. */
export function toLlmIrError(error: unknown, code: CoreErrorCode | (string & {}) = 'io'): LlmIrError {
  if (LlmIrError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LlmIrError({ code, message, cause: error });
}
