import type { Task } from '@llm-ir/core';
import { bootstrap, percentileInterval, type BootstrapKey } from './bootstrap.ts';
import { binomialTwoSidedHalf, chiSquareSf } from './internal/stats.ts';
import { alignPredictions, type GoldRow, type PredictedRow } from './score.ts';

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
  const A = alignPredictions(gold, a);
  const B = alignPredictions(gold, b);
  const boot = bootstrap({ gold, systems: [A.predicted, B.predicted], resamples, seed: options.seed ?? 0 });
  const tasks = boot.tasks;
  const summarize = (key: BootstrapKey): PairedDifference => {
    const da = boot.draws[0]![key];
    const db = boot.draws[1]![key];
    const diff = Float64Array.from(db, (x, i) => x - da[i]!);
    const below = diff.filter((x) => x <= 0).length / resamples;
    const above = diff.filter((x) => x >= 0).length / resamples;
    const pa = boot.point[0]![key];
    const pb = boot.point[1]![key];
    return { a: pa, b: pb, difference: pb - pa, ci95: percentileInterval(diff, conf), pValue: Math.min(1, 2 * Math.min(below, above)) };
  };
  const taskResults: Partial<Record<Task, PairedDifference>> = {};
  for (const t of tasks) taskResults[t] = summarize(t);
  const correct = (pred: string[]) => gold.map((g, i) => g.label === pred[i]);
  const ca = correct(A.predicted);
  const cb = correct(B.predicted);
  const mc: PairedComparison['mcnemar'] = { all: mcnemar(ca, cb) };
  for (const t of tasks) {
    const idx = gold.map((g, i) => (g.task === t ? i : -1)).filter((i) => i >= 0);
    mc[t] = mcnemar(idx.map((i) => ca[i]!), idx.map((i) => cb[i]!));
  }
  return { average: summarize('average'), tasks: taskResults, mcnemar: mc, missing: { a: A.missing, b: B.missing } };
}
