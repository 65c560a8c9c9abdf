/**
 * Test helpers of `@llm-ir/core`: builders of challenge rows and a corpus of broken inputs, for
 * packages and users that test their own data handling.
 */
export { EXPECTED_PROBLEMS, intentRow, makeBadCorpus, sceneRow } from './bad-corpus.ts';
export { needs, SKLEARN, CHROMIUM, TESSERACT, NAMESPACES } from './system.ts';
export type { SystemTool } from './system.ts';
