import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import {
  ConfigValidationError,
  createRng,
  hashValue,
  sha256File,
  createRunRecord,
  loadSamples,
  openArtifactCache,
  startProgress,
  writeFileAtomic,
  writePredictionsJsonl,
  writeSubmissionCsv,
  type Prediction,
  type ProgressCallback,
  type LlmIrError,
  type RunRecord,
  type Sample,
  type Task,
} from '@llm-ir/core';
import { augmentSampleText, DEFAULT_TEXT_POLICY, ecommerceLexicon } from '@llm-ir/augmentation';
import { createStudent, loadStudent } from '@llm-ir/distill';
import { errorSlices, scoreChallenge, toRunSummary, writeReport } from '@llm-ir/eval';
import { createOcrPool, ocrDataset } from '@llm-ir/ocr';
import { knnClassifier } from '@llm-ir/rag-index';

/** Schema of an arm file (apps/ablation/arms/*.json): switches and student settings for the CPU backend. */
export const cpuArmSchema = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  /** The paper's GPU preset this arm mirrors, for the LLaMA-Factory / ms-swift backends. */
  gpuPreset: z.enum(['baseline', 'ocr-train', 'ocr-train-infer', 'lora-r16-a32-ocr']).optional(),
  /** OCR text at training and at inference; `tasks` limits it to some tasks' rows (default both). */
  ocr: z.object({ train: z.boolean(), infer: z.boolean(), tasks: z.array(z.enum(['scene', 'intent'])).min(1).optional() }),
  augment: z.object({ factor: z.number().min(1).max(10) }).optional(),
  rag: z.object({ k: z.number().int().min(1).max(50), weight: z.number().min(0).max(1) }).optional(),
  distill: z.object({ alpha: z.number().min(0).max(1), temperature: z.number().positive() }).optional(),
  student: z.object({ C: z.number().positive().optional(), maxIter: z.number().int().positive().optional() }).optional(),
});

/** An arm for the CPU pipeline. */
export type CpuArm = z.infer<typeof cpuArmSchema>;

/** Validates an arm object. */
export function parseCpuArm(value: unknown, source = 'arm'): CpuArm {
  const r = cpuArmSchema.safeParse(value);
  if (!r.success) throw new ConfigValidationError({ what: source, issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
  return r.data;
}

/** The on/off switches of an arm (for component effects). */
export function armFactors(arm: CpuArm): Record<string, boolean> {
  return { ocrTrain: arm.ocr.train, ocrInfer: arm.ocr.infer, augment: (arm.augment?.factor ?? 1) > 1, rag: arm.rag !== undefined, distill: arm.distill !== undefined };
}

/**
 * OCR (PaddleOCR, through the artifact cache) of the rows of some tasks in one or more splits, with
 * one engine pool for all of them; rows of other tasks come back as they were. Each image that
 * cannot be read is handed to `onError` (its rows get no OCR for it). The one OCR step of `llm-ir
 * run` (both backends) and `llm-ir train`.
 */
export async function ocrSplits(splits: ReadonlyArray<{ rows: Sample[]; imagesDir: string }>, options: { cacheDir: string; tasks?: readonly Task[]; onProgress?: ProgressCallback; onError?: (error: LlmIrError) => void | Promise<void> }): Promise<Sample[][]> {
  const tasks = new Set<Task>(options.tasks ?? ['scene', 'intent']);
  const cache = openArtifactCache({ dir: resolve(options.cacheDir) });
  const pool = await createOcrPool({ engine: 'paddle' });
  try {
    const out: Sample[][] = [];
    for (const { rows, imagesDir } of splits) {
      const r = await ocrDataset(rows.filter((s) => tasks.has(s.task)), { pool, imagesDir, cache, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
      for (const e of r.errors) await options.onError?.(e.error);
      const byId = new Map(r.samples.map((s) => [s.id, s]));
      out.push(rows.map((s) => byId.get(s.id) ?? s));
    }
    return out;
  } finally {
    await pool.close();
  }
}

/** Options of {@link runArm}. */
export interface RunArmOptions {
  arm: CpuArm;
  train: string;
  trainImages: string;
  test: string;
  testImages: string;
  out: string;
  seed?: number;
  cacheDir?: string;
  onProgress?: ProgressCallback;
  log?: (line: string) => void;
}

/**
 * Loads the training and test rows of a run, records bad rows in its `errors.jsonl`, and takes the
 * test labels aside: `test` never carries them (they are for scoring only), `gold` and `labelled`
 * hold them.
 */
export async function loadRunSplits(trainFile: string, testFile: string, run: Pick<RunRecord, 'logError'>): Promise<{ train: Sample[]; test: Sample[]; gold: Array<{ id: string; task: Sample['task']; label: string }>; labelled: Sample[] }> {
  const loadedTrain = await loadSamples(trainFile);
  const loadedTest = await loadSamples(testFile);
  for (const e of [...loadedTrain.errors, ...loadedTest.errors]) await run.logError({ code: e.code, message: e.message, ...(e.file ? { file: e.file } : {}), ...(e.row !== undefined ? { row: e.row } : {}) });
  const labelled = loadedTest.samples.filter((s) => s.label !== undefined);
  return {
    train: loadedTrain.samples,
    test: loadedTest.samples.map(({ label: _l, ...s }) => s),
    gold: labelled.map((s) => ({ id: s.id, task: s.task, label: s.label! })),
    labelled,
  };
}

/** Bump when the student's features or training change, so cached students are not reused. */
const STUDENT_CACHE_VERSION = 'student-1';

/** SHA-256 over the bytes of every image the rows name, from the first folder that has it (image features depend on bytes, not paths). */
async function hashImages(rows: readonly Sample[], imagesDirs: readonly string[]): Promise<string> {
  const names = [...new Set(rows.flatMap((s) => s.turns.flatMap((t) => t.images.map((i) => i.path))))].sort();
  const hashes: string[] = [];
  for (const n of names) {
    let h = 'missing';
    for (const dir of imagesDirs) {
      try {
        h = await sha256File(join(dir, n));
        break;
      } catch {
        // not in this folder
      }
    }
    hashes.push(`${n}:${h}`);
  }
  return hashValue(hashes);
}

function blend(a: Prediction[], b: Prediction[], w: number): Prediction[] {
  const byId = new Map(b.map((p) => [p.id, p]));
  return a.map((p) => {
    const q = byId.get(p.id)?.probs ?? {};
    const probs: Record<string, number> = {};
    for (const l of new Set([...Object.keys(p.probs ?? {}), ...Object.keys(q)])) probs[l] = (1 - w) * (p.probs?.[l] ?? 0) + w * (q[l] ?? 0);
    const label = Object.keys(probs).reduce((x, y) => (probs[y]! > probs[x]! ? y : x));
    return { ...p, label, probs };
  });
}

/**
 * Runs one arm end to end on the CPU backend: OCR (cached) of the splits the arm wants, text
 * augmentation of the training rows (lineage kept), the student, kNN retrieval blended in (`rag`),
 * self-distillation from a teacher ensemble's soft labels on the unlabelled test rows (`distill`),
 * then `submission.csv`, `predictions.jsonl`, `run.json` and, when the test rows carry labels,
 * `summary.json` and `report.html`. Test labels are used for scoring only.
 */
export async function runArm(options: RunArmOptions): Promise<{ predictions: Prediction[]; summary?: ReturnType<typeof toRunSummary> }> {
  const { arm } = options;
  const out = resolve(options.out);
  await mkdir(out, { recursive: true });
  const log = options.log ?? (() => {});
  const run = await createRunRecord({ runsDir: resolve(out, '..'), id: out.split('/').pop()!, config: { ...options, onProgress: undefined, log: undefined }, resolvedConfig: { arm, seed: options.seed ?? 0 }, inputs: { train: options.train, test: options.test }, resume: true });
  try {
    let { train, test, gold, labelled } = await loadRunSplits(options.train, options.test, run);
    const cache = openArtifactCache({ dir: resolve(options.cacheDir ?? '.llm-ir-cache') });
    if (arm.ocr.train || arm.ocr.infer) {
      const wanted = [...(arm.ocr.train ? [{ rows: train, imagesDir: options.trainImages }] : []), ...(arm.ocr.infer ? [{ rows: test, imagesDir: options.testImages }] : [])];
      const done = await ocrSplits(wanted, { cacheDir: options.cacheDir ?? '.llm-ir-cache', ...(arm.ocr.tasks ? { tasks: arm.ocr.tasks } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}), onError: (e) => run.logError({ code: e.code, message: `OCR: ${e.message}`, ...(e.file ? { file: e.file } : {}) }) });
      if (arm.ocr.train) train = done.shift()!;
      if (arm.ocr.infer) test = done.shift()!;
    }
    const factor = arm.augment?.factor ?? 1;
    if (factor > 1) {
      const rng = createRng(`${options.seed ?? 0}:augment`);
      const extra: Sample[] = [];
      const p = startProgress('augment', options.onProgress, { total: train.length * (factor - 1), unit: 'row' });
      for (const s of train) {
        for (let k = 0; k < factor - 1; k++) {
          const a = await augmentSampleText(s, DEFAULT_TEXT_POLICY, rng.fork(`${s.id}#${k}`), { reorderTurns: 0.3 });
          extra.push({ ...a, id: `${s.id}#aug${k}`, parentId: s.id });
          p.advance();
        }
      }
      p.end();
      train = [...train, ...extra];
      log(`augment: +${extra.length} rows`);
    }
    // images the student cannot read get the training mean as their statistics: each is recorded once
    const unreadable = new Set<string>();
    let imageErrors = Promise.resolve();
    const onImageError = (e: LlmIrError) => {
      const key = e.file ?? e.message;
      if (unreadable.has(key)) return;
      unreadable.add(key);
      imageErrors = imageErrors.then(() => run.logError({ code: e.code, message: `image statistics: ${e.message}`, ...(e.file ? { file: e.file } : {}) }));
    };
    const studentOptions = { features: { imagesDir: options.trainImages, lexicon: ecommerceLexicon(), onImageError }, ...(arm.student?.C ? { C: arm.student.C } : {}), ...(arm.student?.maxIter ? { maxIter: arm.student.maxIter } : {}), seed: options.seed ?? 0 };
    const imageHashes = await hashImages(train, [options.trainImages]);
    // the distilled student also learns from the test rows, whose images may live in another folder
    const bothDirs = options.testImages === options.trainImages ? [options.trainImages] : [options.trainImages, options.testImages];
    // A student is trained once per (rows, soft labels, settings, image bytes) and kept in the artifact
    // cache: arms that share one (the grid's cells, +rag and ocr-train-infer) and reruns load it. It
    // always predicts from its saved file, so a cold and a warm run give the same bytes.
    const trained = async (name: string, rows: Sample[], soft?: Map<string, Record<string, number>>, distill?: { alpha: number; temperature: number }) => {
      const images = soft ? await hashImages(rows, bothDirs) : imageHashes;
      const bytes = await cache.getOrCompute(
        { stage: 'student', version: STUDENT_CACHE_VERSION, options: { C: studentOptions.C ?? null, maxIter: studentOptions.maxIter ?? null, seed: studentOptions.seed, distill: distill ?? null }, inputs: [hashValue(rows), soft ? hashValue([...soft]) : 'no-soft', images] },
        async () => {
          const s = createStudent({ ...studentOptions, ...(distill ?? {}), features: { ...studentOptions.features, imagesDir: soft ? bothDirs : options.trainImages } });
          const fit = options.onProgress ? { onProgress: options.onProgress } : {};
          if (soft) await s.fitWithSoft(rows, soft, fit);
          else await s.fit(rows, fit);
          const tmp = join(out, `.${name}.fit.json`);
          await s.save(tmp);
          const b = await readFile(tmp);
          await rm(tmp, { force: true });
          return b;
        },
      );
      const file = join(out, `${name}.json`);
      await writeFileAtomic(file, bytes);
      return loadStudent(file, { imagesDir: options.testImages, lexicon: studentOptions.features.lexicon, onImageError });
    };
    let predictions = await (await trained('student', train)).predictProba(test);
    let knn: Prediction[] | undefined;
    if (arm.rag || arm.distill) {
      const k = knnClassifier({ k: arm.rag?.k ?? 10 });
      await k.fit(train);
      knn = await k.predictProba(test);
      await k.close();
    }
    if (arm.rag && knn) predictions = blend(predictions, knn, arm.rag.weight);
    if (arm.distill) {
      // teacher: the student + kNN ensemble; its soft labels on the unlabelled test rows train a new student
      const teacher = knn ? blend(predictions, knn, 0.3) : predictions;
      const soft = new Map(teacher.map((p) => [p.id, p.probs!]));
      const second = await trained('student-distilled', [...train, ...test], soft, { alpha: arm.distill.alpha, temperature: arm.distill.temperature });
      predictions = await second.predictProba(test);
      if (arm.rag && knn) predictions = blend(predictions, knn, arm.rag.weight);
    }
    await writePredictionsJsonl(join(out, 'predictions.jsonl'), predictions);
    await writeSubmissionCsv(join(out, 'submission.csv'), predictions.map((p) => ({ id: p.id, predict: p.label })));
    let summary: ReturnType<typeof toRunSummary> | undefined;
    if (gold.length) {
      const score = scoreChallenge(gold, predictions, { resamples: 1000, seed: options.seed ?? 0 });
      summary = toRunSummary(arm.name, score, { factors: armFactors(arm) });
      await run.writeSummary(summary);
      await writeReport(join(out, 'report.html'), { title: `llm-ir arm ${arm.name}`, subtitle: arm.description ?? '', score, slices: errorSlices(labelled, predictions) });
      for (const [name, value] of [['scene/weightedF1', score.scene.weightedF1], ['intent/weightedF1', score.intent.weightedF1], ['average', score.average]] as const) {
        if (Number.isFinite(value)) await run.logMetric({ name, value });
      }
    }
    await imageErrors;
    if (unreadable.size) log(`student: ${unreadable.size} images could not be read for image statistics (training mean used; see errors.jsonl)`);
    await run.finish('succeeded');
    return { predictions, ...(summary ? { summary } : {}) };
  } catch (error) {
    await run.finish('failed', { error: (error as Error).message.split('\n')[0] });
    throw error;
  }
}
