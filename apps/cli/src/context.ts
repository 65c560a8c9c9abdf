import { LlmIrError, labelSetOf, loadSamples, type Sample } from '@llm-ir/core';

/** Where a command writes and how it ends; tests pass their own to run commands in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when progress bars may be drawn. */
  progress: boolean;
  /** Fires on Ctrl-C, SIGTERM, or when the launching process dies: commands end their runs `cancelled`. */
  signal?: AbortSignal;
}

/** Exit codes: 0 ok, 1 the command's check failed (validate found problems) or a fatal error, 2 completed with some bad rows or usage error. */
export const EXIT = { ok: 0, failed: 1, partial: 2 } as const;

/** Thrown by commands to end with an exit code after printing what they had to say. */
export class CliExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'CliExit';
    this.exitCode = exitCode;
  }
}

/** A one-line message for an error: typed errors by their message, others with their name. */
export function describeError(error: unknown): string {
  if (LlmIrError.isInstance(error)) return `error [${error.code}]: ${error.message}`;
  if (error instanceof Error) return `error: ${error.message}`;
  return `error: ${String(error)}`;
}

/**
 * Rows whose label is in their task's label set (or that have none), and an `unknown-label` error for
 * each of the others.
 */
export function knownLabels(samples: readonly Sample[], file: string): { samples: Sample[]; errors: LlmIrError[] } {
  const kept: Sample[] = [];
  const errors: LlmIrError[] = [];
  for (const s of samples) {
    if (s.label === undefined || labelSetOf(s.task).has(s.label)) kept.push(s);
    else errors.push(new LlmIrError({ code: 'unknown-label', message: `${file}: row ${s.id}: label ${JSON.stringify(s.label)} is not one of the ${s.task} labels`, file, id: s.id, field: 'output' }));
  }
  return { samples: kept, errors };
}

/**
 * Loads rows or samples and prints each bad row's typed error (file, row, reason) to stderr; the
 * command decides the exit code. With `labels`, rows whose label is not in their task's label set
 * are bad rows too (for commands that learn from labels).
 */
export async function loadOrReport(file: string, io: CliIo, options: { labels?: boolean } = {}): Promise<{ samples: Sample[]; errors: LlmIrError[] }> {
  const loaded = await loadSamples(file);
  const checked = options.labels ? knownLabels(loaded.samples, file) : { samples: loaded.samples, errors: [] };
  const errors = [...loaded.errors, ...checked.errors];
  for (const e of errors) io.stderr(`${e.message} [${e.code}]\n`);
  return { samples: checked.samples, errors };
}
