import { LlmIrError, type Prediction, type Sample, type StageContext } from '@llm-ir/core';
import { checkImage, hashValue, sha256File } from '@llm-ir/core/io';
import { createStudent, parseStudent, STUDENT_TASK_DEFAULTS, type Student, type StudentOptions } from './student.ts';
import { ensembleTeacher, type Teacher } from './teachers.ts';

/** Bump when the student's features or training change, so cached students are not reused. */
// student-4: the intent model's default inputs (last customer turn, agent turns at 0.5, no OCR or jieba words)
// student-5: per-task defaults chosen by nested CV (scene C 3, intent without lexicon shares), L-BFGS
// at most 100 iterations, feature-major weights during the fit
// student-6: intent on character unigrams, min_df 1, C 3, rationale rows. The per-task defaults are
// part of the key as well, so a change of them cannot serve a student trained under the old ones (a
// cached student-5 baseline did, in the first CV after that change)
const STUDENT_CACHE_VERSION = 'student-6';

/** Options of {@link trainStudentStage}: the student's, plus teacher probabilities. */
export interface StudentStageOptions extends StudentOptions {
  /** Teacher probabilities by row id (rows with them learn with the distillation loss). */
  soft?: ReadonlyMap<string, Record<string, number>>;
}

/**
 * SHA-256 over the bytes of every image the rows name, each from the first folder that has it as a
 * regular file inside the folder (checked like every other image read: no `..`, no links out, no
 * FIFOs or devices, size limits). A name found nowhere counts with its reason. Image statistics
 * depend on bytes, not paths.
 */
async function hashImages(rows: readonly Sample[], imagesDirs: readonly string[]): Promise<string> {
  const names = [...new Set(rows.flatMap((s) => s.turns.flatMap((t) => t.images.map((i) => i.path))))].sort();
  const hashes: string[] = [];
  for (const n of names) {
    let h = 'missing';
    for (const dir of imagesDirs) {
      try {
        h = await sha256File((await checkImage(dir, n, { decode: false })).path);
        break;
      } catch (error) {
        if (!LlmIrError.isInstance(error)) throw error;
        h = error.code;
      }
    }
    hashes.push(`${n}:${h}`);
  }
  return hashValue(hashes);
}

/**
 * The training stage of the CPU pipeline: fits a student on the rows (gold labels and/or teacher
 * probabilities in `soft`) through `ctx.cache`, keyed by the rows, the soft labels, every setting
 * (lexicon included) and the bytes of every image the rows name. Another arm or run that needs the
 * same student loads it. The student returned is always parsed from its stored text (weights are
 * float32 there), so a cold and a warm run predict the same bytes. `text` is what `save` would write.
 */
export async function trainStudentStage(ctx: StageContext, rows: readonly Sample[], options: StudentStageOptions = {}): Promise<{ student: Student; text: string }> {
  const { soft, ...studentOptions } = options;
  const { imagesDir, lexicon, onImageError: _e, ...families } = studentOptions.features ?? {};
  const dirs = imagesDir === undefined ? [] : typeof imagesDir === 'string' ? [imagesDir] : imagesDir;
  const { features: _f, ...settings } = studentOptions;
  const key = {
    stage: 'student',
    version: STUDENT_CACHE_VERSION,
    options: { settings: { seed: ctx.seed, ...settings }, features: families, lexicon: lexicon ? hashValue(lexicon.groups) : null, defaults: STUDENT_TASK_DEFAULTS },
    inputs: [hashValue(rows), soft ? hashValue([...soft].sort((a, b) => (a[0] < b[0] ? -1 : 1))) : 'no-soft', dirs.length ? await hashImages(rows, dirs) : 'no-images'],
  };
  // images the student could not read are part of its result: a student from the cache tells of them
  // again (through the caller's onImageError, in the order found), so a warm run reports what a cold one did
  const seen: LlmIrError[] = [];
  const collect = { ...studentOptions, features: { ...studentOptions.features, onImageError: (e: LlmIrError) => void seen.push(e) } };
  let computed = false;
  const errorsKey = { ...key, stage: 'student-image-errors' };
  const bytes = await ctx.cache.getOrCompute(key, async () => {
    computed = true;
    const s = createStudent({ seed: ctx.seed, ...collect });
    const fit = { ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) };
    await s.fitWithSoft(rows, soft ?? new Map(), fit);
    // stored before the student, so whoever finds the student finds its image errors
    await ctx.cache.put(errorsKey, JSON.stringify(seen.map((e) => ({ code: e.code, message: e.message, ...(e.file ? { file: e.file } : {}) }))));
    return s.serialize();
  }, { check: 'json' });
  const stored = computed ? undefined : await ctx.cache.get(errorsKey);
  const imageErrors = computed ? seen : ((stored ? JSON.parse(stored.toString('utf8')) : []) as Array<{ code: string; message: string; file?: string }>).map((e) => new LlmIrError({ ...e, field: 'image' }));
  for (const e of imageErrors) studentOptions.features?.onImageError?.(e);
  const text = bytes.toString('utf8');
  return { student: parseStudent(text, studentOptions.features ?? {}, 'cached student'), text };
}

/** A teacher whose labels are already known (e.g. a classifier's predictions on the rows to label). */
export function fixedTeacher(id: string, predictions: readonly Prediction[]): Teacher {
  const byId = new Map(predictions.map((p) => [p.id, p]));
  return { id, label: async (samples) => samples.map((s) => byId.get(s.id)).filter((p): p is Prediction => p !== undefined) };
}

/** One prediction set of a {@link blendPredictions} and its weight. */
export interface WeightedPredictions {
  /** Names the set (the teacher id it gets). */
  id: string;
  predictions: readonly Prediction[];
  /** Relative weight (normalised over the sets that predict a row). */
  weight: number;
}

/**
 * Blends prediction sets row by row, `Σ weight·probs / Σ weight`, through {@link ensembleTeacher}
 * (a row's label is the argmax of the blend). Rows no set predicts are left out.
 *
 * @example
 * ```ts
 * const blended = await blendPredictions(test, [{ id: 'student', predictions: s, weight: 0.7 }, { id: 'knn', predictions: k, weight: 0.3 }]);
 * ```
 */
export function blendPredictions(rows: readonly Sample[], sets: readonly WeightedPredictions[]): Promise<Prediction[]> {
  return ensembleTeacher(sets.map((s) => fixedTeacher(s.id, s.predictions)), sets.map((s) => s.weight)).label(rows);
}

/**
 * The self-distillation stage: a teacher's probabilities for the unlabelled rows become their soft
 * labels, and a student is trained on the labelled rows and those rows together (cached, as
 * {@link trainStudentStage}; `alpha` and `temperature` of the options set the distillation loss).
 * Unlabelled rows the teacher did not label are left out; its labels of other rows are ignored.
 *
 * @example
 * ```ts
 * const teacher = await blendPredictions(test, [{ id: 'student', predictions: first, weight: 0.7 }, { id: 'knn', predictions: knn, weight: 0.3 }]);
 * const { student } = await distillStudentStage(ctx, { labelled: train, unlabelled: test, teacher }, { alpha: 0.5, temperature: 2 });
 * ```
 */
export function distillStudentStage(ctx: StageContext, input: { labelled: readonly Sample[]; unlabelled: readonly Sample[]; teacher: readonly Prediction[] }, options: StudentOptions = {}): Promise<{ student: Student; text: string }> {
  const wanted = new Set(input.unlabelled.map((s) => s.id));
  const soft = new Map(input.teacher.filter((p) => p.probs !== undefined && wanted.has(p.id)).map((p) => [p.id, p.probs!]));
  const unlabelled = input.unlabelled.filter((s) => soft.has(s.id));
  return trainStudentStage(ctx, [...input.labelled, ...unlabelled], { ...options, soft });
}
