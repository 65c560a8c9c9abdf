// @llm-ir/ocr/text: formatting of OCR text and boxes, the filters' predicates, tesseract TSV parsing, reading order.
export { parseTesseractTsv } from '../engines/tesseract-cli.ts';
export { readingOrder } from '../engines/common.ts';
export { isStatusBarLine, isMaskedOrGarbled } from '../filters.ts';
export type { DropReason } from '../filters.ts';
export { formatOcrText, formatBox, parseBoxes, jitterBoxes, OCR_OPEN, OCR_CLOSE } from '../prompt.ts';
