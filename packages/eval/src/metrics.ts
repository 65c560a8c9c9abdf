import { ConfigValidationError } from '@llm-ir/core';
import { npAverage, pairwiseSum } from './internal/numpy-sum.ts';

/**
 * What to do where a score divides by zero (a class never predicted has no precision, a class
 * never in the gold has no recall), as scikit-learn's `zero_division`:
 * `'warn'` and `0` give 0, `1` gives 1, `NaN` gives NaN and leaves the class out of averages.
 * Every case is reported in the result's `warnings` whichever value is chosen.
 */
export type ZeroDivision = 'warn' | 0 | 1 | number;

/** Options shared by the metric functions. */
export interface MetricOptions {
  /**
   * Labels to score, in this order. Default: the sorted union of gold and predicted labels
   * (scikit-learn's `unique_labels`, sorted by code point).
   */
  labels?: readonly string[];
  /** See {@link ZeroDivision}. @default 'warn' */
  zeroDivision?: ZeroDivision;
}

/** Scores of one class. */
export interface ClassScore {
  /** The class. */
  label: string;
  /** tp / (tp + fp). */
  precision: number;
  /** tp / (tp + fn). */
  recall: number;
  /** Harmonic mean of precision and recall. */
  f1: number;
  /** Gold rows of this class. */
  support: number;
  /** Rows predicted as this class. */
  predicted: number;
  /** Correctly predicted rows of this class. */
  truePositives: number;
}

/** An averaged precision / recall / F1. */
export interface AveragedScore {
  /** Averaged precision. */
  precision: number;
  /** Averaged recall. */
  recall: number;
  /** Averaged F1. */
  f1: number;
}

/** Everything scikit-learn's `classification_report` and `confusion_matrix` give, in one object. */
export interface ClassificationReport {
  /** Labels scored, in order (rows and columns of `confusion`). */
  labels: string[];
  /** Per-class scores, in `labels` order. */
  perClass: ClassScore[];
  /** Fraction of rows with gold == predicted (all rows, whatever `labels` says). */
  accuracy: number;
  /** Unweighted mean over classes. */
  macro: AveragedScore;
  /** Mean over classes weighted by support (the challenge's F1). */
  weighted: AveragedScore;
  /** Global counts over the scored labels. */
  micro: AveragedScore;
  /** Confusion matrix: `confusion[i][j]` rows of gold `labels[i]` predicted `labels[j]`. */
  confusion: number[][];
  /** Rows scored. */
  n: number;
  /** Which classes hit a zero division, in scikit-learn's words. */
  warnings: string[];
}

function compareCodePoints(a: string, b: string): number {
  // numpy sorts unicode strings by code point; JS `<` compares UTF-16 units (differs for astral characters)
  const ai = a[Symbol.iterator]();
  const bi = b[Symbol.iterator]();
  for (;;) {
    const x = ai.next();
    const y = bi.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** scikit-learn's `unique_labels` for string labels: the sorted union, by code point. */
export function uniqueLabels(...lists: ReadonlyArray<readonly string[]>): string[] {
  const set = new Set<string>();
  for (const l of lists) for (const x of l) set.add(x);
  return [...set].sort(compareCodePoints);
}

function checkInputs(yTrue: readonly string[], yPred: readonly string[]): void {
  if (yTrue.length !== yPred.length) {
    throw new ConfigValidationError({ issues: [{ path: 'yPred', message: `has ${yPred.length} labels but yTrue has ${yTrue.length}` }] });
  }
}

/** Per-label counts: the sufficient statistics of every metric here. */
export interface LabelCounts {
  /** Labels counted, in order. */
  labels: string[];
  /** Correct predictions per label. */
  tp: Float64Array;
  /** Predictions per label. */
  pred: Float64Array;
  /** Gold rows per label. */
  true: Float64Array;
  /** Rows where gold == predicted (over all rows). */
  correct: number;
  /** Rows. */
  n: number;
}

/** Counts tp, predicted and gold rows per label in one pass (labels outside `labels` are ignored). */
export function countLabels(yTrue: readonly string[], yPred: readonly string[], labels?: readonly string[]): LabelCounts {
  return tally(yTrue, yPred, labels, false).counts;
}

/** The one counting pass behind `countLabels` and `classificationReport`; with `confusion`, also the k x k matrix (row-major). */
function tally(yTrue: readonly string[], yPred: readonly string[], labels: readonly string[] | undefined, confusion: boolean): { counts: LabelCounts; flat?: Float64Array } {
  checkInputs(yTrue, yPred);
  const list = labels ? [...labels] : uniqueLabels(yTrue, yPred);
  const index = new Map<string, number>();
  list.forEach((l, i) => {
    if (!index.has(l)) index.set(l, i);
  });
  const k = list.length;
  const flat = confusion ? new Float64Array(k * k) : undefined;
  const tp = new Float64Array(k);
  const pred = new Float64Array(k);
  const tru = new Float64Array(k);
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    const ti = index.get(t);
    const same = t === p;
    const pi = same ? ti : index.get(p);
    if (same) correct++;
    if (ti !== undefined) {
      tru[ti]!++;
      if (same) tp[ti]!++;
    }
    if (pi !== undefined) {
      pred[pi]!++;
      if (flat && ti !== undefined) flat[ti * k + pi]!++;
    }
  }
  const counts = { labels: list, tp, pred, true: tru, correct, n: yTrue.length };
  return flat ? { counts, flat } : { counts };
}

function zeroValue(z: ZeroDivision): number {
  return z === 'warn' || z === 0 ? 0 : z === 1 ? 1 : Number.isNaN(z) ? Number.NaN : (() => {
    throw new ConfigValidationError({ issues: [{ path: 'zeroDivision', message: `must be 'warn', 0, 1 or NaN, got ${z}` }] });
  })();
}

interface PrfArrays {
  precision: number[];
  recall: number[];
  f1: number[];
  warnings: string[];
}

function prf(counts: Pick<LabelCounts, 'labels' | 'tp' | 'pred' | 'true'>, zeroDivision: ZeroDivision): PrfArrays {
  const z = zeroValue(zeroDivision);
  const k = counts.labels.length;
  const precision: number[] = new Array(k);
  const recall: number[] = new Array(k);
  const f1: number[] = new Array(k);
  const noPred: string[] = [];
  const noTrue: string[] = [];
  for (let i = 0; i < k; i++) {
    const tp = counts.tp[i]!;
    const pr = counts.pred[i]!;
    const tr = counts.true[i]!;
    if (pr === 0) noPred.push(counts.labels[i]!);
    if (tr === 0) noTrue.push(counts.labels[i]!);
    const p = pr === 0 ? z : tp / pr;
    const r = tr === 0 ? z : tp / tr;
    precision[i] = p;
    recall[i] = r;
    if (Number.isNaN(z)) {
      // scikit-learn >= 1.3 with zero_division=nan: F from counts, NaN only when the class is in neither
      const denom = tr + pr;
      f1[i] = denom === 0 ? Number.NaN : (2 * tp) / denom;
    } else {
      // scikit-learn 1.2: F = (1 + b^2) p r / (b^2 p + r), a zero denominator replaced by 1
      const denom = p + r;
      f1[i] = ((2 * p) * r) / (denom === 0 ? 1 : denom);
    }
  }
  const zs = Number.isNaN(z) ? 'nan' : z.toFixed(1);
  const warnings: string[] = [];
  if (noPred.length) warnings.push(`Precision is ill-defined and being set to ${zs} in labels with no predicted samples: ${noPred.join(', ')}`);
  if (noTrue.length) warnings.push(`Recall is ill-defined and being set to ${zs} in labels with no true samples: ${noTrue.join(', ')}`);
  return { precision, recall, f1, warnings };
}

function nanAverage(a: number[], weights?: number[]): number {
  if (a.length === 0) return Number.NaN;
  const keep = a.map((x) => !Number.isNaN(x));
  if (!keep.some(Boolean)) return Number.NaN;
  const av = a.filter((_, i) => keep[i]);
  if (weights === undefined) return npAverage(av);
  const w = weights.filter((_, i) => keep[i]);
  if (pairwiseSum(w) === 0) return npAverage(av);
  return npAverage(av, w);
}

/** Which average {@link precisionRecallF1} computes. */
export type Average = 'weighted' | 'macro' | 'micro';

/**
 * scikit-learn's `precision_recall_fscore_support(y_true, y_pred, average=..., labels=...,
 * zero_division=...)` (beta = 1) for string labels. Values equal scikit-learn's to the last bit on
 * the cases our cross-check covers (summation order reproduces numpy's pairwise sums).
 */
export function precisionRecallF1(
  yTrue: readonly string[],
  yPred: readonly string[],
  options: MetricOptions & { average: Average },
): AveragedScore & { warnings: string[] } {
  return averageCounts(countLabels(yTrue, yPred, options.labels), options.average, options.zeroDivision ?? 'warn');
}

/** Averages per-label counts as scikit-learn does (see {@link precisionRecallF1}). */
export function averageCounts(counts: Pick<LabelCounts, 'labels' | 'tp' | 'pred' | 'true'>, average: Average, zeroDivision: ZeroDivision = 'warn'): AveragedScore & { warnings: string[] } {
  const z = zeroValue(zeroDivision);
  if (average === 'micro') {
    const sum = (a: Float64Array) => pairwiseSum(a);
    const one = { labels: ['micro'], tp: Float64Array.of(sum(counts.tp)), pred: Float64Array.of(sum(counts.pred)), true: Float64Array.of(sum(counts.true)) };
    const r = prf(one, zeroDivision);
    return { precision: r.precision[0]!, recall: r.recall[0]!, f1: r.f1[0]!, warnings: r.warnings.map((w) => w.replace(/: micro$/, '')) };
  }
  const r = prf(counts, zeroDivision);
  if (average === 'weighted') {
    const weights = Array.from(counts.true);
    if (!Number.isNaN(z) && pairwiseSum(weights) === 0) {
      // scikit-learn 1.2: no gold row among the scored labels
      if (pairwiseSum(counts.pred) === 0) return { precision: z, recall: z, f1: z, warnings: r.warnings };
      return { precision: 0, recall: z, f1: 0, warnings: r.warnings };
    }
    if (Number.isNaN(z)) return { precision: nanAverage(r.precision, weights), recall: nanAverage(r.recall, weights), f1: nanAverage(r.f1, weights), warnings: r.warnings };
    return { precision: npAverage(r.precision, weights), recall: npAverage(r.recall, weights), f1: npAverage(r.f1, weights), warnings: r.warnings };
  }
  const avg = Number.isNaN(z) ? (a: number[]) => nanAverage(a) : (a: number[]) => npAverage(a);
  return { precision: avg(r.precision), recall: avg(r.recall), f1: avg(r.f1), warnings: r.warnings };
}

/** scikit-learn's `f1_score(y_true, y_pred, average=...)` (default `'weighted'`, the challenge's). */
export function f1Score(yTrue: readonly string[], yPred: readonly string[], options: MetricOptions & { average?: Average } = {}): number {
  return precisionRecallF1(yTrue, yPred, { ...options, average: options.average ?? 'weighted' }).f1;
}

/** scikit-learn's `accuracy_score`. */
export function accuracyScore(yTrue: readonly string[], yPred: readonly string[]): number {
  checkInputs(yTrue, yPred);
  let c = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) c++;
  return c / yTrue.length;
}

/** scikit-learn's `confusion_matrix(y_true, y_pred, labels=...)`: rows gold, columns predicted. */
export function confusionMatrix(yTrue: readonly string[], yPred: readonly string[], options: Pick<MetricOptions, 'labels'> = {}): { labels: string[]; matrix: number[][] } {
  checkInputs(yTrue, yPred);
  const labels = options.labels ? [...options.labels] : uniqueLabels(yTrue, yPred);
  const index = new Map(labels.map((l, i) => [l, i]));
  const k = labels.length;
  const flat = new Float64Array(k * k);
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]!);
    const p = index.get(yPred[i]!);
    if (t !== undefined && p !== undefined) flat[t * k + p]!++;
  }
  return { labels, matrix: Array.from({ length: k }, (_, i) => Array.from(flat.subarray(i * k, (i + 1) * k))) };
}

/**
 * Everything at once: per-class precision, recall, F1 and support, accuracy, macro / weighted /
 * micro averages, the confusion matrix and zero-division warnings (scikit-learn's
 * `classification_report(output_dict=True)` plus `confusion_matrix`), in one pass over the rows.
 *
 * @example
 * ```ts
 * const r = classificationReport(gold, predicted);
 * r.weighted.f1; // the challenge's weighted F1
 * r.perClass.filter((c) => c.f1 < 0.5); // weak classes
 * ```
 */
export function classificationReport(yTrue: readonly string[], yPred: readonly string[], options: MetricOptions = {}): ClassificationReport {
  const zd = options.zeroDivision ?? 'warn';
  const { counts, flat } = tally(yTrue, yPred, options.labels, true);
  const { labels, tp, pred, true: tru, correct } = counts;
  const k = labels.length;
  const per = prf(counts, zd);
  const strip = ({ warnings: _w, ...s }: AveragedScore & { warnings: string[] }): AveragedScore => s;
  return {
    labels,
    perClass: labels.map((label, i) => ({
      label,
      precision: per.precision[i]!,
      recall: per.recall[i]!,
      f1: per.f1[i]!,
      support: tru[i]!,
      predicted: pred[i]!,
      truePositives: tp[i]!,
    })),
    accuracy: yTrue.length === 0 ? Number.NaN : correct / yTrue.length,
    macro: strip(averageCounts(counts, 'macro', zd)),
    weighted: strip(averageCounts(counts, 'weighted', zd)),
    micro: strip(averageCounts(counts, 'micro', zd)),
    confusion: Array.from({ length: k }, (_, i) => Array.from(flat!.subarray(i * k, (i + 1) * k))),
    n: yTrue.length,
    warnings: per.warnings,
  };
}
