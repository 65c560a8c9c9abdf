import { extname } from 'node:path';
import { z } from 'zod';
import { safeParseChallengeRow, writeChallengeRow } from './challenge.ts';
import { LlmIrError } from './errors.ts';
import { writeStreamAtomic } from './fs-atomic.ts';
import { readJsonArray, readJsonl, writeJsonl, type RowResult } from './io.ts';
import type { Sample } from './types.ts';

const ocrLineSchema = z.object({
  text: z.string(),
  confidence: z.number(),
  box: z.tuple([z.number(), z.number(), z.number(), z.number()]),
});

/** zod schema of a {@link Sample} (as stored in JSONL). */
export const sampleSchema = z.object({
  id: z.string().min(1),
  task: z.enum(['scene', 'intent']),
  turns: z.array(
    z.object({
      role: z.enum(['user', 'agent']),
      text: z.string(),
      images: z.array(z.object({ path: z.string(), sha256: z.string().optional() })),
    }),
  ),
  label: z.string().optional(),
  ocr: z.record(z.string(), z.array(ocrLineSchema)).optional(),
  parentId: z.string().optional(),
  prompt: z
    .object({ head: z.string(), beforeLabels: z.string(), labels: z.array(z.string()), tail: z.string() })
    .optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Streams the samples of a data file, one result per row: a challenge JSON array (`.json`), or
 * JSONL (`.jsonl`) whose lines are challenge rows (with `instruction`) or {@link Sample}s (with
 * `turns`). Bad rows come out as error items naming file, row, id and reason; reading goes on.
 */
export async function* readSamples(path: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<RowResult<Sample>> {
  const source = extname(path).toLowerCase() === '.jsonl' ? readJsonl(path, options) : readJsonArray(path, options);
  for await (const item of source) {
    if (!item.ok) {
      yield item;
      continue;
    }
    const v = item.value as Record<string, unknown> | null;
    if (v !== null && typeof v === 'object' && 'turns' in v && !('instruction' in v)) {
      const parsed = sampleSchema.safeParse(v);
      if (parsed.success) yield { ok: true, row: item.row, value: parsed.data as Sample };
      else {
        const issue = parsed.error.issues[0]!;
        yield {
          ok: false,
          row: item.row,
          error: new LlmIrError({
            code: 'invalid-row',
            message: `not a valid sample: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
            file: path,
            row: item.row,
            ...(typeof v['id'] === 'string' ? { id: v['id'] } : {}),
            field: issue.path.map(String).join('.'),
          }),
        };
      }
      continue;
    }
    const r = safeParseChallengeRow(v, { file: path, row: item.row });
    yield r.success ? { ok: true, row: item.row, value: r.value } : { ok: false, row: item.row, error: r.error };
  }
}

/** Everything read from a data file: the good samples and an error per bad row. */
export interface LoadedSamples {
  /** Rows that parsed, in file order (a duplicate id keeps its first row). */
  samples: Sample[];
  /** One error per bad row (including duplicate ids). */
  errors: LlmIrError[];
}

/**
 * Reads a whole data file (see {@link readSamples}) into memory, collecting bad rows instead of
 * stopping at them. Duplicate ids are errors; the first row with an id is kept.
 *
 * @throws {LlmIrError} `io` when the file cannot be read at all.
 */
export async function loadSamples(path: string, options: { signal?: AbortSignal } = {}): Promise<LoadedSamples> {
  const samples: Sample[] = [];
  const errors: LlmIrError[] = [];
  const seen = new Map<string, number>();
  for await (const r of readSamples(path, options)) {
    if (!r.ok) {
      errors.push(r.error);
      continue;
    }
    const first = seen.get(r.value.id);
    if (first !== undefined) {
      errors.push(
        new LlmIrError({ code: 'duplicate-id', message: `id already used by row ${first}`, file: path, row: r.row, id: r.value.id, field: 'id' }),
      );
      continue;
    }
    seen.set(r.value.id, r.row);
    samples.push(r.value);
  }
  return { samples, errors };
}

/**
 * Writes samples as a challenge JSON array, atomically and streaming. The default layout (one-space
 * indent) is the official files' own, so writing parsed official rows gives back the same bytes.
 */
export async function writeChallengeFile(
  path: string,
  samples: Iterable<Sample> | AsyncIterable<Sample>,
  options: { indent?: number } = {},
): Promise<void> {
  const pad = ' '.repeat(options.indent ?? 1);
  async function* chunks() {
    let first = true;
    yield '[';
    for await (const s of samples) {
      const body = JSON.stringify(writeChallengeRow(s), null, pad).replace(/\n/g, `\n${pad}`);
      yield `${first ? `\n${pad}` : `,\n${pad}`}${body}`;
      first = false;
    }
    yield first ? ']' : '\n]';
  }
  await writeStreamAtomic(path, chunks());
}

/** Writes samples as JSONL of {@link Sample} objects, atomically. */
export async function writeSamplesJsonl(path: string, samples: Iterable<Sample> | AsyncIterable<Sample>): Promise<void> {
  await writeJsonl(path, samples);
}
