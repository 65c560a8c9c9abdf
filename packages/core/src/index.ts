export type { Task, ImageRef, Turn, OcrLine, PromptFrame, Sample, Prediction, ChallengeRow, Classifier, FitOptions } from './types.ts';
export { TASKS } from './types.ts';
export { LlmIrError, ConfigValidationError, toLlmIrError } from './errors.ts';
export type { CoreErrorCode, LlmIrErrorOptions } from './errors.ts';
export { SCENE_LABELS, INTENT_LABELS, labelSetOf, createLabelSet, matchLabel, normalizeLabelText } from './labels.ts';
export type { LabelInfo, LabelSet, LabelMatch } from './labels.ts';
export {
  IMAGE_PLACEHOLDER,
  DIALOGUE_START,
  DIALOGUE_END,
  OFFICIAL_INTENT_FRAME,
  OFFICIAL_SCENE_FRAME,
  parseChallengeRow,
  safeParseChallengeRow,
  writeChallengeRow,
  renderInstruction,
  renderContent,
  officialFrame,
  countPlaceholders,
  detectTask,
  sampleImages,
  imageOcr,
  isKnownLabel,
} from './challenge.ts';
export type { RowLocation } from './challenge.ts';
export { readSamples, loadSamples, writeChallengeFile, writeSamplesJsonl, sampleSchema } from './dataset.ts';
export type { LoadedSamples } from './dataset.ts';
export {
  readLines,
  readJsonl,
  readJsonArray,
  writeJsonl,
  toJsonl,
  readSubmissionCsv,
  writeSubmissionCsv,
  formatSubmissionCsv,
  readPredictionsJsonl,
  writePredictionsJsonl,
  collect,
} from './io.ts';
export type { RowResult, ReadOptions, SubmissionRow } from './io.ts';
export { writeFileAtomic, writeStreamAtomic } from './fs-atomic.ts';
export { sha256, sha256File, hashValue, stableStringify } from './hash.ts';
export { openArtifactCache } from './cache.ts';
export type { ArtifactCache, ArtifactCacheOptions, CacheKeyParts, CacheStats } from './cache.ts';
export { createRunRecord, readRunInfo, CORE_VERSION } from './run-record.ts';
export type { RunRecord, RunInfo, RunStatus, MetricPoint, CreateRunOptions } from './run-record.ts';
export { startProgress } from './progress.ts';
export type { ProgressEvent, ProgressCallback, ProgressReporter } from './progress.ts';
export { createRng, hashSeed } from './rng.ts';
export type { Rng } from './rng.ts';
export { stratifiedKFold, stratifiedSplit, lineageRoots } from './split.ts';
export type { KFoldOptions, SplitOptions } from './split.ts';
export { resolveImagePath, checkImage, DEFAULT_IMAGE_LIMITS } from './images.ts';
export type { ImageLimits, ImageInfo } from './images.ts';
export { validateRows, validateFile } from './validate.ts';
export type { Problem, ValidateOptions } from './validate.ts';
export { summarizeSamples, numberStats, quantile } from './inspect.ts';
export type { DatasetSummary, NumberStats } from './inspect.ts';
export { parseShard, inShard } from './shard.ts';
export type { Shard } from './shard.ts';
export type { StageContext, Stage } from './stage.ts';
