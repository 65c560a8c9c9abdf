import { LlmIrError, labelSetOf, type Task } from '@llm-ir/core';
import { bootstrap, MISSING_PREDICTION, percentileInterval, scoredLabels } from './bootstrap.ts';
import { classificationReport, precisionRecallF1, type ClassificationReport } from './metrics.ts';

/** A gold row: id, task and canonical label. */
export interface GoldRow {
  /** Row id. */
  id: string;
  /** Task of the row. */
  task: Task;
  /** Gold label. */
  label: string;
}

/** A predicted row. */
export interface PredictedRow {
  /** Row id. */
  id: string;
  /** Predicted label. */
  label: string;
}

/** Scores of one task (or of all rows pooled). Fractions in [0, 1]; NaN where a task has no row. */
export interface TaskScore {
  /** Weighted F1 (the challenge's metric). */
  weightedF1: number;
  /** Macro F1. */
  macroF1: number;
  /** Micro F1. */
  microF1: number;
  /** Weighted precision. */
  precision: number;
  /** Weighted recall. */
  recall: number;
  /** Accuracy (missing predictions count as wrong). */
  accuracy: number;
  /** Gold rows. */
  n: number;
  /** Bootstrap percentile interval of `weightedF1` (null without bootstrap or rows). */
  ci95: [number, number] | null;
}

/** The challenge score of a prediction set. */
export interface ChallengeScore {
  /** Image-scene task. */
  scene: TaskScore;
  /** Dialogue-intent task. */
  intent: TaskScore;
  /** Mean of the tasks' weighted F1 (the headline; of the one task present if only one is). */
  average: number;
  /** Bootstrap interval of `average` (tasks resampled independently). */
  averageCi95: [number, number] | null;
  /** All rows pooled into one label set. */
  pooled: TaskScore;
  /** Gold ids with no prediction (scored as wrong). */
  missing: string[];
  /** Predicted ids not in the gold (ignored). */
  unknown: string[];
  /** Predicted ids that are gold ids once surrounding whitespace is removed (not matched: fix the file). */
  paddedIds: string[];
  /** Predictions whose label is not in their row's task label set (scored as wrong). */
  offLabelSet: Array<{ id: string; label: string }>;
  /** Full per-class reports. */
  reports: { scene: ClassificationReport; intent: ClassificationReport; pooled: ClassificationReport };
}

/** Options of {@link scoreChallenge}. */
export interface ScoreOptions {
  /** Bootstrap resamples for the intervals; 0 turns them off. @default 1000 */
  resamples?: number;
  /** Seed of the bootstrap. @default 0 */
  seed?: number | string;
  /** Interval coverage. @default 0.95 */
  confidence?: number;
}

export { MISSING_PREDICTION } from './bootstrap.ts';

/**
 * Joins predictions to gold rows by id.
 *
 * @throws {LlmIrError} `duplicate-id` when a prediction id repeats.
 */
export function alignPredictions(gold: readonly GoldRow[], predictions: readonly PredictedRow[]): { predicted: string[]; missing: string[]; unknown: string[]; paddedIds: string[] } {
  const byId = new Map<string, string>();
  for (const p of predictions) {
    if (byId.has(p.id)) throw new LlmIrError({ code: 'duplicate-id', message: `prediction id ${JSON.stringify(p.id)} appears more than once`, id: p.id });
    byId.set(p.id, p.label);
  }
  const goldIds = new Set(gold.map((g) => g.id));
  const missing: string[] = [];
  const predicted = gold.map((g) => {
    const p = byId.get(g.id);
    if (p === undefined) {
      missing.push(g.id);
      return MISSING_PREDICTION;
    }
    return p;
  });
  const unknown = predictions.filter((p) => !goldIds.has(p.id)).map((p) => p.id);
  const paddedIds = unknown.filter((id) => id.trim() !== id && goldIds.has(id.trim()));
  return { predicted, missing, unknown, paddedIds };
}

function taskScore(report: ClassificationReport, part: { gold: string[]; pred: string[] }, ci: [number, number] | null): TaskScore {
  // micro F1 counts a missing prediction as a wrong answer (so it equals accuracy, as it does in
  // scikit-learn when every row has a prediction); the per-class averages leave the stand-in out
  const micro = part.pred.includes(MISSING_PREDICTION)
    ? precisionRecallF1(part.gold, part.pred, { labels: [...report.labels, MISSING_PREDICTION], average: 'micro', zeroDivision: 0 }).f1
    : report.micro.f1;
  return {
    weightedF1: report.n ? report.weighted.f1 : Number.NaN,
    macroF1: report.n ? report.macro.f1 : Number.NaN,
    microF1: report.n ? micro : Number.NaN,
    precision: report.n ? report.weighted.precision : Number.NaN,
    recall: report.n ? report.weighted.recall : Number.NaN,
    accuracy: report.accuracy,
    n: report.n,
    ci95: ci,
  };
}

/**
 * The WWW 2025 challenge score: weighted F1 per task (scene, intent), their mean (the headline;
 * multiply by 100 for the paper's numbers) and the pooled weighted F1 over all rows, plus macro /
 * micro F1, weighted precision and recall, accuracy, and seeded bootstrap percentile intervals.
 * Missing predictions count as wrong and are listed; predictions for unknown ids are listed and
 * ignored (`paddedIds` lists those that differ from a gold id by whitespace only); labels outside
 * the task's label set count as wrong and are listed in `offLabelSet`. Label sets per task are the union of gold and predicted labels (scikit-learn's rule).
 *
 * @throws {LlmIrError} `duplicate-id` when a prediction id repeats.
 * @example
 * ```ts
 * const s = scoreChallenge(gold, predictions, { resamples: 1000, seed: 0 });
 * console.log((100 * s.average).toFixed(2), s.averageCi95);
 * ```
 */
export function scoreChallenge(gold: readonly GoldRow[], predictions: readonly PredictedRow[], options: ScoreOptions = {}): ChallengeScore {
  const { predicted, missing, unknown, paddedIds } = alignPredictions(gold, predictions);
  const offLabelSet = gold.flatMap((g, i) => (predicted[i] !== MISSING_PREDICTION && !labelSetOf(g.task).has(predicted[i]!) ? [{ id: g.id, label: predicted[i]! }] : []));
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const byTask = (task: Task | 'pooled') => {
    const idx = gold.map((g, i) => (task === 'pooled' || g.task === task ? i : -1)).filter((i) => i >= 0);
    return { gold: idx.map((i) => gold[i]!.label), pred: idx.map((i) => predicted[i]!) };
  };
  const parts = { scene: byTask('scene'), intent: byTask('intent'), pooled: byTask('pooled') };
  const reports = {
    scene: classificationReport(parts.scene.gold, parts.scene.pred, { labels: scoredLabels(parts.scene.gold, parts.scene.pred), zeroDivision: 0 }),
    intent: classificationReport(parts.intent.gold, parts.intent.pred, { labels: scoredLabels(parts.intent.gold, parts.intent.pred), zeroDivision: 0 }),
    pooled: classificationReport(parts.pooled.gold, parts.pooled.pred, { labels: scoredLabels(parts.pooled.gold, parts.pooled.pred), zeroDivision: 0 }),
  };
  const present = (['scene', 'intent'] as const).filter((t) => reports[t].n > 0);
  const average = present.length === 0 ? Number.NaN : present.reduce((a, t) => a + reports[t].weighted.f1, 0) / present.length;

  let ci: Record<'scene' | 'intent' | 'pooled' | 'average', [number, number] | null> = { scene: null, intent: null, pooled: null, average: null };
  if (resamples > 0 && gold.length > 0) {
    const draws = bootstrap({ gold, systems: [predicted], resamples, seed: options.seed ?? 0 }).draws[0]!;
    ci = {
      scene: reports.scene.n ? percentileInterval(draws.scene, confidence) : null,
      intent: reports.intent.n ? percentileInterval(draws.intent, confidence) : null,
      pooled: percentileInterval(draws.pooled, confidence),
      average: present.length ? percentileInterval(draws.average, confidence) : null,
    };
  }
  return {
    scene: taskScore(reports.scene, parts.scene, ci.scene),
    intent: taskScore(reports.intent, parts.intent, ci.intent),
    average,
    averageCi95: ci.average,
    pooled: taskScore(reports.pooled, parts.pooled, ci.pooled),
    missing,
    unknown,
    paddedIds,
    offLabelSet,
    reports,
  };
}
