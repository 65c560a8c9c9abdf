// @llm-ir/rag-index/text: the text a sample is searched by (dialogue, OCR, jieba segmentation) and the prompt headings.
export { dialogueText, ocrText, queryText, segmentWords } from '../text.ts';
export { EXEMPLARS_HEADING, KNOWLEDGE_HEADING } from '../retrieve.ts';
