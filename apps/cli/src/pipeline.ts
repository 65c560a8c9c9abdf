import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSamples, writePredictionsJsonl, writeSubmissionCsv, type LlmIrError, type Prediction, type ProgressCallback, type Sample, type StageContext } from '@llm-ir/core';
import { writeFileAtomic } from '@llm-ir/core/io';
import { createRunRecord, openArtifactCache, type RunRecord } from '@llm-ir/core/run';
import { augmentStage, ecommerceLexicon } from '@llm-ir/augmentation';
import { ensembleTeacher, fixedTeacher, parseStudent, trainStudentStage, type StudentStageOptions } from '@llm-ir/distill';
import { errorSlices, scoreChallenge, toRunSummary, writeReport } from '@llm-ir/eval';
import { applyOcr, ocrSplits } from '@llm-ir/ocr';
import { knnClassifier } from '@llm-ir/rag-index';
import { armFactors, loadArm, type ArmConfig } from '@llm-ir/trainer-bridge';
import { ocrTasks } from '@llm-ir/trainer-bridge/arm';

/** Folder of the checked-in arm files (apps/ablation/arms). */
export const ARMS_DIR = fileURLToPath(new URL('../../ablation/arms/', import.meta.url));

/** An arm for a command: a file in apps/ablation/arms by name (`full`, `+augment`), a preset, or a JSON / YAML file. */
export function cliArm(spec: string): Promise<ArmConfig> {
  return loadArm(spec, { armsDir: ARMS_DIR });
}

/** Where a run is and how it reports: the options every pipeline composition shares. */
export interface RunArmOptions {
  arm: ArmConfig;
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
 * The stage context of a run: its cache, seed and folder; skipped rows and images go to the run's
 * `errors.jsonl` in the order reported. `drain` waits for every record to be written.
 */
export function runContext(run: Pick<RunRecord, 'logError'>, options: { out: string; seed?: number; cacheDir?: string; onProgress?: ProgressCallback; log?: (line: string) => void }): StageContext & { drain(): Promise<void> } {
  let written = Promise.resolve();
  return {
    cache: openArtifactCache({ dir: resolve(options.cacheDir ?? '.llm-ir-cache') }),
    seed: options.seed ?? 0,
    outDir: resolve(options.out),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.log ? { log: options.log } : {}),
    onError: (e: LlmIrError) => {
      written = written.then(() => run.logError({ code: e.code, message: e.message, ...(e.file ? { file: e.file } : {}), ...(e.row !== undefined ? { row: e.row } : {}), ...(e.id ? { id: e.id } : {}) }));
      return written;
    },
    drain: () => written,
  };
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

/**
 * The OCR stage as an arm asks for it: the training rows when `ocr.train`, the test rows when
 * `ocr.infer` (one engine pool for both), only the rows of the arm's `ocr.tasks`.
 */
export async function armOcr(ctx: StageContext, arm: Pick<ArmConfig, 'ocr'>, train: { rows: Sample[]; imagesDir: string }, test?: { rows: Sample[]; imagesDir: string }): Promise<{ train: Sample[]; test: Sample[] }> {
  const wanted = [...(arm.ocr.train ? [train] : []), ...(test && arm.ocr.infer ? [test] : [])];
  const done = wanted.length ? await ocrSplits(ctx, wanted, { tasks: ocrTasks(arm) }) : [];
  return { train: arm.ocr.train ? done.shift()! : train.rows, test: test ? (arm.ocr.infer ? done.shift()! : test.rows) : [] };
}

/** OCR text written into the prompts as the arm says (GPU backends): at training for the training rows, at inference for the test rows. */
export function armPrompts(arm: Pick<ArmConfig, 'ocr'>, rows: Sample[], split: 'train' | 'test'): Sample[] {
  if (!(split === 'train' ? arm.ocr.train : arm.ocr.infer)) return rows;
  return applyOcr(rows, split === 'train' ? { at: 'train', split: 'train', format: arm.ocr.format ?? 'plain' } : { at: 'both', split: 'test', format: arm.ocr.format ?? 'plain' });
}

/** The student settings of an arm; images the student cannot read are reported to `ctx.onError` once each (they get the training mean). */
function studentOptionsOf(ctx: StageContext, arm: ArmConfig, imagesDir: string | readonly string[]): StudentStageOptions {
  const seen = new Set<string>();
  const onImageError = (e: LlmIrError) => {
    const key = e.file ?? e.message;
    if (seen.has(key)) return;
    seen.add(key);
    void ctx.onError?.(e);
  };
  return { features: { imagesDir, lexicon: ecommerceLexicon(), onImageError }, ...(arm.student?.C ? { C: arm.student.C } : {}), ...(arm.student?.maxIter ? { maxIter: arm.student.maxIter } : {}) };
}

/**
 * The training half of the CPU pipeline, the one `llm-ir train --backend cpu` runs and `llm-ir run
 * --backend cpu` starts with: the arm's text augmentation of the (OCR-attached) training rows, then
 * the student (cached). Returns the training rows used and the student's saved text.
 */
export async function trainArmStudent(ctx: StageContext, arm: ArmConfig, train: Sample[], imagesDir: string): Promise<{ rows: Sample[]; text: string }> {
  const rows = await augmentStage(ctx, train, { factor: arm.augment?.factor ?? 1, imagesDir });
  const { text } = await trainStudentStage(ctx, rows, studentOptionsOf(ctx, arm, imagesDir));
  return { rows, text };
}

/** Blends two prediction sets row by row: `(1 - weight) a + weight b`, through distill's ensemble teacher. */
async function blend(rows: readonly Sample[], a: { id: string; predictions: Prediction[] }, b: { id: string; predictions: Prediction[] }, weight: number): Promise<Prediction[]> {
  return ensembleTeacher([fixedTeacher(a.id, a.predictions), fixedTeacher(b.id, b.predictions)], [1 - weight, weight]).label(rows);
}

/**
 * Runs one arm end to end on the CPU backend, as a composition of the packages' stages: OCR
 * (`@llm-ir/ocr`) of the splits the arm wants, text augmentation (`@llm-ir/augmentation`), the student
 * (`@llm-ir/distill`, cached), kNN retrieval (`@llm-ir/rag-index`) blended in (`rag`), self-distillation
 * from a student + kNN ensemble teacher on the unlabelled test rows (`distill`), then
 * `submission.csv`, `predictions.jsonl`, `run.json` and, when the test rows carry labels,
 * `summary.json` and `report.html` (`@llm-ir/eval`). Test labels are used for scoring only.
 */
export async function runArm(options: RunArmOptions): Promise<{ predictions: Prediction[]; summary?: ReturnType<typeof toRunSummary> }> {
  const { arm } = options;
  const out = resolve(options.out);
  await mkdir(out, { recursive: true });
  const run = await createRunRecord({ runsDir: resolve(out, '..'), id: out.split('/').pop()!, config: { ...options, onProgress: undefined, log: undefined }, resolvedConfig: { arm, seed: options.seed ?? 0 }, inputs: { train: options.train, test: options.test }, resume: true });
  const ctx = runContext(run, options);
  try {
    const splits = await loadRunSplits(options.train, options.test, run);
    const { train, test } = await armOcr(ctx, arm, { rows: splits.train, imagesDir: options.trainImages }, { rows: splits.test, imagesDir: options.testImages });
    const first = await trainArmStudent(ctx, arm, train, options.trainImages);
    await writeFileAtomic(join(out, 'student.json'), first.text);
    const forTest = (text: string) => parseStudent(text, studentOptionsOf(ctx, arm, options.testImages).features ?? {});
    const studentPredictions = await forTest(first.text).predictProba(test);
    let predictions = studentPredictions;
    let knn: Prediction[] | undefined;
    if (arm.rag || arm.distill) {
      const k = knnClassifier({ k: arm.rag?.k ?? 10 });
      try {
        await k.fit(first.rows);
        knn = await k.predictProba(test);
      } finally {
        await k.close();
      }
    }
    if (arm.rag && knn) predictions = await blend(test, { id: 'student', predictions }, { id: 'knn', predictions: knn }, arm.rag.weight);
    if (arm.distill) {
      // the teacher (the first student + kNN) labels the unlabelled test rows; a second student learns from them
      const teacher = knn ? await blend(test, { id: 'student', predictions: studentPredictions }, { id: 'knn', predictions: knn }, arm.distill.knnWeight) : studentPredictions;
      const soft = new Map(teacher.map((p) => [p.id, p.probs!]));
      const bothDirs = options.testImages === options.trainImages ? [options.trainImages] : [options.trainImages, options.testImages];
      const second = await trainStudentStage(ctx, [...first.rows, ...test], { ...studentOptionsOf(ctx, arm, bothDirs), soft, alpha: arm.distill.alpha, temperature: arm.distill.temperature });
      await writeFileAtomic(join(out, 'student-distilled.json'), second.text);
      predictions = await forTest(second.text).predictProba(test);
      if (arm.rag && knn) predictions = await blend(test, { id: 'student', predictions }, { id: 'knn', predictions: knn }, arm.rag.weight);
    }
    await writePredictionsJsonl(join(out, 'predictions.jsonl'), predictions);
    await writeSubmissionCsv(join(out, 'submission.csv'), predictions.map((p) => ({ id: p.id, predict: p.label })));
    let summary: ReturnType<typeof toRunSummary> | undefined;
    if (splits.gold.length) {
      const score = scoreChallenge(splits.gold, predictions, { resamples: 1000, seed: ctx.seed });
      summary = toRunSummary(arm.name, score, { factors: armFactors(arm) });
      await run.writeSummary(summary);
      await writeReport(join(out, 'report.html'), { title: `llm-ir arm ${arm.name}`, subtitle: arm.description ?? '', score, slices: errorSlices(splits.labelled, predictions) });
      for (const [name, value] of [['scene/weightedF1', score.scene.weightedF1], ['intent/weightedF1', score.intent.weightedF1], ['average', score.average]] as const) {
        if (Number.isFinite(value)) await run.logMetric({ name, value });
      }
    }
    await ctx.drain();
    await run.finish('succeeded');
    return { predictions, ...(summary ? { summary } : {}) };
  } catch (error) {
    await ctx.drain();
    await run.finish('failed', { error: (error as Error).message.split('\n')[0] });
    throw error;
  }
}
