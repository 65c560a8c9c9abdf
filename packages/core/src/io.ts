import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { parser as jsonParser } from 'stream-json';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { LlmIrError } from './errors.ts';
import { writeStreamAtomic } from './fs-atomic.ts';
import type { Prediction } from './types.ts';

/** One item of a streamed file: a parsed value or the error that row gave. */
export type RowResult<T> = { ok: true; row: number; value: T } | { ok: false; row: number; error: LlmIrError };

const NEWLINE = 0x0a;
const BOM = '\uFEFF';

/** Options of the streaming readers. */
export interface ReadOptions {
  /** Cancels reading. */
  signal?: AbortSignal;
  /** Read chunk size in bytes. @default 1 MiB */
  chunkSize?: number;
  /**
   * Longest line (JSONL row) accepted, in bytes. A longer one is skipped in constant memory and
   * reported as a `row-too-large` error item (a challenge row is a few KiB). @default 64 MiB
   */
  maxLineBytes?: number;
}

/** Default {@link ReadOptions.maxLineBytes}: 64 MiB. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** A line {@link readLines} skipped for being longer than `maxLineBytes`. */
export interface OversizedLine {
  /** Zero-based line index. */
  index: number;
  /** Its length in bytes. */
  bytes: number;
}

/**
 * Streams the lines of a text file as strings (UTF-8, a leading BOM and `\r` line ends removed), in
 * time linear in the file size and memory bounded by the longest line. Yields `[lineIndex, text]`, or
 * `[lineIndex, OversizedLine]` for a line longer than `maxLineBytes` (its bytes are not kept).
 */
export async function* readLines(path: string, options: ReadOptions = {}): AsyncGenerator<[number, string | OversizedLine]> {
  const stream = createReadStream(path, { highWaterMark: options.chunkSize ?? 1 << 20 });
  const limit = options.maxLineBytes ?? MAX_LINE_BYTES;
  // the pieces of the line being read: concatenated once, when its end is found
  let pieces: Buffer[] = [];
  let pending = 0;
  let index = 0;
  const take = (last: Buffer): string | OversizedLine => {
    const bytes = pending + last.length;
    const parts = pieces;
    pieces = [];
    pending = 0;
    if (bytes > limit) return { index, bytes };
    let buf = parts.length ? Buffer.concat([...parts, last]) : last;
    if (buf.length > 0 && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
    let text = buf.toString('utf8');
    if (index === 0 && text.startsWith(BOM)) text = text.slice(1);
    return text;
  };
  try {
    for await (const raw of stream) {
      options.signal?.throwIfAborted();
      const chunk = raw as Buffer;
      let start = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
        yield [index, take(chunk.subarray(start, nl))];
        index++;
        start = nl + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        // past the limit the line is only counted, not kept
        if (pending + rest.length <= limit) pieces.push(rest);
        else pieces = [];
        pending += rest.length;
      }
    }
    if (pending > 0) yield [index, take(Buffer.alloc(0))];
  } finally {
    stream.destroy();
  }
}

/**
 * Streams a JSONL file: one `RowResult` per non-empty line, with `row` the zero-based line index.
 * A line that is not valid JSON gives an `invalid-json` error item naming file and line, a line over
 * `maxLineBytes` (64 MiB) a `row-too-large` one; reading goes on.
 *
 * @example
 * ```ts
 * for await (const r of readJsonl('predictions.jsonl')) if (r.ok) use(r.value); else console.error(r.error.message);
 * ```
 */
export async function* readJsonl<T = unknown>(path: string, options: ReadOptions = {}): AsyncGenerator<RowResult<T>> {
  for await (const [row, line] of readLines(path, options)) {
    if (typeof line !== 'string') {
      const limit = options.maxLineBytes ?? MAX_LINE_BYTES;
      yield { ok: false, row, error: new LlmIrError({ code: 'row-too-large', message: `line ${row + 1} is ${line.bytes} bytes, over the limit of ${limit} bytes per row: skipped`, file: path, row }) };
      continue;
    }
    if (line.trim() === '') continue;
    try {
      yield { ok: true, row, value: JSON.parse(line) as T };
    } catch (cause) {
      yield {
        ok: false,
        row,
        error: new LlmIrError({ code: 'invalid-json', message: `invalid JSON line: ${(cause as Error).message}`, file: path, row, cause }),
      };
    }
  }
}

/** Serialises values as JSONL (one compact JSON object a line). */
export function toJsonl(values: Iterable<unknown>): string {
  let out = '';
  for (const v of values) out += `${JSON.stringify(v)}\n`;
  return out;
}

/** Writes values as a JSONL file atomically, streaming. */
export async function writeJsonl(path: string, values: Iterable<unknown> | AsyncIterable<unknown>): Promise<void> {
  async function* lines() {
    let batch = '';
    for await (const v of values) {
      batch += `${JSON.stringify(v)}\n`;
      if (batch.length > 1 << 16) {
        yield batch;
        batch = '';
      }
    }
    if (batch !== '') yield batch;
  }
  await writeStreamAtomic(path, lines());
}

function stripBom(): Transform {
  let first = true;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (first) {
        first = false;
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      }
      done(null, chunk);
    },
  });
}

/**
 * Streams the elements of a top-level JSON array (such as a challenge file) in constant memory.
 * A leading UTF-8 BOM is ignored. If the JSON is malformed, every element before the fault is
 * yielded, then one `invalid-json` error item whose `row` is the index of the element that broke
 * (reading stops there: the rest of an array cannot be trusted).
 */
export async function* readJsonArray<T = unknown>(path: string, options: ReadOptions = {}): AsyncGenerator<RowResult<T>> {
  const { source, elements, failed } = arrayPipeline(path, options.chunkSize);
  let next = 0;
  try {
    for await (const item of elements as AsyncIterable<{ key: number; value: T }>) {
      options.signal?.throwIfAborted();
      next = item.key + 1;
      yield { ok: true, row: item.key, value: item.value };
    }
  } catch (cause) {
    if ((cause as Error).name === 'AbortError') throw cause;
  } finally {
    source.destroy();
  }
  const failure = failed();
  if (!failure) return;
  const code = (failure as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    throw new LlmIrError({ code: 'io', message: `cannot read file: ${failure.message}`, file: path, cause: failure });
  }
  // elements complete before the fault but still in the stages' buffers when it struck are lost with
  // them: a second pass that never applies backpressure hands them over
  for (const item of await elementsBeforeFault<T>(path, next)) {
    next = item.key + 1;
    yield { ok: true, row: item.key, value: item.value };
  }
  yield {
    ok: false,
    row: next,
    error: new LlmIrError({
      code: 'invalid-json',
      message: `invalid JSON (file is not a well-formed JSON array; element ${next} is broken, the ${next} before it were read): ${failure.message}`,
      file: path,
      row: next,
      cause: failure,
    }),
  };
}

/** source -> BOM strip -> JSON parser -> array elements; any stage's error ends the elements and is kept. */
function arrayPipeline(path: string, chunkSize = 1 << 20): { source: ReturnType<typeof createReadStream>; elements: Transform; failed(): Error | undefined } {
  const source = createReadStream(path, { highWaterMark: chunkSize });
  const stages = [stripBom(), jsonParser.asStream(), streamArray.asStream()];
  const elements = stages[2]! as Transform;
  let failure: Error | undefined;
  // .pipe() does not forward errors: keep the first, and end the elements stream cleanly (destroying
  // it would throw away the elements it holds)
  for (const s of stages.slice(0, 2)) s.on('error', (e: Error) => {
    failure ??= e;
    elements.end();
  });
  source.on('error', (e: Error) => {
    failure ??= e;
    elements.end();
  });
  elements.on('error', (e: Error) => void (failure ??= e));
  source.pipe(stages[0]!).pipe(stages[1]!).pipe(elements);
  return { source, elements, failed: () => failure };
}

/**
 * The elements from index `from` on that parse, up to the first that does not: a scan of the file's
 * top-level array by brackets and strings (JSON's structural characters are ASCII, so bytes do),
 * each element then given to `JSON.parse`. Used after the streaming parser failed, whose buffers may
 * have held complete elements when it did.
 */
async function elementsBeforeFault<T>(path: string, from: number): Promise<Array<{ key: number; value: T }>> {
  const found: Array<{ key: number; value: T }> = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let index = 0;
  let pieces: Buffer[] = [];
  let bom = true;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const raw of stream) {
      let chunk = raw as Buffer;
      if (bom) {
        bom = false;
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      }
      let start = -1; // where the current element's bytes begin in this chunk
      if (depth >= 2 || (depth === 1 && pieces.length)) start = 0;
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]!;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) inString = false;
          continue;
        }
        if (c === 0x22) {
          inString = true;
          if (depth === 1 && start < 0) start = i;
        } else if (c === 0x5b || c === 0x7b) {
          if (depth === 1 && start < 0) start = i;
          depth++;
        } else if ((c === 0x5d || c === 0x7d) && depth > 1) {
          depth--;
        } else if (depth === 1 && (c === 0x2c || c === 0x5d)) {
          // a comma at the array's level ends an element, so does the array's end
          if (start >= 0 || pieces.length) {
            const text = Buffer.concat([...pieces, chunk.subarray(Math.max(start, 0), i)]).toString('utf8');
            pieces = [];
            start = -1;
            if (index >= from) {
              try {
                found.push({ key: index, value: JSON.parse(text) as T });
              } catch {
                return found;
              }
            }
            index++;
          }
          if (c === 0x5d) return found;
        } else if (depth === 1 && start < 0 && c > 0x20) start = i;
      }
      if (start >= 0 && index >= from) pieces.push(chunk.subarray(start));
    }
  } finally {
    stream.destroy();
  }
  return found;
}

/** One row of a submission file. */
export interface SubmissionRow {
  /** Row id. */
  id: string;
  /** Predicted label. */
  predict: string;
}

/** Renders rows in the challenge's submission format: CSV with header `id,predict`. */
export function formatSubmissionCsv(rows: Iterable<SubmissionRow>): string {
  return stringifyCsv([...rows].map((r) => [r.id, r.predict]), { header: true, columns: ['id', 'predict'] });
}

/** Writes a submission CSV atomically. */
export async function writeSubmissionCsv(path: string, rows: Iterable<SubmissionRow>): Promise<void> {
  await writeStreamAtomic(path, [formatSubmissionCsv(rows)]);
}

/**
 * Streams a submission CSV (`id,predict` header; quoted fields and a BOM allowed). A row with a
 * missing id gives an error item; reading goes on.
 *
 * @throws {LlmIrError} `invalid-format` when the header lacks `id` or `predict`.
 */
export async function* readSubmissionCsv(path: string): AsyncGenerator<RowResult<SubmissionRow>> {
  const parser = createReadStream(path).pipe(
    parseCsv({ bom: true, columns: true, skip_empty_lines: true, relax_column_count: true, trim: false }),
  );
  let row = 0;
  try {
    for await (const rec of parser as AsyncIterable<Record<string, string>>) {
      row++;
      if (row === 1 && (!('id' in rec) || !('predict' in rec))) {
        throw new LlmIrError({ code: 'invalid-format', message: 'submission header must be "id,predict"', file: path, row: 0 });
      }
      const id = rec['id'];
      const predict = rec['predict'];
      if (id === undefined || id === '' || predict === undefined) {
        yield { ok: false, row, error: new LlmIrError({ code: 'invalid-row', message: 'row needs both id and predict', file: path, row }) };
      } else {
        yield { ok: true, row, value: { id, predict } };
      }
    }
  } catch (cause) {
    if (LlmIrError.isInstance(cause)) throw cause;
    throw new LlmIrError({ code: 'invalid-format', message: `cannot parse CSV: ${(cause as Error).message}`, file: path, row, cause });
  }
}

/** Streams a predictions JSONL file (`{id, task, label, probs?}` a line), validating each line. */
export async function* readPredictionsJsonl(path: string): AsyncGenerator<RowResult<Prediction>> {
  for await (const r of readJsonl<Record<string, unknown>>(path)) {
    if (!r.ok) {
      yield r;
      continue;
    }
    const v = r.value;
    const problem =
      typeof v !== 'object' || v === null
        ? 'line is not an object'
        : typeof v['id'] !== 'string' || v['id'] === ''
          ? 'missing "id"'
          : typeof v['label'] !== 'string'
            ? 'missing "label"'
            : v['task'] !== undefined && v['task'] !== 'scene' && v['task'] !== 'intent'
              ? '"task" must be "scene" or "intent"'
              : v['probs'] !== undefined && (typeof v['probs'] !== 'object' || v['probs'] === null)
                ? '"probs" must be an object'
                : undefined;
    if (problem !== undefined) {
      yield { ok: false, row: r.row, error: new LlmIrError({ code: 'invalid-row', message: problem, file: path, row: r.row }) };
    } else {
      yield { ok: true, row: r.row, value: v as unknown as Prediction };
    }
  }
}

/** Writes predictions as JSONL atomically (`{id, task, label, probs?}` a line). */
export async function writePredictionsJsonl(path: string, predictions: Iterable<Prediction> | AsyncIterable<Prediction>): Promise<void> {
  await writeJsonl(path, predictions);
}

/** Collects an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

