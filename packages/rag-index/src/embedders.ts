import { LlmIrError, type ProgressCallback } from '@llm-ir/core';
import { sha256 } from '@llm-ir/core/io';
import { startProgress, type ArtifactCache } from '@llm-ir/core/run';
import { segmentWords } from './text.ts';

/** Turns texts into vectors of a fixed dimension. */
export interface Embedder {
  /** Name, model and settings (part of cache keys and of the index's metadata). */
  readonly id: string;
  /** Vector dimension. */
  readonly dim: number;
  /** Embeds a batch of texts (L2-normalised vectors, in input order). */
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<Float32Array[]>;
}

/** Options of {@link createHashingEmbedder}. */
export interface HashingEmbedderOptions {
  /** Vector dimension. @default 1024 */
  dim?: number;
  /** Character n-gram lengths. @default [1, 2, 3] */
  ngrams?: readonly number[];
  /** Add jieba words as features. @default true */
  words?: boolean;
  /** Inverse document frequency per bucket (from {@link fitHashingEmbedder}); none means plain tf. */
  idf?: Float32Array;
}

function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Feature hashing of character n-grams (and jieba words) into a dense, L2-normalised vector with
 * sublinear term frequency and signed buckets. Deterministic, offline, fast; the default embedder
 * where no pretrained text model is at hand.
 */
export function createHashingEmbedder(options: HashingEmbedderOptions = {}): Embedder {
  const dim = options.dim ?? 1024;
  const ngrams = options.ngrams ?? [1, 2, 3];
  const words = options.words ?? true;
  const idf = options.idf;
  if (idf && idf.length !== dim) throw new LlmIrError({ code: 'config-invalid', message: `idf has ${idf.length} buckets, the embedder ${dim}` });
  const one = (text: string): Float32Array => {
    const counts = new Map<string, number>();
    const t = text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
    const chars = [...t];
    for (const n of ngrams) {
      for (let i = 0; i + n <= chars.length; i++) {
        const g = chars.slice(i, i + n).join('');
        if (g.trim() === '') continue;
        const key = `c${n}:${g}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    if (words) for (const w of segmentWords(t).split(' ')) if (w) counts.set(`w:${w}`, (counts.get(`w:${w}`) ?? 0) + 1);
    const v = new Float32Array(dim);
    for (const [key, c] of counts) {
      const b = fnv1a(key) % dim;
      const sign = (fnv1a(key, 0x9e3779b9) & 1) === 0 ? 1 : -1;
      const weight = (1 + Math.log(c)) * (key.startsWith('c1:') ? 0.5 : 1) * (idf ? idf[b]! : 1);
      v[b]! += sign * weight;
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < dim; i++) v[i]! /= norm;
    return v;
  };
  return {
    id: `hashing(dim=${dim},ngrams=${ngrams.join('')},words=${words}${idf ? `,idf=${sha256(new Uint8Array(idf.buffer, idf.byteOffset, idf.byteLength)).slice(0, 12)}` : ''})`,
    dim,
    async embed(texts, opts = {}) {
      opts.signal?.throwIfAborted();
      return texts.map(one);
    },
  };
}

/** The features of a text as hashed buckets (for document frequencies). */
function bucketsOf(text: string, dim: number, ngrams: readonly number[], words: boolean): Set<number> {
  const out = new Set<number>();
  const t = text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
  const chars = [...t];
  for (const n of ngrams) for (let i = 0; i + n <= chars.length; i++) {
    const g = chars.slice(i, i + n).join('');
    if (g.trim() !== '') out.add(fnv1a(`c${n}:${g}`) % dim);
  }
  if (words) for (const w of segmentWords(t).split(' ')) if (w) out.add(fnv1a(`w:${w}`) % dim);
  return out;
}

/**
 * A hashing embedder with inverse document frequencies learnt from a corpus (scikit-learn's smooth
 * idf: ln((1 + n) / (1 + df)) + 1 per bucket), so rare, telling n-grams outweigh common ones: TF-IDF
 * feature hashing. Keep `idf` (e.g. with {@link serializeHashingEmbedder}) to embed queries later.
 */
export function fitHashingEmbedder(texts: readonly string[], options: Omit<HashingEmbedderOptions, 'idf'> = {}): Embedder & { options: HashingEmbedderOptions } {
  const dim = options.dim ?? 1024;
  const ngrams = options.ngrams ?? [1, 2, 3];
  const words = options.words ?? true;
  const df = new Float64Array(dim);
  for (const t of texts) for (const b of bucketsOf(t, dim, ngrams, words)) df[b]!++;
  const idf = Float32Array.from(df, (d) => Math.log((1 + texts.length) / (1 + d)) + 1);
  const resolved = { dim, ngrams, words, idf };
  return { ...createHashingEmbedder(resolved), options: resolved };
}

/** Saves a hashing embedder's settings (idf included) as JSON. */
export function serializeHashingEmbedder(options: HashingEmbedderOptions): string {
  const idf = options.idf ? Buffer.from(options.idf.buffer, options.idf.byteOffset, options.idf.byteLength).toString('base64') : undefined;
  return JSON.stringify({ kind: 'hashing', dim: options.dim ?? 1024, ngrams: options.ngrams ?? [1, 2, 3], words: options.words ?? true, ...(idf ? { idf } : {}) });
}

/** Restores a hashing embedder saved with {@link serializeHashingEmbedder}. */
export function deserializeHashingEmbedder(json: string): Embedder & { options: HashingEmbedderOptions } {
  const o = JSON.parse(json) as { kind: string; dim: number; ngrams: number[]; words: boolean; idf?: string };
  if (o.kind !== 'hashing') throw new LlmIrError({ code: 'config-invalid', message: `not a hashing embedder: ${o.kind}` });
  const idf = o.idf ? new Float32Array(Uint8Array.from(Buffer.from(o.idf, 'base64')).buffer) : undefined;
  const options: HashingEmbedderOptions = { dim: o.dim, ngrams: o.ngrams, words: o.words, ...(idf ? { idf } : {}) };
  return { ...createHashingEmbedder(options), options };
}

/** Options of {@link createTransformersEmbedder}. */
export interface TransformersEmbedderOptions {
  /** Model id on the hub (e.g. `Xenova/bge-small-zh-v1.5`) or a folder name under `localModelPath`. */
  model: string;
  /** Folder holding local models (`<localModelPath>/<model>/config.json`, `onnx/model.onnx`, tokenizer files). */
  localModelPath?: string;
  /** Allow downloading from the Hugging Face hub. @default true (set false for offline use) */
  allowRemoteModels?: boolean;
  /** Weights precision. @default 'fp32' */
  dtype?: 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4';
  /** Pooling of token vectors. @default 'mean' */
  pooling?: 'mean' | 'cls';
  /** Texts per forward pass. @default 16 */
  batchSize?: number;
  /** Prefix added to every text (E5 wants `query: `, BGE a retrieval instruction). @default '' */
  prefix?: string;
}

/**
 * Sentence embeddings from any ONNX feature-extraction model through `@huggingface/transformers`
 * (a Chinese BGE, multilingual E5, ...), mean- or CLS-pooled and L2-normalised. Loads from a local
 * folder or the hub.
 *
 * @throws when the model cannot be found or loaded (the transformers.js error, with the model id).
 */
export async function createTransformersEmbedder(options: TransformersEmbedderOptions): Promise<Embedder> {
  const { env, pipeline } = await import('@huggingface/transformers');
  if (options.localModelPath !== undefined) env.localModelPath = options.localModelPath;
  env.allowRemoteModels = options.allowRemoteModels ?? true;
  env.allowLocalModels = true;
  const extractor = await pipeline('feature-extraction', options.model, { dtype: options.dtype ?? 'fp32' });
  const probe = await extractor(['probe'], { pooling: options.pooling ?? 'mean', normalize: true });
  const dim = probe.dims.at(-1)!;
  const batchSize = options.batchSize ?? 16;
  const prefix = options.prefix ?? '';
  return {
    id: `transformers(${options.model},${options.dtype ?? 'fp32'},${options.pooling ?? 'mean'},${prefix})`,
    dim,
    async embed(texts, opts = {}) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        opts.signal?.throwIfAborted();
        const batch = texts.slice(i, i + batchSize).map((t) => `${prefix}${t}`);
        const tensor = await extractor(batch, { pooling: options.pooling ?? 'mean', normalize: true });
        const data = tensor.data as Float32Array;
        for (let b = 0; b < batch.length; b++) out.push(Float32Array.from(data.subarray(b * dim, (b + 1) * dim)));
      }
      return out;
    },
  };
}

/** Wraps an embedder with a cache of vectors by text hash (in memory, and in an artifact cache if given). */
export function withEmbeddingCache(embedder: Embedder, cache?: ArtifactCache): Embedder & { hits(): number } {
  const memory = new Map<string, Float32Array>();
  let hits = 0;
  return {
    id: embedder.id,
    dim: embedder.dim,
    hits: () => hits,
    async embed(texts, opts) {
      const out = new Array<Float32Array | undefined>(texts.length);
      const missing: number[] = [];
      for (const [i, t] of texts.entries()) {
        const key = sha256(t);
        let v = memory.get(key);
        if (!v && cache) {
          const hit = await cache.get({ stage: 'embedding', version: embedder.id, inputs: [key] });
          if (hit) v = new Float32Array(hit.buffer.slice(hit.byteOffset, hit.byteOffset + hit.byteLength));
        }
        if (v) {
          hits++;
          memory.set(key, v);
          out[i] = v;
        } else missing.push(i);
      }
      if (missing.length) {
        const made = await embedder.embed(missing.map((i) => texts[i]!), opts);
        for (const [j, i] of missing.entries()) {
          const v = made[j]!;
          const key = sha256(texts[i]!);
          memory.set(key, v);
          if (cache) await cache.put({ stage: 'embedding', version: embedder.id, inputs: [key] }, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
          out[i] = v;
        }
      }
      return out as Float32Array[];
    },
  };
}

/** Embeds many texts in batches with progress events. */
export async function embedAll(embedder: Embedder, texts: readonly string[], options: { batchSize?: number; onProgress?: ProgressCallback; signal?: AbortSignal } = {}): Promise<Float32Array[]> {
  const batch = options.batchSize ?? 256;
  const progress = startProgress('embed', options.onProgress, { total: texts.length, unit: 'text' });
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += batch) {
    const part = texts.slice(i, i + batch);
    out.push(...(await embedder.embed(part, options.signal ? { signal: options.signal } : {})));
    progress.advance(part.length);
  }
  progress.end();
  return out;
}
