// @llm-ir/rag-index/embedders: embedder serialisation, caching and batch embedding.
export { serializeHashingEmbedder, deserializeHashingEmbedder, withEmbeddingCache, embedAll } from '../embedders.ts';
