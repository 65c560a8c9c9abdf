import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import pMap from 'p-map';
import { ConfigValidationError, LlmIrError, labelSetOf, type ProgressCallback, type Sample, type StageContext } from '@llm-ir/core';
import { writeChallengeFile, writeSamplesJsonl, parseChallengeRow } from '@llm-ir/core/challenge';
import { checkImage, inShard, readJsonl, sha256, writeFileAtomic, type Shard } from '@llm-ir/core/io';
import { createRng, startProgress, type ArtifactCache } from '@llm-ir/core/run';
import { augmentImage, DEFAULT_IMAGE_POLICY, type AppliedOp, type ImagePolicy } from './image-ops.ts';
import { augmentSampleText, DEFAULT_TEXT_POLICY, type TextOp } from './text-ops.ts';

/** How many rows each label should end with. */
export type LabelTargets =
  | { kind: 'factor'; factor: number }
  | { kind: 'balance'; to: 'median' | 'max' | number }
  | { kind: 'scores'; scores: Record<string, number>; maxFactor?: number };

/** Options of {@link augmentDataset}. */
export interface AugmentDatasetOptions {
  /** Folder of the source images. */
  imagesDir: string;
  /** Output folder: `train.json` (or a shard file) and `images/`. */
  outDir: string;
  /**
   * Rows per label: `factor` (every row gets factor - 1 variants), `balance` (raise every label of a
   * task to the median / max count, or a number), or `scores` (labels with a lower score from a
   * previous evaluation, in [0, 1], get more rows: up to `maxFactor` x for score 0). @default factor 2
   */
  targets?: LabelTargets;
  /** Image policy, or false for no image changes (images are still copied unless `referenceImages`). @default RandAugment n=2 m=5 */
  image?: ImagePolicy | false;
  /**
   * With `image: false`: variants keep their source rows' image names and OCR (the images are the
   * same bytes), nothing is copied, and `train.json` is read with the source images folder. For
   * text-only augmentation inside a pipeline. @default false
   */
  referenceImages?: boolean;
  /** Text operations, or false for none. @default {@link DEFAULT_TEXT_POLICY} */
  text?: readonly TextOp[] | false;
  /** Probability of reordering earlier exchanges of an intent dialogue. @default 0.3 */
  reorderTurns?: number;
  /** Seed: the same seed, data and options give byte-identical files. @default 0 */
  seed?: number | string;
  /** Cache of augmented images (keyed by source bytes, policy and the variant's seed). */
  cache?: ArtifactCache;
  /** Variants made at once. @default 4 */
  concurrency?: number;
  /** Only this shard of the new rows; writes `train.shard-<i>-of-<n>.json` with them alone. */
  shard?: Shard;
  /** Progress events (`stage: 'augment'`). */
  onProgress?: ProgressCallback;
  /** Cancels the run (files written so far stay; train.json is written only at the end). */
  signal?: AbortSignal;
}

/** The samples JSONL written beside an augmented challenge file (`train.json` -> `train.samples.jsonl`): the rows with their lineage. */
export function lineageFile(challengeFile: string): string {
  return challengeFile.replace(/\.json$/, '.samples.jsonl');
}

/** What {@link augmentDataset} did. */
export interface AugmentResult {
  /** Originals (unless sharded) and new rows, in the order written. */
  samples: Sample[];
  /** New rows made. */
  created: number;
  /** Planned rows that were skipped, with the reason. */
  skipped: Array<{ id: string; parentId: string; code: string; reason: string }>;
  /** Rows per task/label before and after. */
  perLabel: Record<string, { before: number; after: number }>;
  /** The file written. */
  file: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
}

/** Number of rows each task/label should have after augmentation. */
export function planTargets(samples: readonly Sample[], targets: LabelTargets): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of samples) if (s.label !== undefined) counts.set(`${s.task}/${s.label}`, (counts.get(`${s.task}/${s.label}`) ?? 0) + 1);
  const out = new Map<string, number>();
  for (const [key, n] of counts) {
    const task = key.split('/')[0];
    const sameTask = [...counts.entries()].filter(([k]) => k.split('/')[0] === task).map(([, v]) => v);
    let target = n;
    if (targets.kind === 'factor') {
      if (!(targets.factor >= 1)) throw new ConfigValidationError({ issues: [{ path: 'targets.factor', message: 'must be >= 1' }] });
      target = Math.round(n * targets.factor);
    } else if (targets.kind === 'balance') {
      const to = targets.to === 'median' ? median(sameTask) : targets.to === 'max' ? Math.max(...sameTask) : targets.to;
      target = Math.max(n, to);
    } else {
      const label = key.slice(key.indexOf('/') + 1);
      const score = Math.min(1, Math.max(0, targets.scores[label] ?? 1));
      target = Math.round(n * (1 + ((targets.maxFactor ?? 3) - 1) * (1 - score)));
    }
    out.set(key, target);
  }
  return out;
}

/**
 * Expands a dataset: N rows in, M out. Per-label targets decide how many variants each label gets
 * (a factor, balancing to the median, or more rows for labels that scored low); variants of a label
 * cycle over its rows. Every new row has `parentId` set to its source row, `meta.augmentation`
 * records the operations and their parameters, and its images are written as new files.
 * Each variant draws from its own generator (seed + new id), so results do not depend on order or
 * concurrency. A bad source image or row skips that variant with a recorded reason; a row whose label
 * is not in its task's label set, or (when images are copied) whose image is refused, is dropped with
 * a recorded reason. An unsharded run replaces the `images/` folder of `outDir`. Writes the
 * challenge JSON atomically at the end, and beside it the same rows as samples JSONL with their
 * lineage (`train.samples.jsonl`, see {@link lineageFile}), and copies the original images (unless
 * sharded or `referenceImages`).
 *
 * @example
 * ```ts
 * const r = await augmentDataset(samples, { imagesDir: 'images', outDir: 'aug', targets: { kind: 'balance', to: 'median' }, seed: 7 });
 * console.log(r.created, r.perLabel);
 * ```
 */
export async function augmentDataset(input: readonly Sample[], options: AugmentDatasetOptions): Promise<AugmentResult> {
  const skipped: AugmentResult['skipped'] = [];
  // a label outside its task's label set is a bad row: not augmented, not written
  const samples = input.filter((s) => {
    if (s.label === undefined || labelSetOf(s.task).has(s.label)) return true;
    skipped.push({ id: s.id, parentId: s.id, code: 'unknown-label', reason: `row dropped: label ${JSON.stringify(s.label)} is not one of the ${s.task} labels` });
    return false;
  });
  const targets = planTargets(samples, options.targets ?? { kind: 'factor', factor: 2 });
  const seed = options.seed ?? 0;
  const root = createRng(seed);
  const plan: Array<{ parent: Sample; id: string }> = [];
  const perLabel: AugmentResult['perLabel'] = {};
  const byLabel = new Map<string, Sample[]>();
  for (const s of samples) if (s.label !== undefined) byLabel.set(`${s.task}/${s.label}`, [...(byLabel.get(`${s.task}/${s.label}`) ?? []), s]);
  for (const key of [...byLabel.keys()].sort()) {
    const rows = root.fork(`order:${key}`).shuffle([...byLabel.get(key)!].sort((a, b) => (a.id < b.id ? -1 : 1)));
    const need = Math.max(0, targets.get(key)! - rows.length);
    perLabel[key] = { before: rows.length, after: rows.length };
    for (let j = 0; j < need; j++) {
      const parent = rows[j % rows.length]!;
      plan.push({ parent, id: `${parent.id}#aug${Math.floor(j / rows.length)}` });
    }
  }
  const mine = plan.filter((_, i) => inShard(i, options.shard));
  const reference = options.referenceImages === true;
  if (reference && options.image !== false) throw new ConfigValidationError({ what: 'augmentDataset options', issues: [{ path: 'referenceImages', message: 'needs image: false (changed images are new files)' }] });
  const imagesOut = join(options.outDir, 'images');
  // a whole (unsharded) run owns its images folder: what an earlier run left there goes
  if (!reference && !options.shard) await rm(imagesOut, { recursive: true, force: true });
  await mkdir(reference ? options.outDir : imagesOut, { recursive: true });
  const progress = startProgress('augment', options.onProgress, { total: mine.length, unit: 'row' });
  const textOps = options.text === false ? [] : (options.text ?? DEFAULT_TEXT_POLICY);
  const imagePolicy = options.image === false ? undefined : (options.image ?? DEFAULT_IMAGE_POLICY);
  const made: Array<Sample | undefined> = new Array(mine.length);

  const makeOne = async (idx: number) => {
    const { parent, id } = mine[idx]!;
    const rng = createRng(`${seed}:${id}`);
    try {
      options.signal?.throwIfAborted();
      const texted = textOps.length ? await augmentSampleText(parent, textOps, rng.fork('text'), { reorderTurns: options.reorderTurns ?? 0.3 }) : parent;
      if (reference) {
        // the same images: names and OCR stay valid; checked like any other image read
        for (const img of texted.turns.flatMap((t) => t.images)) await checkImage(options.imagesDir, img.path, { decode: false });
        made[idx] = { ...texted, id, parentId: parent.id, meta: { ...parent.meta, augmentation: { seed: String(seed), image: [], text: textOps.map((o) => o.op) } } };
        progress.advance();
        return;
      }
      const applied: AppliedOp[][] = [];
      let n = 0;
      const turns = [];
      for (const t of texted.turns) {
        const images = [];
        for (const img of t.images) {
          const k = n++;
          const src = (await checkImage(options.imagesDir, img.path)).path;
          const bytes = await readFile(src);
          const stem = basename(img.path, extname(img.path));
          const name = `${stem}__${id.slice(id.lastIndexOf('#') + 1)}${imagePolicy ? '.jpg' : extname(img.path)}`;
          let out: Buffer = bytes;
          let ops: AppliedOp[] = [];
          if (imagePolicy) {
            const parts = { stage: 'augment-image', version: 1, options: { policy: imagePolicy, seed: `${seed}:${id}:${k}` }, inputs: [sha256(bytes)] };
            const run = async () => {
              const r = await augmentImage(bytes, imagePolicy, rng.fork(`image-${k}`));
              return { data: r.data.toString('base64'), applied: r.applied };
            };
            const r = options.cache ? await options.cache.getOrComputeJson(parts, run) : await run();
            out = Buffer.from(r.data, 'base64');
            ops = r.applied;
          }
          await writeFileAtomic(join(imagesOut, name), out);
          applied.push(ops);
          images.push({ path: name });
        }
        turns.push({ ...t, images });
      }
      const { prompt, ocr: _ocr, ...rest } = texted;
      made[idx] = {
        ...rest,
        id,
        turns,
        ...(prompt ? { prompt } : {}),
        parentId: parent.id,
        meta: { ...parent.meta, augmentation: { seed: String(seed), image: applied, text: textOps.map((o) => o.op) } },
      };
      progress.advance();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const e = LlmIrError.isInstance(error) ? error : new LlmIrError({ code: 'augment-failed', message: (error as Error).message, cause: error });
      skipped.push({ id, parentId: parent.id, code: e.code, reason: e.reason });
      progress.fail();
    }
  };

  await pMap(mine.keys(), makeOne, { concurrency: Math.max(1, options.concurrency ?? 4) });
  progress.end();
  const created = made.filter((s): s is Sample => s !== undefined);
  for (const s of created) perLabel[`${s.task}/${s.label}`]!.after++;
  let all: Sample[];
  let file: string;
  if (options.shard) {
    all = created;
    file = join(options.outDir, `train.shard-${options.shard.index}-of-${options.shard.count}.json`);
  } else {
    // the source rows' images are copied; a row whose image is refused is dropped (it would point at
    // an image that is not in the output folder)
    const refused = new Map<string, LlmIrError>();
    const copied = new Set<string>();
    const kept: Sample[] = [];
    for (const s of samples) {
      let bad: LlmIrError | undefined;
      for (const img of reference ? [] : s.turns.flatMap((t) => t.images)) {
        if (!copied.has(img.path) && !refused.has(img.path)) {
          try {
            await copyFile((await checkImage(options.imagesDir, img.path, { decode: false })).path, join(imagesOut, img.path));
            copied.add(img.path);
          } catch (error) {
            if (!LlmIrError.isInstance(error)) throw error;
            refused.set(img.path, error);
          }
        }
        bad ??= refused.get(img.path);
      }
      if (!bad) kept.push(s);
      else {
        skipped.push({ id: s.id, parentId: s.id, code: bad.code, reason: `row dropped: its image is not copied: ${bad.reason}` });
        if (s.label !== undefined) perLabel[`${s.task}/${s.label}`]!.after--;
      }
    }
    all = [...kept, ...created];
    file = join(options.outDir, 'train.json');
  }
  await writeChallengeFile(file, all);
  // the challenge format has no field for lineage: the samples JSONL beside it keeps parentId and the
  // operations, so a later split (`llm-ir data split`, CV) keeps every variant with its source
  await writeSamplesJsonl(lineageFile(file), all);
  skipped.sort((a, b) => (a.id < b.id ? -1 : 1));
  return { samples: all, created: created.length, skipped, perLabel, file };
}

/**
 * The augmentation stage of a pipeline: text variants of the training rows (every labelled row gets
 * `factor - 1`, lineage in `parentId`), the source images referenced as they are. The rows are written
 * to `<ctx.outDir>/augment/train.json` (the lineage on disk); each skipped variant goes to
 * `ctx.onError`. Returns the source rows followed by the variants.
 */
export async function augmentStage(ctx: StageContext, rows: readonly Sample[], options: { factor: number; imagesDir: string; text?: readonly TextOp[]; reorderTurns?: number }): Promise<Sample[]> {
  if (options.factor <= 1) return [...rows];
  const r = await augmentDataset(rows, {
    imagesDir: options.imagesDir,
    outDir: join(ctx.outDir, 'augment'),
    targets: { kind: 'factor', factor: options.factor },
    image: false,
    referenceImages: true,
    ...(options.text ? { text: options.text } : {}),
    ...(options.reorderTurns !== undefined ? { reorderTurns: options.reorderTurns } : {}),
    seed: ctx.seed,
    ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  for (const k of r.skipped) await ctx.onError?.(new LlmIrError({ code: k.code, message: `augmentation variant ${k.id} not made: ${k.reason}`, id: k.parentId }));
  ctx.log?.(`augment: +${r.created} rows${r.skipped.length ? ` (${r.skipped.length} skipped, see errors)` : ''} -> ${r.file}`);
  return r.samples;
}

/**
 * Reads LLM paraphrases (JSONL of `{id, instruction, output}`, several lines per id, like
 * `paraphrases.gpt-3.5.jsonl`) and makes them rows of the dataset: each paraphrase becomes a row
 * `<id>#para<k>` with `parentId` = the source row, the source row's images (the `<image>` count
 * must match) and label. Paraphrases whose id is unknown, whose placeholders do not match or whose
 * dialogue is the source's own (same roles and texts) are skipped with a reason.
 */
export async function importParaphrases(samples: readonly Sample[], path: string): Promise<{ samples: Sample[]; skipped: Array<{ row: number; id: string; reason: string }> }> {
  const byId = new Map(samples.map((s) => [s.id, s]));
  const seen = new Map<string, number>();
  const out: Sample[] = [];
  const skipped: Array<{ row: number; id: string; reason: string }> = [];
  for await (const r of readJsonl<{ id?: string; instruction?: string; output?: string }>(path)) {
    if (!r.ok) {
      skipped.push({ row: r.row, id: '', reason: r.error.reason });
      continue;
    }
    const { id, instruction, output } = r.value;
    const parent = id ? byId.get(id) : undefined;
    if (!parent || typeof instruction !== 'string') {
      skipped.push({ row: r.row, id: id ?? '', reason: parent ? 'no instruction' : 'unknown id' });
      continue;
    }
    const k = seen.get(id!) ?? 0;
    seen.set(id!, k + 1);
    try {
      const images = parent.turns.flatMap((t) => t.images.map((i) => i.path));
      const s = parseChallengeRow({ id: `${id}#para${k}`, instruction, input: '', output: output ?? parent.label ?? '', image: images }, { file: path, row: r.row });
      if (s.label !== parent.label) throw new LlmIrError({ code: 'unknown-label', message: `paraphrase label ${JSON.stringify(s.label)} differs from the row's ${JSON.stringify(parent.label)}` });
      // a "paraphrase" that repeats its source (all 642 lines of paraphrases.gpt-3.5.jsonl do) would
      // only weigh that row two to four times over
      if (sameDialogue(s, parent)) {
        skipped.push({ row: r.row, id: id!, reason: 'identical to the source row' });
        continue;
      }
      out.push({ ...s, parentId: parent.id, meta: { ...s.meta, augmentation: { source: 'llm-paraphrase' } } });
    } catch (error) {
      if (!LlmIrError.isInstance(error)) throw error;
      skipped.push({ row: r.row, id: id!, reason: error.reason });
    }
  }
  return { samples: out, skipped };
}

/** Same turns (roles and texts, white space at the ends ignored) as another row. */
function sameDialogue(a: Pick<Sample, 'turns'>, b: Pick<Sample, 'turns'>): boolean {
  return a.turns.length === b.turns.length && a.turns.every((t, i) => t.role === b.turns[i]!.role && t.text.trim() === b.turns[i]!.text.trim());
}

/**
 * Reads LLM rationales (JSONL of `{id, label, reason}`, like `rationales.gpt-4o.jsonl`: a reason
 * written for a row given its gold label) and makes each an auxiliary training row `<id>#rationale`:
 * same task, label, prompt frame and `parentId` = the source row, one customer turn holding the
 * reason and no images (`meta.augmentation.source` = `llm-rationale`). The reason names the cues of
 * the label in the words of the task, so a text model can learn from it as from one more example;
 * it needs the gold label, so only training rows may have one, and a lineage-aware split keeps it on
 * its source row's side. Lines of rows not among `samples` (or without a gold label there: another
 * split's rows) are counted in `unmatched`; lines whose label is not the row's, whose reason is empty,
 * that repeat a row or are not JSON are skipped with a reason.
 *
 * @example
 * ```ts
 * const { samples: extra, skipped } = await importRationales(train, 'rationales.gpt-4o.jsonl');
 * await student.fit([...train, ...extra]);
 * ```
 */
export async function importRationales(samples: readonly Sample[], path: string): Promise<{ samples: Sample[]; skipped: Array<{ row: number; id: string; reason: string }>; unmatched: number }> {
  const byId = new Map(samples.filter((s) => s.label !== undefined).map((s) => [s.id, s]));
  const done = new Set<string>();
  const out: Sample[] = [];
  const skipped: Array<{ row: number; id: string; reason: string }> = [];
  let unmatched = 0;
  for await (const r of readJsonl<{ id?: unknown; label?: unknown; reason?: unknown }>(path)) {
    if (!r.ok) {
      skipped.push({ row: r.row, id: '', reason: r.error.reason });
      continue;
    }
    const id = typeof r.value.id === 'string' ? r.value.id : '';
    const parent = byId.get(id);
    const reason = typeof r.value.reason === 'string' ? r.value.reason.trim() : '';
    if (!parent) {
      unmatched++;
      continue;
    }
    const why = r.value.label !== parent.label ? `rationale label ${JSON.stringify(r.value.label)} differs from the row's ${JSON.stringify(parent.label)}` : !reason ? 'empty reason' : done.has(id) ? 'a second rationale for this row' : undefined;
    if (why) {
      skipped.push({ row: r.row, id, reason: why });
      continue;
    }
    done.add(id);
    out.push({
      id: `${id}#rationale`,
      task: parent.task,
      turns: [{ role: 'user', text: reason, images: [] }],
      label: parent.label!,
      parentId: parent.id,
      ...(parent.prompt ? { prompt: parent.prompt } : {}),
      meta: { augmentation: { source: 'llm-rationale' } },
    });
  }
  return { samples: out, skipped, unmatched };
}
