// @llm-ir/eval/metrics: every scikit-learn-exact metric, prediction alignment, McNemar, percentile intervals.
export { precisionRecallF1, averageCounts, countLabels, f1Score, accuracyScore, confusionMatrix, uniqueLabels } from '../metrics.ts';
export type { AveragedScore, MetricOptions, ZeroDivision, Average, LabelCounts } from '../metrics.ts';
export { alignPredictions, MISSING_PREDICTION } from '../score.ts';
export { percentileInterval } from '../bootstrap.ts';
export { mcnemar } from '../compare.ts';
export type { McNemarResult } from '../compare.ts';
