import { stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LlmIrError, loadSamples, writePredictionsJsonl, writeSubmissionCsv, type Prediction, type ProgressCallback, type Sample, type StageContext } from '@llm-ir/core';
import { writeFileAtomic } from '@llm-ir/core/io';
import { createRunRecord, openArtifactCache, type RunRecord } from '@llm-ir/core/run';
import { augmentStage, ecommerceLexicon, importRationales } from '@llm-ir/augmentation';
import { blendPredictions, distillStudentStage, parseStudent, trainStudentStage, type StudentStageOptions } from '@llm-ir/distill';
import { scoreStage, type ChallengeScore, type RunSummary } from '@llm-ir/eval';
import { applyOcr, ocrSplits } from '@llm-ir/ocr';
import { knnStage } from '@llm-ir/rag-index';
import { armFactors, loadArm, type ArmConfig } from '@llm-ir/trainer-bridge';
import { ocrTasks } from '@llm-ir/trainer-bridge/arm';
import { knownLabels } from './context.ts';

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
  /** Replace a run of another configuration in `out` (without it, such a folder is refused). */
  force?: boolean;
  /**
   * LLM rationales JSONL (`{id, label, reason}`): those of the training rows become extra rows of the
   * student ({@link armRationales}), used by the tasks whose student setting `rationales` is on.
   */
  rationales?: string;
  /** Cancels the run (Ctrl-C, SIGTERM): `run.json` then says `cancelled`. */
  signal?: AbortSignal;
}

/** Files a run writes in its folder: removed when a rerun starts a new attempt, so no two attempts mix. */
const RUN_OUTPUTS = ['predictions.jsonl', 'submission.csv', 'report.html', 'student.json', 'student-distilled.json', 'augment'];

/**
 * Checks a run's input files and images folders before anything starts.
 *
 * @throws {LlmIrError} `input-missing` when a rows file is not a readable file; `images-missing`
 * when an images folder is not a folder.
 */
export async function checkRunInputs(inputs: { train: string; trainImages: string; test?: string; testImages?: string }): Promise<void> {
  for (const [flag, path] of [['--train', inputs.train], ['--test', inputs.test]] as const) {
    if (path === undefined) continue;
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) throw new LlmIrError({ code: 'input-missing', message: `${flag} ${path}: ${st ? 'is not a file' : 'no such file'}`, file: path });
  }
  for (const [flag, path] of [['--train-images', inputs.trainImages], ['--test-images', inputs.testImages]] as const) {
    if (path === undefined) continue;
    const st = await stat(path).catch(() => undefined);
    if (!st?.isDirectory()) throw new LlmIrError({ code: 'images-missing', message: `${flag} ${path}: ${st ? 'is not a folder' : 'no such folder'}`, file: path });
  }
}

/**
 * Opens the run record of a run folder (`<out>/run.json`, locked while the run is open): a rerun of
 * the same configuration and inputs resumes as a new attempt (the previous attempt's outputs are
 * removed first), another configuration is refused unless `force`.
 */
export function openRun(out: string, options: { config: unknown; resolvedConfig: unknown; inputs: Record<string, string>; force?: boolean; outputs?: readonly string[] }): Promise<RunRecord> {
  const dir = resolve(out);
  return createRunRecord({ runsDir: dirname(dir), id: basename(dir), config: options.config, resolvedConfig: options.resolvedConfig, inputs: options.inputs, resume: true, ...(options.force ? { force: true } : {}), outputs: options.outputs ?? RUN_OUTPUTS });
}

/**
 * Runs `work` as the body of an open run: `run.json` ends `succeeded`, `partial` (when rows or images
 * were skipped: `errors.jsonl` lists them), `failed` (with the error's first line) or `cancelled`
 * (when `signal` fires: the run ends at once, whatever the stages were doing). `notes` adds what the
 * result should leave in `run.json`.
 */
export async function withRun<T>(opened: { run: RunRecord; ctx?: { drain(): Promise<void> }; signal?: AbortSignal | undefined; notes?: (value: T) => Record<string, unknown> }, work: () => Promise<T>): Promise<T> {
  const { run, ctx, signal } = opened;
  let onAbort: (() => void) | undefined;
  const cancelled = new Promise<never>((_, reject) => {
    onAbort = () => reject(new LlmIrError({ code: 'cancelled', message: `run ${run.dir} cancelled (${String(signal?.reason ?? 'aborted')})` }));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  cancelled.catch(() => {});
  try {
    const value = await Promise.race([work(), cancelled]);
    await ctx?.drain();
    await run.finish(run.info.errorCount > 0 ? 'partial' : 'succeeded', opened.notes?.(value));
    return value;
  } catch (error) {
    await ctx?.drain();
    if (signal?.aborted) await run.finish('cancelled', { signal: String(signal.reason ?? 'aborted') });
    else await run.finish('failed', { error: (error as Error).message.split('\n')[0] });
    throw error;
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The stage context of a run: its cache, seed and folder; skipped rows and images go to the run's
 * `errors.jsonl` in the order reported. `drain` waits for every record to be written.
 */
export function runContext(run: Pick<RunRecord, 'logError'>, options: { out: string; seed?: number; cacheDir?: string; onProgress?: ProgressCallback; log?: (line: string) => void; signal?: AbortSignal }): StageContext & { drain(): Promise<void> } {
  let written = Promise.resolve();
  const log = options.log;
  return {
    cache: openArtifactCache({ dir: resolve(options.cacheDir ?? '.llm-ir-cache'), ...(log ? { onCorrupt: (e: LlmIrError) => log(`warning: ${e.message}`) } : {}) }),
    seed: options.seed ?? 0,
    outDir: resolve(options.out),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(log ? { log } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onError: (e: LlmIrError) => {
      written = written.then(() => run.logError({ code: e.code, message: e.message, ...(e.file ? { file: e.file } : {}), ...(e.row !== undefined ? { row: e.row } : {}), ...(e.id ? { id: e.id } : {}) }));
      return written;
    },
    drain: () => written,
  };
}

/**
 * Loads the training and test rows of a run, records bad rows in its `errors.jsonl` (with rows whose
 * label is not in their task's label set: `unknown-label`), and takes the test labels aside: `test`
 * never carries them (they are for scoring only), `labelled` holds them.
 *
 * @throws {LlmIrError} `split-unreadable` when a split's JSON array is not well-formed (it was read
 * only up to the fault); `split-empty` when a split has no usable row (empty, or every row bad).
 */
export async function loadRunSplits(trainFile: string, testFile: string | undefined, run: Pick<RunRecord, 'logError'>): Promise<{ train: Sample[]; test: Sample[]; labelled: Sample[] }> {
  const load = async (file: string, flag: string) => {
    const loaded = await loadSamples(file);
    const checked = knownLabels(loaded.samples, file);
    const rows = checked.samples;
    const errors = [...loaded.errors, ...checked.errors];
    for (const e of errors) await run.logError({ code: e.code, message: e.message, ...(e.file ? { file: e.file } : {}), ...(e.row !== undefined ? { row: e.row } : {}), ...(e.id ? { id: e.id } : {}) });
    // a JSON array that is not well-formed was read only up to its fault: not a split to predict or score
    const broken = extname(file).toLowerCase() !== '.jsonl' ? errors.find((e) => e.code === 'invalid-json') : undefined;
    if (broken) throw new LlmIrError({ code: 'split-unreadable', message: `${flag} ${file} is not a well-formed JSON array (${broken.message}); \`llm-ir data validate\` shows every problem`, file, ...(broken.row !== undefined ? { row: broken.row } : {}) });
    if (rows.length === 0) {
      const first = errors[0] ? `: ${errors[0].message}` : '';
      throw new LlmIrError({ code: 'split-empty', message: `${flag} ${file} has no usable row (${errors.length} bad)${first}`, file });
    }
    return rows;
  };
  const train = await load(trainFile, '--train');
  const loadedTest = testFile === undefined ? [] : await load(testFile, '--test');
  const labelled = loadedTest.filter((s) => s.label !== undefined);
  return {
    train,
    test: loadedTest.map(({ label: _l, ...s }) => s),
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
 * the student (cached), which also gets `rationales` (extra rows, {@link armRationales}; not
 * augmented, not returned). Returns the training rows used and the student's saved text.
 */
export async function trainArmStudent(ctx: StageContext, arm: ArmConfig, train: Sample[], options: { imagesDir: string; rationales?: readonly Sample[] }): Promise<{ rows: Sample[]; text: string }> {
  const { imagesDir, rationales = [] } = options;
  const rows = await augmentStage(ctx, train, { factor: arm.augment?.factor ?? 1, imagesDir });
  const { text } = await trainStudentStage(ctx, [...rows, ...rationales], studentOptionsOf(ctx, arm, imagesDir));
  return { rows, text };
}

/**
 * The LLM rationales of the training rows (`importRationales`) as extra student rows (`--rationales`
 * of `llm-ir run`, `train --backend cpu` and `distill train`). Lines for rows outside `train` (another
 * split's) are counted in the log; each unusable line is reported to `ctx.onError` as an
 * `invalid-row` error naming the file and the (zero-based) row, and the rest are used.
 */
export async function armRationales(ctx: Pick<StageContext, 'onError' | 'log'>, train: readonly Sample[], file: string): Promise<Sample[]> {
  const r = await importRationales(train, file);
  for (const k of r.skipped) await ctx.onError?.(new LlmIrError({ code: 'invalid-row', message: `rationale not used: ${k.reason}`, file, row: k.row, ...(k.id ? { id: k.id } : {}) }));
  ctx.log?.(`rationales: ${r.samples.length} training row(s) from ${file}${r.unmatched ? `; ${r.unmatched} line(s) of other rows ignored` : ''}${r.skipped.length ? `; ${r.skipped.length} line(s) unusable (see errors)` : ''}`);
  return r.samples;
}

/** Wall-clock seconds of one stage of a run (`run.json`'s `stages`, and the table `llm-ir run` prints). */
export interface StageTime {
  /** The stage: load, ocr, student, predict, knn, rag, distill, write, score. */
  stage: string;
  /** Seconds, to the millisecond. */
  seconds: number;
}

/** Times the stages of a run in the order they ran. */
function stageClock(): { stages: StageTime[]; time<T>(stage: string, work: () => Promise<T>): Promise<T> } {
  const stages: StageTime[] = [];
  return {
    stages,
    async time(stage, work) {
      const t0 = performance.now();
      try {
        return await work();
      } finally {
        stages.push({ stage, seconds: Math.round(performance.now() - t0) / 1000 });
      }
    },
  };
}

/** Records a scored run in its record: `summary.json` and the headline metrics. */
export async function recordScore(run: Pick<RunRecord, 'writeSummary' | 'logMetric'>, scored: { score: ChallengeScore; summary: RunSummary }): Promise<void> {
  await run.writeSummary(scored.summary);
  const { score } = scored;
  for (const [name, value] of [['scene/weightedF1', score.scene.weightedF1], ['intent/weightedF1', score.intent.weightedF1], ['average', score.average]] as const) {
    if (Number.isFinite(value)) await run.logMetric({ name, value });
  }
}

/**
 * Runs one arm end to end on the CPU backend, as a composition of the packages' stages: OCR
 * (`@llm-ir/ocr`) of the splits the arm wants, text augmentation (`@llm-ir/augmentation`), the student
 * (`@llm-ir/distill`, cached), kNN retrieval (`@llm-ir/rag-index`) blended in (`rag`), self-distillation
 * from a student + kNN ensemble teacher on the unlabelled test rows (`distill`), then
 * `submission.csv`, `predictions.jsonl`, `run.json` and, when the test rows carry labels,
 * `summary.json` and `report.html` (`@llm-ir/eval`). Test labels are used for scoring only.
 */
export async function runArm(options: RunArmOptions): Promise<{ predictions: Prediction[]; summary?: RunSummary; errors: number; stages: StageTime[] }> {
  const { arm } = options;
  const out = resolve(options.out);
  await checkRunInputs(options);
  const run = await openRun(out, {
    config: { ...options, onProgress: undefined, log: undefined, signal: undefined, force: undefined },
    resolvedConfig: { arm, seed: options.seed ?? 0, trainImages: resolve(options.trainImages), testImages: resolve(options.testImages) },
    inputs: { train: options.train, test: options.test, ...(options.rationales ? { rationales: options.rationales } : {}) },
    ...(options.force ? { force: true } : {}),
  });
  const ctx = runContext(run, options);
  const clock = stageClock();
  const time = clock.time;
  return withRun({ run, ctx, signal: options.signal, notes: () => ({ stages: clock.stages }) }, async () => {
    const splits = await time('load', () => loadRunSplits(options.train, options.test, run));
    const { train, test } = await time('ocr', () => armOcr(ctx, arm, { rows: splits.train, imagesDir: options.trainImages }, { rows: splits.test, imagesDir: options.testImages }));
    const rationales = options.rationales ? await time('rationales', () => armRationales(ctx, train, options.rationales!)) : [];
    const first = await time('student', async () => {
      const trained = await trainArmStudent(ctx, arm, train, { imagesDir: options.trainImages, rationales });
      await writeFileAtomic(join(out, 'student.json'), trained.text);
      return trained;
    });
    const forTest = (text: string) => parseStudent(text, studentOptionsOf(ctx, arm, options.testImages).features ?? {});
    const studentPredictions = await time('predict', () => forTest(first.text).predictProba(test));
    let predictions = studentPredictions;
    // the neighbours of each test row among the training rows: blended in (rag) and part of the distillation teacher
    const knn = arm.rag || arm.distill ? await time('knn', () => knnStage(ctx, { train: first.rows, test }, { k: arm.rag?.k ?? 10 })) : undefined;
    const withKnn = (student: Prediction[], weight: number) => (knn ? blendPredictions(test, [{ id: 'student', predictions: student, weight: 1 - weight }, { id: 'knn', predictions: knn, weight }]) : Promise.resolve(student));
    if (arm.rag) predictions = await time('rag', () => withKnn(predictions, arm.rag!.weight));
    if (arm.distill) {
      const distill = arm.distill;
      predictions = await time('distill', async () => {
        // the teacher (the first student + kNN) labels the unlabelled test rows; a second student learns from them
        const teacher = await withKnn(studentPredictions, distill.knnWeight);
        const bothDirs = options.testImages === options.trainImages ? [options.trainImages] : [options.trainImages, options.testImages];
        const second = await distillStudentStage(ctx, { labelled: [...first.rows, ...rationales], unlabelled: test, teacher }, { ...studentOptionsOf(ctx, arm, bothDirs), alpha: distill.alpha, temperature: distill.temperature });
        await writeFileAtomic(join(out, 'student-distilled.json'), second.text);
        const distilled = await forTest(second.text).predictProba(test);
        return arm.rag ? withKnn(distilled, arm.rag.weight) : distilled;
      });
    }
    await time('write', async () => {
      await writePredictionsJsonl(join(out, 'predictions.jsonl'), predictions);
      await writeSubmissionCsv(join(out, 'submission.csv'), predictions.map((p) => ({ id: p.id, predict: p.label })));
    });
    let summary: RunSummary | undefined;
    if (splits.labelled.length) {
      summary = await time('score', async () => {
        const scored = await scoreStage(ctx, { name: arm.name, ...(arm.description ? { description: arm.description } : {}), labelled: splits.labelled, predictions, factors: armFactors(arm) });
        await recordScore(run, scored);
        return scored.summary;
      });
    }
    await ctx.drain();
    return { predictions, ...(summary ? { summary } : {}), errors: run.info.errorCount, stages: clock.stages };
  });
}
