// @llm-ir/core/run: the artifact cache, run records, progress reporters, the seeded RNG, small statistics.
export { toLlmIrError } from '../errors.ts';
export { openArtifactCache } from '../cache.ts';
export type { ArtifactCache, ArtifactCacheOptions, CacheKeyParts, CacheStats } from '../cache.ts';
export { createRunRecord, readRunInfo, CORE_VERSION } from '../run-record.ts';
export type { RunRecord, RunInfo, RunStatus, MetricPoint, CreateRunOptions } from '../run-record.ts';
export { startProgress } from '../progress.ts';
export type { ProgressReporter } from '../progress.ts';
export { createRng, hashSeed } from '../rng.ts';
export type { Rng } from '../rng.ts';
export { numberStats, quantile } from '../inspect.ts';
export type { NumberStats } from '../inspect.ts';
