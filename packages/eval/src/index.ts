// @llm-ir/eval: scoring the challenge, per-class reports, paired comparison, component effects, bootstrap, Table 1 / Table 2, the HTML report.
// More in the subpath exports: `@llm-ir/eval/metrics` (every scikit-learn-exact metric, prediction alignment, McNemar, percentile intervals), `@llm-ir/eval/report` (tables as CSV / HTML, error slices, the Vega-Lite chart specs and their SVG rendering).
export { classificationReport } from './metrics.ts';
export type { ClassificationReport, ClassScore } from './metrics.ts';
export { scoreChallenge } from './score.ts';
export type { ChallengeScore, TaskScore, GoldRow, PredictedRow, ScoreOptions } from './score.ts';
export { bootstrap } from './bootstrap.ts';
export type { BootstrapOptions, BootstrapResult, BootstrapKey } from './bootstrap.ts';
export { compareRuns } from './compare.ts';
export type { PairedComparison, PairedDifference } from './compare.ts';
export { estimateEffects } from './effects.ts';
export type { EffectsResult, Effect, FactorialRun } from './effects.ts';
export { readRunResults, toRunSummary, table1, table2, tableToMarkdown } from './ablation.ts';
export type { RunSummary, RunResult, CheckpointScore, Table } from './ablation.ts';
export { errorSlices } from './slices.ts';
export { scoreStage } from './stage.ts';
export type { ScoreStageInput } from './stage.ts';
export { renderReport, writeReport } from './report.ts';
export type { ReportInput } from './report.ts';
export { loadGold, loadPredictions } from './files.ts';
