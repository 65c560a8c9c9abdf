import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import pMap from 'p-map';
import { countPlaceholders, parseChallengeRow } from './challenge.ts';
import { LlmIrError } from './errors.ts';
import { checkImage, type ImageInfo, type ImageLimits } from './images.ts';
import { readJsonArray, readJsonl } from './io.ts';
import { labelSetOf } from './labels.ts';
import { startProgress, type ProgressCallback } from './progress.ts';

/** One problem found by {@link validateRows} or {@link validateFile}. */
export interface Problem {
  /** Zero-based row index, or null for a file-level problem. */
  row: number | null;
  /** Id of the row, when it has one. */
  id: string | null;
  /** Field concerned (`id`, `instruction`, `output`, `image`, `image[1]`, `file`, ...). */
  field: string;
  /** Machine-readable code (`invalid-json`, `unknown-label`, `image-truncated`, `bom`, `crlf`, ...). */
  code: string;
  /** Human-readable reason. */
  message: string;
  /** `warning` for problems that readers tolerate (a BOM, CRLF line ends); `error` otherwise. */
  severity: 'error' | 'warning';
}

/** Options of {@link validateRows} and {@link validateFile}. */
export interface ValidateOptions {
  /** Folder the `image` names resolve in; without it images are not checked. */
  imagesDir?: string;
  /** Limits for image checks. */
  imageLimits?: ImageLimits;
  /** Every row must carry a non-empty `output`. @default false */
  requireLabels?: boolean;
  /** Images checked at once. @default 8 */
  concurrency?: number;
  /** Progress of the image checks. */
  onProgress?: ProgressCallback;
  /** Cancels validation. */
  signal?: AbortSignal;
}

function problem(at: Pick<Problem, 'row' | 'id' | 'field'>, code: string, message: string, severity: Problem['severity'] = 'error'): Problem {
  return { ...at, code, message, severity };
}

/**
 * Validates challenge rows (already parsed from JSON) and, with `imagesDir`, their images. Finds
 * every problem rather than stopping at the first: missing or mistyped fields, duplicate ids,
 * unknown labels, `<image>` count != image count, empty dialogues, malformed prompts, CR line ends
 * inside a prompt, and missing / empty / truncated / corrupt / over-limit images or paths that
 * escape the images folder.
 *
 * @example
 * ```ts
 * const problems = await validateRows(JSON.parse(text), { imagesDir: 'images' });
 * for (const p of problems) console.log(`row ${p.row} ${p.id}: ${p.message}`);
 * ```
 */
export async function validateRows(rows: readonly unknown[], options: ValidateOptions = {}): Promise<Problem[]> {
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  const imageUses: Array<{ row: number; id: string; field: string; name: string }> = [];
  rows.forEach((value, row) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(problem({ row, id: null, field: '' }, 'invalid-row', 'row is not a JSON object'));
      return;
    }
    const r = value as Record<string, unknown>;
    const id = typeof r['id'] === 'string' && r['id'] !== '' ? r['id'] : null;
    const before = problems.length;
    if (id === null) problems.push(problem({ row, id: null, field: 'id' }, 'invalid-row', 'missing or non-string "id"'));
    else if (seen.has(id)) problems.push(problem({ row, id, field: 'id' }, 'duplicate-id', `id already used by row ${seen.get(id)}`));
    else seen.set(id, row);
    if (typeof r['instruction'] !== 'string') problems.push(problem({ row, id, field: 'instruction' }, 'invalid-row', 'missing or non-string "instruction"'));
    if (r['input'] !== undefined && typeof r['input'] !== 'string') problems.push(problem({ row, id, field: 'input' }, 'invalid-row', '"input" is not a string'));
    if (r['output'] !== undefined && typeof r['output'] !== 'string') problems.push(problem({ row, id, field: 'output' }, 'invalid-row', '"output" is not a string'));
    const images = r['image'];
    const imagesOk = Array.isArray(images) && images.every((x) => typeof x === 'string');
    if (!imagesOk) problems.push(problem({ row, id, field: 'image' }, 'invalid-row', 'missing "image" list of file names'));
    if (problems.length > before && problems.slice(before).some((p) => p.code === 'invalid-row')) return;

    const instruction = r['instruction'] as string;
    if (instruction.includes('\r')) problems.push(problem({ row, id, field: 'instruction' }, 'crlf', 'prompt has CR (\\r) line ends; the challenge uses \\n'));
    try {
      const sample = parseChallengeRow(value, { row });
      const label = typeof r['output'] === 'string' ? r['output'] : '';
      if (label === '') {
        if (options.requireLabels) problems.push(problem({ row, id, field: 'output' }, 'missing-label', 'row has no label'));
      } else if (!labelSetOf(sample.task).has(label)) {
        problems.push(problem({ row, id, field: 'output' }, 'unknown-label', `label ${JSON.stringify(label)} is not one of the ${sample.task} labels`));
      }
    } catch (error) {
      if (!LlmIrError.isInstance(error)) throw error;
      problems.push(problem({ row, id, field: error.field ?? 'instruction' }, error.code, error.reason));
    }
    if (imagesOk) {
      const list = images as string[];
      if (countPlaceholders(instruction) !== list.length && !problems.some((p) => p.row === row && p.code === 'placeholder-mismatch')) {
        problems.push(problem({ row, id, field: 'image' }, 'placeholder-mismatch', `${countPlaceholders(instruction)} <image> placeholder(s) but ${list.length} image(s) listed`));
      }
      list.forEach((name, i) => imageUses.push({ row, id: id ?? '', field: `image[${i}]`, name }));
    }
  });

  if (options.imagesDir !== undefined && imageUses.length > 0) {
    const dir = options.imagesDir;
    const checked = new Map<string, Promise<ImageInfo>>();
    const progress = startProgress('validate-images', options.onProgress, { total: imageUses.length, unit: 'image' });
    const imageProblems: Array<Problem & { order: number }> = [];
    await pMap(
      imageUses.map((u, order) => ({ ...u, order })),
      async (u) => {
        let check = checked.get(u.name);
        if (!check) {
          check = checkImage(dir, u.name, options.imageLimits);
          checked.set(u.name, check);
        }
        try {
          await check;
          progress.advance();
        } catch (error) {
          if (!LlmIrError.isInstance(error)) throw error;
          imageProblems.push({ ...problem({ row: u.row, id: u.id || null, field: u.field }, error.code, error.reason), order: u.order });
          progress.fail();
        }
      },
      { concurrency: Math.max(1, options.concurrency ?? 8), ...(options.signal ? { signal: options.signal } : {}) },
    );
    progress.end();
    imageProblems.sort((a, b) => a.order - b.order);
    for (const { order: _order, ...p } of imageProblems) problems.push(p);
  }
  return problems.sort((a, b) => (a.row ?? -1) - (b.row ?? -1));
}

/**
 * Validates a data file: file-level problems (not valid JSON, a UTF-8 BOM, CRLF line ends; for
 * JSONL, each bad line) and then every row as {@link validateRows} does. Never throws for bad
 * data; every problem is in the result.
 *
 * @throws {LlmIrError} `io` only when the file cannot be opened.
 */
export async function validateFile(path: string, options: ValidateOptions = {}): Promise<Problem[]> {
  const problems: Problem[] = [];
  let head: Buffer;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new LlmIrError({ code: 'io', message: `cannot open file: ${(cause as Error).message}`, file: path, cause });
  }
  try {
    head = Buffer.alloc(1 << 16);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
    problems.push(problem({ row: null, id: null, field: 'file' }, 'bom', 'file starts with a UTF-8 byte order mark (tolerated by readers, not valid JSON)', 'warning'));
  }
  if (head.includes('\r\n')) problems.push(problem({ row: null, id: null, field: 'file' }, 'crlf', 'file has CRLF line ends (tolerated by readers)', 'warning'));
  if (head.length === 0) {
    problems.push(problem({ row: null, id: null, field: 'file' }, 'invalid-json', 'file is empty'));
    return problems;
  }
  const rows: unknown[] = [];
  const rowIndex: number[] = [];
  const source = extname(path).toLowerCase() === '.jsonl' ? readJsonl(path) : readJsonArray(path);
  for await (const r of source) {
    if (r.ok) {
      rows.push(r.value);
      rowIndex.push(r.row);
    } else {
      problems.push(problem({ row: r.row, id: null, field: 'file' }, r.error.code, r.error.reason));
    }
  }
  const rowProblems = await validateRows(rows, options);
  for (const p of rowProblems) problems.push(p.row === null ? p : { ...p, row: rowIndex[p.row] ?? p.row });
  return problems;
}
