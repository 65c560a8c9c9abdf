// @llm-ir/core/io: JSONL / JSON / CSV streams, atomic writes, hashing, image path and size checks, shards.
export { readLines, readJsonl, readJsonArray, writeJsonl, toJsonl, formatSubmissionCsv, collect, MAX_LINE_BYTES } from '../io.ts';
export type { RowResult, ReadOptions, OversizedLine } from '../io.ts';
export { writeFileAtomic, writeStreamAtomic } from '../fs-atomic.ts';
export { sha256, sha256File, hashValue, stableStringify } from '../hash.ts';
export { resolveImagePath, checkImage, DEFAULT_IMAGE_LIMITS } from '../images.ts';
export type { ImageLimits, ImageInfo } from '../images.ts';
export { parseShard, inShard } from '../shard.ts';
export type { Shard } from '../shard.ts';
