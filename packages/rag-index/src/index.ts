// @llm-ir/rag-index: the LanceDB index, embedders, retrieval for prompts, the kNN classifier, knowledge sources.
// More in the subpath exports: `@llm-ir/rag-index/text` (the text a sample is searched by (dialogue, OCR, jieba segmentation) and the prompt headings), `@llm-ir/rag-index/embedders` (embedder serialisation, caching and batch embedding).
export { openRagIndex } from './rag-index.ts';
export type { RagIndex, RagIndexOptions, KnowledgeItem, SearchHit, SearchOptions, TableName, FtsMode, IndexInfo, VectorIndexType } from './rag-index.ts';
export { createHashingEmbedder, fitHashingEmbedder, createTransformersEmbedder } from './embedders.ts';
export type { Embedder, HashingEmbedderOptions, TransformersEmbedderOptions } from './embedders.ts';
export { retrieveContext, enrichInstruction } from './retrieve.ts';
export type { RetrievedContext, RetrieveOptions } from './retrieve.ts';
export { knnClassifier, knnStage } from './knn.ts';
export type { KnnOptions } from './knn.ts';
export { knowledgeFromTitles, knowledgeFromAgentReplies, knowledgeFromLabels } from './sources.ts';
