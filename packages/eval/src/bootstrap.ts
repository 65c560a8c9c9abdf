import { type Task } from '@llm-ir/core';
import { createRng, quantile } from '@llm-ir/core/run';
import { encodeTask, scratch, weightedF1Of, type EncodedTask, type Scratch } from './internal/fast-f1.ts';
import { classificationReport, uniqueLabels } from './metrics.ts';

/** What a bootstrap statistic is computed over: each task, the mean of the tasks, all rows pooled. */
export type BootstrapKey = Task | 'average' | 'pooled';

/** Options of {@link bootstrap}. */
export interface BootstrapOptions {
  /** Gold rows (task and label), in the order the systems' predictions follow. */
  gold: ReadonlyArray<{ task: Task; label: string }>;
  /** Each system's predicted label per gold row (aligned: `systems[s][i]` answers `gold[i]`; a missing prediction is any non-label string). */
  systems: ReadonlyArray<readonly string[]>;
  /** The statistic: the challenge's weighted F1 (zero_division 0). @default 'weighted-f1' */
  statistic?: 'weighted-f1';
  /** Resamples. @default 1000 */
  resamples?: number;
  /** Seed. @default 0 */
  seed?: number | string;
}

/** What {@link bootstrap} returns. */
export interface BootstrapResult {
  /** Tasks that have rows (the `average` is their mean). */
  tasks: Task[];
  /** Each system's exact statistic (scikit-learn's weighted F1, labels = gold ∪ predicted) per key. */
  point: Array<Record<BootstrapKey, number>>;
  /** Each system's statistic on every resample per key (the same resampled rows for every system). */
  draws: Array<Record<BootstrapKey, Float64Array>>;
}

/** Draws `n` indices in [0, n) with replacement. */
function resampleIndices(rng: { int(n: number): number }, n: number, out = new Int32Array(n)): Int32Array {
  for (let i = 0; i < n; i++) out[i] = rng.int(n);
  return out;
}

/** The label standing for a gold row without a prediction (scored as wrong, never a class). */
export const MISSING_PREDICTION = '\u0000missing';

/** The labels a task is scored on: gold ∪ predicted (scikit-learn's rule), missing predictions left out. */
export function scoredLabels(gold: readonly string[], pred: readonly string[]): string[] {
  return uniqueLabels(gold, pred.filter((p) => p !== MISSING_PREDICTION));
}

/**
 * The one bootstrap of the package (scores' intervals, paired comparisons, factorial effects): every
 * resample draws rows with replacement within each task (stratified, one seeded stream per task, so
 * a task's draws do not depend on the other task's size), the same rows for every system, and
 * computes each system's statistic per task, their mean, and over the pooled resampled rows. Point
 * values are the exact metric (scikit-learn's, see `classificationReport`); resampled values use a
 * fast path equal to it up to float summation order.
 *
 * @example
 * ```ts
 * const b = bootstrap({ gold, systems: [predictedA, predictedB], resamples: 2000, seed: 0 });
 * const diff = b.draws[1]!.average.map((x, r) => x - b.draws[0]!.average[r]!);
 * ```
 */
export function bootstrap(options: BootstrapOptions): BootstrapResult {
  const { gold, systems } = options;
  const resamples = options.resamples ?? 1000;
  const rng = createRng(options.seed ?? 0);
  const tasks = (['scene', 'intent'] as const).filter((t) => gold.some((g) => g.task === t));
  const rowsOf = Object.fromEntries(tasks.map((t) => [t, gold.map((g, i) => (g.task === t ? i : -1)).filter((i) => i >= 0)])) as Record<Task, number[]>;
  const goldLabels = gold.map((g) => g.label);
  const pooledRows = tasks.flatMap((t) => rowsOf[t]);
  type Encoded = { task: Record<string, EncodedTask>; pooled: EncodedTask; scratch: Record<string, Scratch> };
  const encoded: Encoded[] = systems.map((pred) => {
    const task: Record<string, EncodedTask> = {};
    const sc: Record<string, Scratch> = {};
    for (const t of tasks) {
      const g = rowsOf[t].map((i) => goldLabels[i]!);
      const p = rowsOf[t].map((i) => pred[i]!);
      task[t] = encodeTask(g, p, scoredLabels(g, p));
      sc[t] = scratch(task[t].k);
    }
    const gp = pooledRows.map((i) => goldLabels[i]!);
    const pp = pooledRows.map((i) => pred[i]!);
    const pooled = encodeTask(gp, pp, scoredLabels(gp, pp));
    sc['pooled'] = scratch(pooled.k);
    return { task, pooled, scratch: sc };
  });
  const exact = (rows: readonly number[], pred: readonly string[]) => {
    const g = rows.map((i) => goldLabels[i]!);
    const p = rows.map((i) => pred[i]!);
    return rows.length ? classificationReport(g, p, { labels: scoredLabels(g, p), zeroDivision: 0 }).weighted.f1 : Number.NaN;
  };
  const point = systems.map((pred) => {
    const r = { scene: Number.NaN, intent: Number.NaN, average: Number.NaN, pooled: exact(pooledRows, pred) } as Record<BootstrapKey, number>;
    for (const t of tasks) r[t] = exact(rowsOf[t], pred);
    r.average = tasks.length ? tasks.reduce((a, t) => a + r[t], 0) / tasks.length : Number.NaN;
    return r;
  });
  const draws = systems.map(() => ({ scene: new Float64Array(resamples), intent: new Float64Array(resamples), average: new Float64Array(resamples), pooled: new Float64Array(resamples) }));
  const streams = Object.fromEntries(tasks.map((t) => [t, rng.fork(t)]));
  const buffers = Object.fromEntries(tasks.map((t) => [t, new Int32Array(rowsOf[t].length)]));
  const pooledIdx = new Int32Array(pooledRows.length);
  for (let b = 0; b < resamples; b++) {
    let offset = 0;
    for (const t of tasks) {
      const idx = resampleIndices(streams[t]!, rowsOf[t].length, buffers[t]);
      // the pooled resample is the union of the tasks' resamples (positions in the pooled encoding)
      for (let i = 0; i < idx.length; i++) pooledIdx[offset + i] = offset + idx[i]!;
      offset += idx.length;
    }
    encoded.forEach((e, s) => {
      let sum = 0;
      for (const t of tasks) {
        const v = weightedF1Of(e.task[t]!, buffers[t], e.scratch[t]!);
        draws[s]![t][b] = v;
        sum += v;
      }
      draws[s]!.average[b] = tasks.length ? sum / tasks.length : Number.NaN;
      draws[s]!.pooled[b] = pooledRows.length ? weightedF1Of(e.pooled, pooledIdx, e.scratch['pooled']!) : Number.NaN;
    });
  }
  return { tasks: [...tasks], point, draws };
}

/** The percentile interval of a sample of draws at `confidence` (e.g. 0.95). */
export function percentileInterval(draws: ArrayLike<number>, confidence: number): [number, number] {
  const sorted = Float64Array.from(draws).sort();
  const alpha = (1 - confidence) / 2;
  return [quantile(sorted, alpha), quantile(sorted, 1 - alpha)];
}
