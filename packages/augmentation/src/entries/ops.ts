// @llm-ir/augmentation/ops: the individual image and text operations, lexicon parsing, WordNet, protected spans, label target planning.
export { IMAGE_OPS, DEFAULT_IMAGE_OPS } from '../image-ops.ts';
export type { ImageOpName, ImageOpSpec } from '../image-ops.ts';
export { reorderTurns, englishSynonyms, englishPos, TEXT_OPS } from '../text-ops.ts';
export { parseLexicon } from '../lexicon.ts';
export { wordnetSynonyms, baseForms } from '../wordnet.ts';
export type { WordNetPos } from '../wordnet.ts';
export { ECOMMERCE_ZH_LEXICON } from '../lexicon-data.ts';
export { segmentProtected, protectedSpans, PROTECTED } from '../protect.ts';
export type { Segment } from '../protect.ts';
export { planTargets } from '../dataset.ts';
