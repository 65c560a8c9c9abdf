import { readFile } from 'node:fs/promises';
import { labelSetOf, LlmIrError, stratifiedSplit, type Classifier, type FitOptions, type Prediction, type Sample, type Task } from '@llm-ir/core';
import { writeFileAtomic } from '@llm-ir/core/io';
import { startProgress } from '@llm-ir/core/run';
import { fitFeaturizer, loadFeaturizer, type FeatureOptions, type Featurizer } from './features.ts';
import { decision, fitLogisticRegression, softmax, type LogRegModel } from './logreg.ts';

/** Options of {@link createStudent}. */
export interface StudentOptions {
  /** Feature families and settings. */
  features?: FeatureOptions;
  /** Inverse L2 strength (scikit-learn's C), for both tasks. @default the task's ({@link STUDENT_TASK_DEFAULTS}) */
  C?: number;
  /**
   * Settings of one task's model over the shared ones (`features` merged family by family and block
   * by block): the most specific setting wins, then the shared one, then {@link STUDENT_TASK_DEFAULTS}.
   */
  tasks?: Partial<Record<Task, StudentTaskOptions>>;
  /** `balanced` weighs each class by n / (K n_c), as scikit-learn. @default 'balanced' */
  classWeight?: 'balanced' | 'none';
  /** L-BFGS iterations at most. @default 100 (scikit-learn's; on the official rows 100 and 300 give the same predictions) */
  maxIter?: number;
  /** Weight of gold cross-entropy vs the teacher KL term for rows having both, in [0, 1]. @default 0.5 */
  alpha?: number;
  /** Distillation temperature. @default 2 */
  temperature?: number;
  /**
   * Fraction of training rows held out (stratified, seeded) to choose the number of L-BFGS
   * iterations by validation loss (early stopping); the model is then refitted on all rows with
   * that many iterations. 0 turns it off. @default 0
   */
  validationFraction?: number;
  /** Seed of the validation split. @default 0 */
  seed?: number;
}

/** Settings of one task's model (see {@link StudentOptions.tasks}). */
export interface StudentTaskOptions {
  /** Feature settings of this task's model. */
  features?: Omit<FeatureOptions, 'imagesDir' | 'lexicon' | 'onImageError'>;
  /** Inverse L2 strength of this task's model. */
  C?: number;
  /**
   * Train on the auxiliary rationale rows among the training rows (`meta.augmentation.source` =
   * `llm-rationale`, from @llm-ir/augmentation's `importRationales`); when off they are left out.
   */
  rationales?: boolean;
}

/** Whether a row is an LLM rationale made a training row (`importRationales`). */
const isRationale = (s: Sample): boolean => (s.meta?.['augmentation'] as { source?: unknown } | undefined)?.source === 'llm-rationale';

/**
 * The student's settings per task when nothing else is asked for: the configuration nested
 * cross-validation selects on the 799 official rows (`scripts/student-nested-cv.ts`; BENCHMARKS.md,
 * "The traditional baseline under nested CV"). Intent is read from the customer's question: their
 * last turn as its own block, the agent's turns at half weight, character unigrams kept from one
 * occurrence (on ~190 training rows longer n-grams are mostly seen once and overfit), C = 3, no
 * dialogue-image OCR, layout, image statistics, jieba words or lexicon shares, and the training rows'
 * LLM rationales as extra rows when given; scene reads every block (character 1-3-grams, lexicon
 * shares when a lexicon is given) with C = 3 and no rationales (with them, -1.3 same-fold).
 */
export const STUDENT_TASK_DEFAULTS: Readonly<Record<Task, Readonly<Required<StudentTaskOptions>>>> = {
  scene: { C: 3, features: {}, rationales: false },
  intent: { C: 3, features: { families: { image: false, ocrChars: false, layout: false, words: false, lexicon: false, lastUserChars: true }, blockWeights: { agent: 0.5 }, ngramRange: [1, 1], minDf: 1 }, rationales: true },
};

/** The feature settings and C of one task: task options over shared options over the task's defaults. */
function taskSettings(options: StudentOptions, task: Task): { C: number; features: FeatureOptions; rationales: boolean } {
  const layers = [STUDENT_TASK_DEFAULTS[task], { ...(options.C !== undefined ? { C: options.C } : {}), features: options.features ?? {} }, options.tasks?.[task] ?? {}];
  let C = 10;
  let rationales = false;
  let features: FeatureOptions = {};
  for (const l of layers) {
    if (l.C !== undefined) C = l.C;
    if ('rationales' in l && l.rationales !== undefined) rationales = l.rationales;
    const f = l.features ?? {};
    // a key set to undefined is not set (as `??=` treated it), in families and block weights too
    const set = <T extends object>(o: T | undefined) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as T;
    features = { ...features, ...set(f), families: { ...features.families, ...set(f.families) }, blockWeights: { ...features.blockWeights, ...set(f.blockWeights) } };
  }
  return { C, features, rationales };
}

interface TaskModel {
  labels: string[];
  featurizer: Featurizer;
  model: LogRegModel;
}

/** The CPU student: a `Classifier` that can also learn from teacher probabilities and be saved. */
export interface Student extends Classifier {
  /** Trains on gold labels and/or teacher probabilities (`soft`, by row id). Rows with neither are ignored. */
  fitWithSoft(samples: readonly Sample[], soft: ReadonlyMap<string, Record<string, number>>, options?: FitOptions): Promise<void>;
  /** Saves the trained student to one JSON file. */
  save(path: string): Promise<void>;
  /** The trained student as the JSON text `save` writes (read it back with {@link parseStudent}). */
  serialize(): string;
  /** Per task: feature columns, iterations, final loss. */
  describe(): Partial<Record<Task, { features: number; iterations: number; loss: number; classes: number }>>;
}

/** Index of the largest value (the first of ties). */
const top = (q: Float64Array): number => q.indexOf(Math.max(...q));

function f32b64(a: Float64Array): string {
  const f = Float32Array.from(a);
  return Buffer.from(f.buffer).toString('base64');
}
function b64f64(s: string): Float64Array {
  const b = Buffer.from(s, 'base64');
  return Float64Array.from(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4));
}

/**
 * The CPU student of the LLM-IR pipeline: per task, character n-gram TF-IDF blocks (scene: 1-3-grams
 * of the customer turns, the agent turns and the OCR text, kept separate, with jieba word uni/bigrams,
 * OCR layout and image statistics; intent: character unigrams of all customer turns, their last turn,
 * and the agent turns at half weight, plus LLM rationale rows when the training rows bring them),
 * optional lexicon features, fed to multinomial logistic regression with L2, class
 * weights and L-BFGS; trained on gold labels, teacher soft labels (distillation loss
 * alpha CE + (1 - alpha) T^2 KL) or both. Implements `Classifier`.
 *
 * @example
 * ```ts
 * const student = createStudent({ features: { imagesDir: 'images' } });
 * await student.fit(train);
 * const preds = await student.predictProba(test);
 * await student.save('student.json');
 * ```
 */
export function createStudent(options: StudentOptions = {}, loaded?: Partial<Record<Task, TaskModel>>): Student {
  const models: Partial<Record<Task, TaskModel>> = { ...loaded };

  async function trainTask(task: Task, rows: readonly Sample[], soft: ReadonlyMap<string, Record<string, number>>, fit: FitOptions) {
    const labels = [...labelSetOf(task).names];
    const settings = taskSettings(options, task);
    const use = rows.filter((s) => ((s.label !== undefined && labels.includes(s.label)) || soft.has(s.id)) && (settings.rationales || !isRationale(s)));
    if (use.length === 0) return;
    const featurizer = await fitFeaturizer(use, settings.features);
    const x = await featurizer.transform(use);
    const gold = Int32Array.from(use, (s) => (s.label !== undefined ? labels.indexOf(s.label) : -1));
    const softArr = use.map((s) => {
      const p = soft.get(s.id);
      if (!p) return undefined;
      const q = Float64Array.from(labels, (l) => p[l] ?? 0);
      const sum = q.reduce((a, b) => a + b, 0);
      return sum > 0 ? q.map((v) => v / sum) : undefined;
    });
    // class weights from the (gold or teacher-argmax) class of each row
    const cls = use.map((_, i) => (gold[i]! >= 0 ? gold[i]! : softArr[i] ? top(softArr[i]!) : -1));
    const weights = new Float64Array(use.length).fill(1);
    if ((options.classWeight ?? 'balanced') === 'balanced') {
      const counts = new Map<number, number>();
      for (const c of cls) counts.set(c, (counts.get(c) ?? 0) + 1);
      const present = [...counts.keys()].filter((c) => c >= 0).length;
      cls.forEach((c, i) => (weights[i] = use.length / (present * (counts.get(c) ?? 1))));
    }
    const base = { C: settings.C, temperature: options.temperature ?? 2, maxIter: options.maxIter ?? 100 };
    const targets = { gold, soft: softArr, alpha: options.alpha ?? 0.5 };
    let maxIter = base.maxIter;
    const vf = options.validationFraction ?? 0;
    if (vf > 0 && use.length >= 20) {
      // choose the iteration count on a held-out slice, then refit on everything
      const val = new Set(validationSplit(use, cls.map((c) => labels[c]), { fraction: vf, seed: options.seed ?? 0 }));
      const tr = use.map((_, i) => i).filter((i) => !val.has(i));
      const xTr = { rows: tr.map((i) => x.rows[i]!), cols: x.cols };
      const vIdx = [...val];
      let best = { loss: Infinity, iter: maxIter };
      const z = new Float64Array(labels.length);
      fitLogisticRegression(xTr, labels.length, { gold: Int32Array.from(tr, (i) => gold[i]!), soft: tr.map((i) => softArr[i]), alpha: targets.alpha }, {
        ...base,
        sampleWeight: Float64Array.from(tr, (i) => weights[i]!),
        onIteration: (iter, _loss, current) => {
          if (iter % 5 !== 0) return;
          const m = current();
          let vl = 0;
          for (const i of vIdx) {
            const p = softmax(decision(m, x.rows[i]!, z));
            const target = gold[i]! >= 0 ? gold[i]! : softArr[i] ? top(softArr[i]!) : 0;
            vl -= Math.log(Math.max(p[target]!, 1e-12));
          }
          if (vl < best.loss) best = { loss: vl, iter };
        },
      });
      maxIter = Math.max(5, best.iter);
    }
    const progress = startProgress(`train-${task}`, fit.onProgress, { total: maxIter, unit: 'iteration' });
    const model = fitLogisticRegression(x, labels.length, targets, { ...base, maxIter, sampleWeight: weights, onIteration: () => void progress.advance() });
    progress.end();
    models[task] = { labels, featurizer, model };
  }

  const student: Student = {
    async fit(samples, fit = {}) {
      await student.fitWithSoft(samples, new Map(), fit);
    },
    async fitWithSoft(samples, soft, fit = {}) {
      for (const task of ['scene', 'intent'] as const) {
        fit.signal?.throwIfAborted();
        await trainTask(task, samples.filter((s) => s.task === task), soft, fit);
      }
    },
    async predictProba(samples, opts = {}): Promise<Prediction[]> {
      const out = new Array<Prediction>(samples.length);
      for (const task of ['scene', 'intent'] as const) {
        const idx = samples.map((s, i) => (s.task === task ? i : -1)).filter((i) => i >= 0);
        if (idx.length === 0) continue;
        const m = models[task];
        if (!m) throw new LlmIrError({ code: 'config-invalid', message: `the student has no ${task} model: train it on ${task} rows first` });
        opts.signal?.throwIfAborted();
        const x = await m.featurizer.transform(idx.map((i) => samples[i]!));
        const z = new Float64Array(m.labels.length);
        x.rows.forEach((row, j) => {
          const p = softmax(decision(m.model, row, z));
          const probs: Record<string, number> = {};
          let best = 0;
          m.labels.forEach((l, c) => {
            probs[l] = p[c]!;
            if (p[c]! > p[best]!) best = c;
          });
          const s = samples[idx[j]!]!;
          out[idx[j]!] = { id: s.id, task, label: m.labels[best]!, probs };
        });
      }
      return out;
    },
    serialize() {
      const tasks: Record<string, unknown> = {};
      for (const [task, m] of Object.entries(models)) {
        tasks[task] = { labels: m.labels, featurizer: m.featurizer.toJSON(), model: { k: m.model.k, d: m.model.d, iterations: m.model.iterations, loss: m.model.loss, w: f32b64(m.model.w), b: f32b64(m.model.b) } };
      }
      const { features: _f, ...rest } = options;
      return JSON.stringify({ format: 'llm-ir-student', version: 1, options: rest, tasks });
    },
    async save(path) {
      await writeFileAtomic(path, student.serialize());
    },
    describe() {
      const out: ReturnType<Student['describe']> = {};
      for (const [task, m] of Object.entries(models) as Array<[Task, TaskModel]>) out[task] = { features: m.featurizer.dim, iterations: m.model.iterations, loss: m.model.loss, classes: m.labels.length };
      return out;
    },
  };
  return student;
}

/**
 * The rows held out to choose the iteration count: a stratified split by label (gold, else the
 * teacher's top label) that keeps every lineage (`parentId` chains: an augmented row and its source)
 * on one side, so no copy of a held-out row is trained on. Returns the held-out indices.
 */
export function validationSplit(rows: readonly Pick<Sample, 'id' | 'task' | 'parentId'>[], labels: ReadonlyArray<string | undefined>, options: { fraction: number; seed: number | string }): number[] {
  const items = rows.map((r, i) => ({ id: r.id, task: r.task, ...(labels[i] !== undefined ? { label: labels[i] } : {}), ...(r.parentId !== undefined ? { parentId: r.parentId } : {}), index: i }));
  return stratifiedSplit(items, { testFraction: options.fraction, seed: options.seed }).test.map((t) => t.index).sort((a, b) => a - b);
}

/**
 * Loads a student saved with `save`. Image statistics and lexicon features need the same
 * `imagesDir` / `lexicon` again (they are not stored in the file).
 *
 * @throws {LlmIrError} `io` when the file cannot be read, `invalid-row` when it is not a saved student,
 * `config-invalid` when its features need `imagesDir` or `lexicon` and they are not given.
 */
export async function loadStudent(path: string, features: Pick<FeatureOptions, 'imagesDir' | 'lexicon' | 'onImageError'> = {}): Promise<Student> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new LlmIrError({ code: 'io', message: `cannot read the student ${path}: ${(cause as Error).message}`, file: path, cause });
  }
  return parseStudent(text, features, path);
}

/**
 * A student from the text `serialize` / `save` wrote (`source` names it in errors). Weights are
 * stored as float32, so a parsed student is the one every later prediction comes from.
 *
 * @throws {LlmIrError} `invalid-row` when it is not a saved student, `config-invalid` when its
 * features need `imagesDir` or `lexicon` and they are not given.
 */
export function parseStudent(text: string, features: Pick<FeatureOptions, 'imagesDir' | 'lexicon' | 'onImageError'> = {}, source = 'student'): Student {
  let json: { format?: string; options: StudentOptions; tasks: Record<string, { labels: string[]; featurizer: unknown; model: { k: number; d: number; iterations: number; loss: number; w: string; b: string } }> };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (cause) {
    throw new LlmIrError({ code: 'invalid-row', message: `${source} is not a saved llm-ir student (not JSON)`, file: source, cause });
  }
  if (json?.format !== 'llm-ir-student') throw new LlmIrError({ code: 'invalid-row', message: `${source} is not a saved llm-ir student`, file: source });
  const loaded: Partial<Record<Task, TaskModel>> = {};
  for (const [task, t] of Object.entries(json.tasks) as Array<[Task, (typeof json.tasks)[string]]>) {
    loaded[task] = { labels: t.labels, featurizer: loadFeaturizer(t.featurizer, features), model: { k: t.model.k, d: t.model.d, w: b64f64(t.model.w), b: b64f64(t.model.b), iterations: t.model.iterations, loss: t.model.loss } };
  }
  return createStudent({ ...json.options, features: features }, loaded);
}
