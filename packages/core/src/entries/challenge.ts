// @llm-ir/core/challenge: the challenge prompt format in detail (parse / write rows, frames, placeholders), label matching, dataset writers, row validation, lineage.
export { createLabelSet, matchLabel, normalizeLabelText } from '../labels.ts';
export type { LabelMatch } from '../labels.ts';
export { IMAGE_PLACEHOLDER, DIALOGUE_START, DIALOGUE_END, OFFICIAL_INTENT_FRAME, OFFICIAL_SCENE_FRAME, parseChallengeRow, safeParseChallengeRow, writeChallengeRow, renderInstruction, renderContent, officialFrame, countPlaceholders, detectTask, sampleImages, imageOcr, isKnownLabel } from '../challenge.ts';
export type { RowLocation } from '../challenge.ts';
export { writeChallengeFile, writeSamplesJsonl, sampleSchema } from '../dataset.ts';
export { lineageRoots } from '../split.ts';
export { validateRows } from '../validate.ts';
