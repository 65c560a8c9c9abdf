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
}

/**
 * Streams the lines of a text file as strings (UTF-8, a leading BOM and `\r` line ends removed), in
 * constant memory whatever the file size. Yields `[lineIndex, text]`.
 */
export async function* readLines(path: string, options: ReadOptions = {}): AsyncGenerator<[number, string]> {
  const stream = createReadStream(path, { highWaterMark: options.chunkSize ?? 1 << 20 });
  let carry: Buffer | undefined;
  let index = 0;
  const decode = (buf: Buffer, start: number, end: number): string => {
    if (end > start && buf[end - 1] === 0x0d) end--;
    let text = buf.toString('utf8', start, end);
    if (index === 0 && text.startsWith(BOM)) text = text.slice(1);
    return text;
  };
  try {
    for await (const raw of stream) {
      options.signal?.throwIfAborted();
      let chunk = raw as Buffer;
      let start = 0;
      let nl = chunk.indexOf(NEWLINE);
      if (carry !== undefined && nl !== -1) {
        chunk = Buffer.concat([carry, chunk]);
        nl += carry.length;
        carry = undefined;
      }
      for (; nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
        yield [index, decode(chunk, start, nl)];
        index++;
        start = nl + 1;
      }
      if (start < chunk.length) carry = carry === undefined ? chunk.subarray(start) : Buffer.concat([carry, chunk.subarray(start)]);
    }
    if (carry !== undefined && carry.length > 0) yield [index, decode(carry, 0, carry.length)];
  } finally {
    stream.destroy();
  }
}

/**
 * Streams a JSONL file: one `RowResult` per non-empty line, with `row` the zero-based line index.
 * A line that is not valid JSON gives an `invalid-json` error item naming file and line; reading goes on.
 *
 * @example
 * ```ts
 * for await (const r of readJsonl('predictions.jsonl')) if (r.ok) use(r.value); else console.error(r.error.message);
 * ```
 */
export async function* readJsonl<T = unknown>(path: string, options: ReadOptions = {}): AsyncGenerator<RowResult<T>> {
  for await (const [row, line] of readLines(path, options)) {
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
 * A leading UTF-8 BOM is ignored. If the JSON is malformed, the elements before the fault are
 * yielded, then one `invalid-json` error item whose `row` is the index of the element that broke.
 */
export async function* readJsonArray<T = unknown>(path: string, options: ReadOptions = {}): AsyncGenerator<RowResult<T>> {
  const source = createReadStream(path, { highWaterMark: options.chunkSize ?? 1 << 20 });
  const stages = [stripBom(), jsonParser.asStream(), streamArray.asStream()];
  const pipeline = stages[2]!;
  // .pipe() does not forward errors: send any stage's error to the end we read from
  for (const s of [source, ...stages.slice(0, 2)]) s.on('error', (e: Error) => pipeline.destroy(e));
  source.pipe(stages[0]!).pipe(stages[1]!).pipe(pipeline);
  let next = 0;
  try {
    for await (const item of pipeline as AsyncIterable<{ key: number; value: T }>) {
      options.signal?.throwIfAborted();
      next = item.key + 1;
      yield { ok: true, row: item.key, value: item.value };
    }
  } catch (cause) {
    if ((cause as Error).name === 'AbortError') throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      throw new LlmIrError({ code: 'io', message: `cannot read file: ${(cause as Error).message}`, file: path, cause });
    }
    yield {
      ok: false,
      row: next,
      error: new LlmIrError({
        code: 'invalid-json',
        message: `invalid JSON (file is not a well-formed JSON array; stopped at element ${next}): ${(cause as Error).message}`,
        file: path,
        row: next,
        cause,
      }),
    };
  } finally {
    source.destroy();
  }
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

