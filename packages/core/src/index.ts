// @llm-ir/core: the data model, errors, labels, loading rows, submission and prediction files, splits, validation.
// More in the subpath exports: `@llm-ir/core/challenge` (the challenge prompt format in detail (parse / write rows, frames, placeholders), label matching, dataset writers, row validation, lineage), `@llm-ir/core/io` (JSONL / JSON / CSV streams, atomic writes, hashing, image path and size checks, shards), `@llm-ir/core/run` (the artifact cache, run records, progress reporters, the seeded RNG, small statistics).
export type { Task, ImageRef, Turn, OcrLine, PromptFrame, Sample, Prediction, ChallengeRow, Classifier, FitOptions } from './types.ts';
export { TASKS } from './types.ts';
export { LlmIrError, ConfigValidationError } from './errors.ts';
export type { CoreErrorCode, LlmIrErrorOptions } from './errors.ts';
export { SCENE_LABELS, INTENT_LABELS, labelSetOf } from './labels.ts';
export type { LabelInfo, LabelSet } from './labels.ts';
export { readSamples, loadSamples } from './dataset.ts';
export type { LoadedSamples } from './dataset.ts';
export { readSubmissionCsv, writeSubmissionCsv, readPredictionsJsonl, writePredictionsJsonl } from './io.ts';
export type { SubmissionRow } from './io.ts';
export type { ProgressEvent, ProgressCallback } from './progress.ts';
export { stratifiedKFold, stratifiedSplit } from './split.ts';
export type { KFoldOptions, SplitOptions } from './split.ts';
export { validateFile } from './validate.ts';
export type { Problem, ValidateOptions } from './validate.ts';
export { summarizeSamples } from './inspect.ts';
export type { DatasetSummary } from './inspect.ts';
export type { StageContext, Stage } from './stage.ts';
