import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { type LlmIrError, type ProgressCallback, type Sample, type StageContext, type Task } from '@llm-ir/core';
import { checkImage, inShard, type Shard, sha256, type ImageLimits } from '@llm-ir/core/io';
import { startProgress, type ArtifactCache } from '@llm-ir/core/run';
import { createOcrPool, toOcrError, type OcrPool, type OcrPoolOptions } from './pool.ts';
import type { OcrResult } from './types.ts';

/** One image's outcome. */
export type ImageOcr =
  | { ok: true; image: string; sha256: string; result: OcrResult; cached: boolean }
  | { ok: false; image: string; error: LlmIrError };

/** Options of {@link ocrImages}. */
export interface OcrImagesOptions {
  /** The engines to use. */
  pool: OcrPool;
  /** Folder image names resolve in (names are checked not to leave it). Without it, names are paths. */
  imagesDir?: string;
  /** Artifact cache: a second run over the same images does no OCR. */
  cache?: ArtifactCache;
  /** Limits checked before OCR (bytes, pixels, format). */
  imageLimits?: ImageLimits;
  /** Images in flight at once (bounded queue; more images wait). @default 2 x pool size */
  maxInFlight?: number;
  /** Only this shard of the images, by their position in the input (`inShard(index, shard)`). */
  shard?: Shard;
  /** Progress events (`stage: 'ocr'`). */
  onProgress?: ProgressCallback;
  /** Cancels the run; results so far stay in the cache. */
  signal?: AbortSignal;
}

/**
 * OCRs images with a pool, in input order, with at most `maxInFlight` images read and queued at
 * once (backpressure). Each image is checked first (inside the folder, present, not empty, within
 * limits, decodable): a bad image gives an error result and the rest go on. Results come from the
 * cache when the same bytes were OCRed before with the same engine and options.
 *
 * @example
 * ```ts
 * for await (const r of ocrImages(['a.jpg', 'b.png'], { pool, imagesDir: 'images', cache })) {
 *   if (r.ok) console.log(r.image, r.result.text); else console.error(r.error.message);
 * }
 * ```
 */
export async function* ocrImages(images: Iterable<string> | AsyncIterable<string>, options: OcrImagesOptions): AsyncGenerator<ImageOcr> {
  const { pool } = options;
  const maxInFlight = Math.max(1, options.maxInFlight ?? 2 * pool.size);
  const list: string[] = [];
  for await (const name of images) list.push(name);
  const mine = options.shard ? list.filter((_, i) => inShard(i, options.shard)) : list;
  const progress = startProgress('ocr', options.onProgress, { total: mine.length, unit: 'image' });
  const run = async (name: string): Promise<ImageOcr> => {
    try {
      options.signal?.throwIfAborted();
      // without a folder, a name is a path: check it inside its own folder
      const [dir, file] = options.imagesDir === undefined ? [dirname(resolve(name)), basename(name)] : [options.imagesDir, name];
      const path = (await checkImage(dir, file, { decode: true, ...options.imageLimits })).path;
      const bytes = await readFile(path);
      const hash = sha256(bytes);
      // the pool's engine id holds every setting that changes the output and the installed versions
      const parts = { stage: 'ocr', version: pool.engineId, inputs: [hash] };
      // stage times describe this computation, not the image: they are returned, never cached
      let stages: OcrResult['stages'];
      const compute = async (): Promise<OcrResult> => {
        const { stages: s, ...result } = await pool.recognize(bytes, options.signal ? { signal: options.signal } : {});
        stages = s;
        return { ...result, ms: Math.round(result.ms) };
      };
      const withStages = (r: OcrResult): OcrResult => (stages ? { ...r, stages } : r);
      if (!options.cache) return { ok: true, image: name, sha256: hash, result: withStages(await compute()), cached: false };
      // through the cache's lock: concurrent runs on one cache OCR an image once; a damaged entry is recomputed
      let computed = false;
      const stored = await options.cache.getOrComputeJson<OcrResult>(parts, async () => {
        computed = true;
        return compute();
      });
      return { ok: true, image: name, sha256: hash, result: computed ? withStages(stored) : { ...stored, ms: 0 }, cached: !computed };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      return { ok: false, image: name, error: toOcrError(error, name) };
    }
  };
  const window: Array<Promise<ImageOcr>> = [];
  let next = 0;
  try {
    while (next < mine.length || window.length > 0) {
      while (next < mine.length && window.length < maxInFlight) {
        const p = run(mine[next++]!);
        // only a cancel rejects (and then every image in flight does): observed here, thrown when its turn comes
        p.catch(() => {});
        window.push(p);
      }
      const r = await window.shift()!;
      if (r.ok) progress.advance();
      else progress.fail();
      yield r;
    }
  } finally {
    progress.end();
  }
}

/** Options of {@link ocrDataset}. */
export interface OcrDatasetOptions extends Omit<OcrImagesOptions, 'imagesDir'> {
  /** Folder of the samples' images. */
  imagesDir: string;
}

/**
 * Attaches OCR to every image of every sample: `image.sha256` is set and `sample.ocr[sha256]` holds
 * the lines. Images shared by several rows are OCRed once. With a shard, only that shard's rows
 * (every n-th row in input order) are processed and returned. Failed images are listed in `errors`
 * with the rows that use them; those rows keep no OCR for that image.
 */
export async function ocrDataset(samples: readonly Sample[], options: OcrDatasetOptions): Promise<{ samples: Sample[]; errors: Array<{ image: string; rows: string[]; error: LlmIrError }>; cached: number }> {
  const { shard, ...imageOptions } = options;
  const rows = samples.filter((_, i) => inShard(i, shard));
  const names = [...new Set(rows.flatMap((s) => s.turns.flatMap((t) => t.images.map((i) => i.path))))].sort();
  const results = new Map<string, ImageOcr>();
  let cached = 0;
  for await (const r of ocrImages(names, imageOptions)) {
    results.set(r.image, r);
    if (r.ok && r.cached) cached++;
  }
  const usedBy = new Map<string, string[]>();
  const out: Sample[] = [];
  for (const s of rows) {
    const ocr: NonNullable<Sample['ocr']> = { ...s.ocr };
    const turns = s.turns.map((t) => ({
      ...t,
      images: t.images.map((img) => {
        const r = results.get(img.path);
        if (!r) return img;
        if (!r.ok) {
          usedBy.set(img.path, [...(usedBy.get(img.path) ?? []), s.id]);
          return img;
        }
        ocr[r.sha256] = r.result.lines;
        return { ...img, sha256: r.sha256 };
      }),
    }));
    out.push({ ...s, turns, ...(Object.keys(ocr).length ? { ocr } : {}) });
  }
  const errors = [...results.values()].filter((r): r is Extract<ImageOcr, { ok: false }> => !r.ok).map((r) => ({ image: r.image, rows: usedBy.get(r.image) ?? [], error: r.error }));
  return { samples: out, errors, cached };
}

/**
 * The OCR stage of a pipeline: OCR (through `ctx.cache`) of the rows of some tasks in one or more
 * splits, each with its images folder, with one engine pool for all of them; rows of other tasks come
 * back as they were. Each image that cannot be read goes to `ctx.onError` (its rows keep no OCR for
 * it) and the rest go on.
 *
 * @example
 * ```ts
 * const [train, test] = await ocrSplits(ctx, [{ rows: trainRows, imagesDir: 'train-images' }, { rows: testRows, imagesDir: 'test-images' }], { tasks: ['scene'] });
 * ```
 */
export async function ocrSplits(ctx: StageContext, splits: ReadonlyArray<{ rows: readonly Sample[]; imagesDir: string }>, options: { tasks?: readonly Task[]; pool?: OcrPoolOptions } = {}): Promise<Sample[][]> {
  const tasks = new Set<Task>(options.tasks ?? ['scene', 'intent']);
  const pool = await createOcrPool(options.pool ?? { engine: 'paddle' });
  try {
    const out: Sample[][] = [];
    for (const { rows, imagesDir } of splits) {
      const r = await ocrDataset(rows.filter((s) => tasks.has(s.task)), { pool, imagesDir, cache: ctx.cache, ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) });
      for (const e of r.errors) await ctx.onError?.(e.error);
      const byId = new Map(r.samples.map((s) => [s.id, s]));
      out.push(rows.map((s) => byId.get(s.id) ?? s));
    }
    return out;
  } finally {
    await pool.close();
  }
}
