// @llm-ir/augmentation: dataset augmentation (and its pipeline stage), image and text augmentation, the e-commerce lexicon, contact sheets, paraphrase and rationale import.
// More in the subpath exports: `@llm-ir/augmentation/ops` (the individual image and text operations, lexicon parsing, WordNet, protected spans, label target planning).
export { augmentImage, DEFAULT_IMAGE_POLICY } from './image-ops.ts';
export type { ImagePolicy, AppliedOp, AugmentImageOptions } from './image-ops.ts';
export { augmentText, augmentSampleText, segmenter, DEFAULT_TEXT_POLICY } from './text-ops.ts';
export type { TextOp, TextAugmentOptions } from './text-ops.ts';
export { ecommerceLexicon } from './lexicon.ts';
export type { Lexicon } from './lexicon.ts';
export { augmentDataset, augmentStage, lineageFile, importParaphrases, importRationales } from './dataset.ts';
export type { AugmentDatasetOptions, AugmentResult, LabelTargets } from './dataset.ts';
export { contactSheet } from './preview.ts';
export type { ContactSheetOptions } from './preview.ts';
