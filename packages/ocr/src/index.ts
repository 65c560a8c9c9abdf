// @llm-ir/ocr: OCR engines and pools, OCR of images, datasets and pipeline splits, OCR in prompts, filters.
// More in the subpath exports: `@llm-ir/ocr/text` (formatting of OCR text and boxes, the filters' predicates, tesseract TSV parsing, reading order).
export { createOcrPool } from './pool.ts';
export type { OcrPool, OcrPoolOptions } from './pool.ts';
export { createEngine } from './engines/index.ts';
export { OCR_ENGINES } from './types.ts';
export type { OcrEngine, OcrEngineName, OcrResult, EngineOptions } from './types.ts';
export { ocrImages, ocrDataset, ocrSplits } from './run.ts';
export type { ImageOcr, OcrImagesOptions, OcrDatasetOptions } from './run.ts';
export { filterOcr } from './filters.ts';
export type { OcrFilterOptions } from './filters.ts';
export { applyOcr, stripOcr } from './prompt.ts';
export type { ApplyOcrOptions, OcrFormat } from './prompt.ts';
