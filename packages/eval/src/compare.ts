import { createRng, type Task } from '@llm-ir/core';
import { encodeTask, scratch, weightedF1Of, type EncodedTask } from './internal/fast-f1.ts';
import { binomialTwoSidedHalf, chiSquareSf, percentileSorted } from './internal/stats.ts';
import { uniqueLabels } from './metrics.ts';
import { alignPredictions, resampleIndices, type GoldRow, type PredictedRow } from './score.ts';

/** McNemar's test on per-row correctness of two systems. */
export interface McNemarResult {
  /** Rows A got right and B got wrong. */
  aOnly: number;
  /** Rows B got right and A got wrong. */
  bOnly: number;
  /** Rows compared. */
  n: number;
  /** Chi-square statistic with continuity correction (also given when the exact test is used). */
  statistic: number;
  /** Two-sided p-value. */
  pValue: number;
  /** `exact-binomial` when discordant pairs are few (< `exactBelow`), else `chi-square-cc`. */
  method: 'exact-binomial' | 'chi-square-cc';
}

/**
 * McNemar's test of two systems' per-row correctness: the exact binomial test (p = 0.5) on the
 * discordant pairs when they are few, the continuity-corrected chi-square test otherwise.
 */
export function mcnemar(aCorrect: readonly boolean[], bCorrect: readonly boolean[], options: { exactBelow?: number } = {}): McNemarResult {
  let aOnly = 0;
  let bOnly = 0;
  for (let i = 0; i < aCorrect.length; i++) {
    if (aCorrect[i] && !bCorrect[i]) aOnly++;
    else if (!aCorrect[i] && bCorrect[i]) bOnly++;
  }
  const d = aOnly + bOnly;
  const statistic = d === 0 ? 0 : (Math.abs(aOnly - bOnly) - 1) ** 2 / d;
  const exact = d < (options.exactBelow ?? 25);
  return {
    aOnly,
    bOnly,
    n: aCorrect.length,
    statistic: Math.max(0, statistic),
    pValue: d === 0 ? 1 : exact ? binomialTwoSidedHalf(aOnly, d) : chiSquareSf(Math.max(0, statistic), 1),
    method: exact ? 'exact-binomial' : 'chi-square-cc',
  };
}

/** A paired difference B - A with its bootstrap interval. */
export interface PairedDifference {
  /** Score of A. */
  a: number;
  /** Score of B. */
  b: number;
  /** B - A. */
  difference: number;
  /** Percentile interval of the difference. */
  ci95: [number, number];
  /** Two-sided bootstrap p-value: 2 x the share of resamples on the other side of 0 (capped at 1). */
  pValue: number;
}

/** What {@link compareRuns} reports. */
export interface PairedComparison {
  /** Headline (mean of the tasks' weighted F1). */
  average: PairedDifference;
  /** Per task, where the task has rows. */
  tasks: Partial<Record<Task, PairedDifference>>;
  /** McNemar on correctness over all rows, and per task. */
  mcnemar: { all: McNemarResult } & Partial<Record<Task, McNemarResult>>;
  /** Gold ids missing from A and from B (scored as wrong). */
  missing: { a: string[]; b: string[] };
}

/**
 * Compares two prediction sets on the same gold rows: a paired bootstrap of the headline and of
 * each task's weighted F1 (the same resampled rows for both, stratified by task), and McNemar's
 * test on per-row correctness (exact when discordant pairs are few).
 */
export function compareRuns(
  gold: readonly GoldRow[],
  a: readonly PredictedRow[],
  b: readonly PredictedRow[],
  options: { resamples?: number; seed?: number | string; confidence?: number } = {},
): PairedComparison {
  const resamples = options.resamples ?? 2000;
  const conf = options.confidence ?? 0.95;
  const rng = createRng(options.seed ?? 0);
  const A = alignPredictions(gold, a);
  const B = alignPredictions(gold, b);
  const tasks = (['scene', 'intent'] as const).filter((t) => gold.some((g) => g.task === t));
  const enc: Record<string, { a: EncodedTask; b: EncodedTask; idx: number[] }> = {};
  for (const t of tasks) {
    const idx = gold.map((g, i) => (g.task === t ? i : -1)).filter((i) => i >= 0);
    const g = idx.map((i) => gold[i]!.label);
    const labels = uniqueLabels(g);
    enc[t] = { a: encodeTask(g, idx.map((i) => A.predicted[i]!), labels), b: encodeTask(g, idx.map((i) => B.predicted[i]!), labels), idx };
  }
  const point = (t: string, which: 'a' | 'b') => weightedF1Of(enc[t]![which], undefined, scratch(enc[t]![which].k));
  const dists: Record<string, { a: Float64Array; b: Float64Array }> = {};
  for (const key of [...tasks, 'average']) dists[key] = { a: new Float64Array(resamples), b: new Float64Array(resamples) };
  const buffers = Object.fromEntries(tasks.map((t) => [t, new Int32Array(enc[t]!.idx.length)]));
  const sa = Object.fromEntries(tasks.map((t) => [t, scratch(enc[t]!.a.k)]));
  const streams = Object.fromEntries(tasks.map((t) => [t, rng.fork(t)]));
  for (let r = 0; r < resamples; r++) {
    let sumA = 0;
    let sumB = 0;
    for (const t of tasks) {
      const idx = resampleIndices(streams[t]!, enc[t]!.idx.length, buffers[t]);
      const va = weightedF1Of(enc[t]!.a, idx, sa[t]!);
      const vb = weightedF1Of(enc[t]!.b, idx, sa[t]!);
      dists[t]!.a[r] = va;
      dists[t]!.b[r] = vb;
      sumA += va;
      sumB += vb;
    }
    dists['average']!.a[r] = sumA / tasks.length;
    dists['average']!.b[r] = sumB / tasks.length;
  }
  const summarize = (key: string, pa: number, pb: number): PairedDifference => {
    const d = dists[key]!;
    const diff = Float64Array.from(d.b, (x, i) => x - d.a[i]!).sort();
    const below = diff.filter((x) => x <= 0).length / resamples;
    const above = diff.filter((x) => x >= 0).length / resamples;
    const alpha = (1 - conf) / 2;
    return { a: pa, b: pb, difference: pb - pa, ci95: [percentileSorted(diff, alpha), percentileSorted(diff, 1 - alpha)], pValue: Math.min(1, 2 * Math.min(below, above)) };
  };
  const taskResults: Partial<Record<Task, PairedDifference>> = {};
  for (const t of tasks) taskResults[t] = summarize(t, point(t, 'a'), point(t, 'b'));
  const avgA = tasks.reduce((s, t) => s + taskResults[t]!.a, 0) / tasks.length;
  const avgB = tasks.reduce((s, t) => s + taskResults[t]!.b, 0) / tasks.length;
  const correct = (pred: string[]) => gold.map((g, i) => g.label === pred[i]);
  const ca = correct(A.predicted);
  const cb = correct(B.predicted);
  const mc: PairedComparison['mcnemar'] = { all: mcnemar(ca, cb) };
  for (const t of tasks) {
    const idx = enc[t]!.idx;
    mc[t] = mcnemar(idx.map((i) => ca[i]!), idx.map((i) => cb[i]!));
  }
  return { average: summarize('average', avgA, avgB), tasks: taskResults, mcnemar: mc, missing: { a: A.missing, b: B.missing } };
}
