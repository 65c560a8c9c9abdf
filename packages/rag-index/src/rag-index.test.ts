import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSamples, stratifiedKFold, type Sample } from '@llm-ir/core';
import { countPlaceholders, lineageRoots, parseChallengeRow, writeChallengeRow, DIALOGUE_START, DIALOGUE_END } from '@llm-ir/core/challenge';
import { openArtifactCache } from '@llm-ir/core/run';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHashingEmbedder, createTransformersEmbedder, deserializeHashingEmbedder, fitHashingEmbedder, serializeHashingEmbedder, withEmbeddingCache } from './embedders.ts';
import { knnClassifier, knnStage } from './knn.ts';
import { openRagIndex, type KnowledgeItem, type RagIndex } from './rag-index.ts';
import { enrichInstruction, EXEMPLARS_HEADING, KNOWLEDGE_HEADING, retrieveContext } from './retrieve.ts';
import { knowledgeFromAgentReplies, knowledgeFromLabels, knowledgeFromTitles } from './sources.ts';
import { queryText } from './text.ts';

const SHARED = fileURLToPath(new URL('../../../../shared/datasets/', import.meta.url));
const MODELS = fileURLToPath(new URL('./__fixtures__/models/', import.meta.url));
let samples: Sample[];
let index: RagIndex;
let dir: string;
let knowledge: KnowledgeItem[];

beforeAll(async () => {
  samples = (await loadSamples(join(SHARED, 'www2025-mire/train.json'))).samples;
  dir = await mkdtemp(join(tmpdir(), 'llm-ir-rag-'));
  knowledge = [...(await knowledgeFromTitles(join(SHARED, 'taobao-titles/train.jsonl'), { limit: 3000 })), ...knowledgeFromAgentReplies(samples), ...knowledgeFromLabels()];
  const embedder = fitHashingEmbedder([...knowledge.map((k) => k.text), ...samples.map((s) => queryText(s))]);
  index = await openRagIndex({ uri: join(dir, 'db'), embedder });
  await index.upsertExemplars(samples);
  await index.upsertKnowledge(knowledge);
}, 120_000);
afterAll(async () => index.close());

describe('tables built from the shared data', () => {
  it('hold every official row and the knowledge sources, with versions and indices', async () => {
    const info = await index.info();
    expect(info.tables['exemplars']!.rows).toBe(799);
    expect(info.tables['knowledge']!.rows).toBeGreaterThan(3000);
    expect(info.tables['knowledge']!.indices.join(' ')).toMatch(/text_seg/);
    expect(info.tables['exemplars']!.indices.join(' ')).toMatch(/task/);
  });

  it('builds the full-text index of a 90,000-row knowledge table on a 2-core machine (lance deadlocked at ~78,000)', async () => {
    // lancedb/lancedb#3568: with lance's CPU pool at one thread, a posting-list build spanning a second
    // output batch parked at 0% CPU forever; openRagIndex gives the pool two threads on small hosts
    const titles = await knowledgeFromTitles(join(SHARED, 'taobao-titles/train.jsonl'));
    const many = Array.from({ length: 90_000 }, (_, i) => ({ ...titles[i % titles.length]!, id: `t${i}`, text: `${titles[i % titles.length]!.text} 批次${i}` }));
    const big = await openRagIndex({ uri: join(dir, 'big'), embedder: createHashingEmbedder({ dim: 8, words: false }), vectorIndexMinRows: Number.POSITIVE_INFINITY });
    try {
      await big.upsertKnowledge(many);
      expect((await big.info()).tables['knowledge']!.indices.join(' ')).toMatch(/text_seg/);
      const hits = await big.search('批次89999', { table: 'knowledge', mode: 'fts', k: 3 });
      expect(hits[0]?.id).toBe('t89999');
    } finally {
      await big.close();
    }
  }, 120_000);

  it('searches a table with its HNSW index as exact search does, for any k', async () => {
    const titles = (await knowledgeFromTitles(join(SHARED, 'taobao-titles/train.jsonl'))).slice(0, 3000);
    const embedder = fitHashingEmbedder(titles.map((t) => t.text));
    const indexed = await openRagIndex({ uri: join(dir, 'hnsw'), embedder, vectorIndexMinRows: 1000 });
    const exact = await openRagIndex({ uri: join(dir, 'exact'), embedder, vectorIndexMinRows: Number.POSITIVE_INFINITY });
    try {
      await indexed.upsertKnowledge(titles);
      await exact.upsertKnowledge(titles);
      expect((await indexed.info()).tables['knowledge']!.indices.join(' ')).toMatch(/IvfHnswSq on vector/);
      let recall = 0;
      const queries = titles.filter((_, i) => i % 150 === 0).map((t) => t.text.slice(0, 10));
      for (const q of queries) {
        // k 30 x refine 5 asks the graph for 150 candidates, above the default ef of 100
        const got = await indexed.search(q, { table: 'knowledge', mode: 'vector', k: 30 });
        const truth = new Set((await exact.search(q, { table: 'knowledge', mode: 'vector', k: 30 })).map((h) => h.id));
        expect(got).toHaveLength(30);
        recall += got.filter((h) => truth.has(h.id)).length / 30;
      }
      expect(recall / queries.length).toBeGreaterThan(0.9);
    } finally {
      await indexed.close();
      await exact.close();
    }
  }, 120_000);

  it('searches Chinese queries in all three modes, with filters', async () => {
    // how often a shoe title comes up by chance
    const titles = knowledge.filter((k) => k.source === 'taobao-titles');
    const chance = titles.filter((t) => /鞋/.test(t.text)).length / titles.length;
    for (const mode of ['vector', 'fts', 'hybrid'] as const) {
      const shoes = await index.search('透气运动鞋', { table: 'knowledge', mode, k: 5, filter: { source: 'taobao-titles' } });
      expect(shoes, mode).toHaveLength(5);
      // every mode finds shoes far more often than chance; full-text hits all share a word with the query
      expect(shoes.filter((h) => /鞋/.test(h.text)).length / 5, mode).toBeGreaterThan(Math.max(3 * chance, 0.2));
      if (mode === 'fts') expect(shoes.every((h) => /透气|运动|鞋/.test(h.text))).toBe(true);
      expect(shoes.every((h) => h.fields['source'] === 'taobao-titles')).toBe(true);
      const restock = await index.search('这款什么时候补货？缺货了', { mode, k: 5, filter: { task: 'intent' } });
      expect(restock.every((h) => h.fields['task'] === 'intent')).toBe(true);
      expect(restock.map((h) => h.fields['label']), mode).toContain('何时上货');
    }
    const labels = await index.search('退款成功的页面', { table: 'knowledge', mode: 'fts', k: 3, filter: { source: 'label-descriptions' } });
    expect(labels[0]!.fields['metadata']).toMatchObject({ task: 'scene' });
    // the stream yields what search returns, and can be left early
    const streamed: string[] = [];
    for await (const h of index.searchStream('补货', { mode: 'fts', k: 3 })) streamed.push(h.id);
    expect(streamed).toEqual((await index.search('补货', { mode: 'fts', k: 3 })).map((h) => h.id));
    for await (const h of index.searchStream('补货', { mode: 'hybrid', k: 5 })) {
      expect(h.id).toBeTruthy();
      break;
    }
  });

  it('upserts by id into a new version and can read an older version', async () => {
    const db = await openRagIndex({ uri: join(dir, 'versions'), embedder: createHashingEmbedder() });
    await db.upsertKnowledge([{ id: 'a', text: '保温杯 316不锈钢', source: 't' }]);
    const v1 = await db.version('knowledge');
    await db.upsertKnowledge([{ id: 'a', text: '保温杯 304不锈钢 新款', source: 't' }, { id: 'b', text: '电饭煲', source: 't' }]);
    const v2 = await db.version('knowledge');
    expect(v2).toBeGreaterThan(v1);
    expect((await db.info()).tables['knowledge']!.rows).toBe(2);
    expect((await db.search('保温杯', { table: 'knowledge', mode: 'fts', k: 1 }))[0]!.text).toContain('304');
    expect((await db.search('保温杯', { table: 'knowledge', mode: 'fts', k: 5, version: v1 })).map((h) => h.text)).toEqual(['保温杯 316不锈钢']);
    await db.close();
    const other = await openRagIndex({ uri: join(dir, 'versions'), embedder: createHashingEmbedder({ dim: 64 }) });
    await expect(other.search('保温杯', { table: 'knowledge' })).rejects.toMatchObject({ code: 'config-invalid' });
    await other.close();
  });
});

describe('no leakage', () => {
  it('never returns a training row or its lineage, and never sees test labels', async () => {
    const db = await openRagIndex({ uri: join(dir, 'leak'), embedder: createHashingEmbedder() });
    const folds = stratifiedKFold(samples, { k: 5, seed: 1 });
    const train = samples.filter((_, i) => folds[i] !== 0);
    const test = samples.filter((_, i) => folds[i] === 0);
    const copies = train.slice(0, 60).map((s) => ({ ...s, id: `${s.id}#aug0`, parentId: s.id }));
    await db.upsertExemplars([...train, ...copies]);
    // variants of variants, added later: their lineage root is found through the rows stored before
    const grandchildren = copies.slice(0, 20).map((s) => ({ ...s, id: `${s.id}#aug0`, parentId: s.id }));
    await db.upsertExemplars(grandchildren);
    const everyRow = [...train, ...copies, ...grandchildren];
    const roots = lineageRoots(everyRow);
    const rootOf = new Map(everyRow.map((s, i) => [s.id, roots[i]!]));
    for (const s of [...train.slice(0, 60), ...copies.slice(0, 20), ...grandchildren]) {
      const ctx = await retrieveContext(db, s, { k: 5, knowledgeK: 0, mode: 'hybrid' });
      const root = rootOf.get(s.id)!;
      // the same text as the query: they would be the first hits if the lineage leaked
      expect(ctx.exemplars.length).toBeGreaterThan(0);
      for (const e of ctx.exemplars) {
        expect(e.id).not.toBe(s.id);
        expect(e.id === root || e.id.startsWith(`${root}#`)).toBe(false);
      }
    }
    for (const s of test.slice(0, 40)) {
      const { label: _l, ...blank } = s;
      const withLabel = await retrieveContext(db, s, { k: 3, knowledgeK: 0 });
      const without = await retrieveContext(db, blank as Sample, { k: 3, knowledgeK: 0 });
      expect(without).toEqual(withLabel);
    }
    await expect(db.upsertExemplars([{ ...test[0]!, label: undefined } as unknown as Sample])).rejects.toMatchObject({ code: 'invalid-row' });
    await db.close();
  }, 60_000);
});

describe('retrieval for prompts', () => {
  it('retrieves diverse exemplars and knowledge within a budget and writes them into the prompt', async () => {
    const s = samples.find((x) => x.task === 'intent' && x.label === '何时上货')!;
    const ctx = await retrieveContext(index, s, { k: 4, diversity: 0.9, budgetChars: 600 });
    expect(ctx.exemplars.length).toBeGreaterThan(0);
    expect(new Set(ctx.exemplars.map((e) => e.label)).size).toBe(ctx.exemplars.length);
    const chars = [...[...ctx.exemplars.map((e) => e.text), ...ctx.knowledge.map((k) => k.text)].join('')].length;
    expect(chars).toBeLessThanOrEqual(600);
    const enriched = enrichInstruction(s, ctx);
    const row = writeChallengeRow(enriched);
    expect(row.instruction.indexOf(EXEMPLARS_HEADING)).toBeLessThan(row.instruction.indexOf(DIALOGUE_START));
    if (ctx.knowledge.length) expect(row.instruction.indexOf(KNOWLEDGE_HEADING)).toBeGreaterThan(row.instruction.indexOf(DIALOGUE_END));
    expect(countPlaceholders(row.instruction)).toBe(row.image.length);
    const back = parseChallengeRow(row);
    expect(back.turns).toEqual(s.turns);
    expect(back.label).toBe(s.label);
    const scene = samples.find((x) => x.task === 'scene')!;
    const sceneRow = writeChallengeRow(enrichInstruction(scene, await retrieveContext(index, scene, { k: 2 })));
    expect(parseChallengeRow(sceneRow).turns).toEqual(scene.turns);
  });
});

describe('kNN classifier', () => {
  it('implements Classifier: probabilities over the task labels, far above chance under cross-validation', async () => {
    const folds = stratifiedKFold(samples, { k: 5, seed: 3 });
    const knn = knnClassifier({ k: 10 });
    await knn.fit(samples.filter((_, i) => folds[i] !== 0));
    const test = samples.filter((_, i) => folds[i] === 0);
    const preds = await knn.predictProba(test);
    expect(preds.map((p) => p.id)).toEqual(test.map((s) => s.id));
    for (const p of preds) {
      const sum = Object.values(p.probs!).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 9);
      expect(Object.keys(p.probs!)).toHaveLength(p.task === 'scene' ? 25 : 23);
      expect(p.probs![p.label]).toBe(Math.max(...Object.values(p.probs!)));
    }
    const acc = (task: string) => {
      const rows = preds.filter((p) => p.task === task);
      return rows.filter((p) => p.label === test.find((s) => s.id === p.id)!.label).length / rows.length;
    };
    // chance is about 1/23; scene rows have no text without OCR, so only intent is asserted
    expect(acc('intent')).toBeGreaterThan(0.2);
    await knn.close();
    // the pipeline stage gives the classifier's probabilities and leaves no table behind
    const before = (await readdir(tmpdir())).filter((n) => n.startsWith('llm-ir-knn-')).length;
    const ctx = { cache: openArtifactCache({ dir: join(dir, 'knn-stage-cache') }), seed: 0, outDir: dir };
    const staged = await knnStage(ctx, { train: samples.filter((_, i) => folds[i] !== 0), test }, { k: 10 });
    expect(staged).toEqual(preds);
    expect((await readdir(tmpdir())).filter((n) => n.startsWith('llm-ir-knn-')).length).toBe(before);
  }, 60_000);
});

describe('embedders', () => {
  it('loads a local ONNX model through @huggingface/transformers with no network, and caches vectors', async () => {
    const base = await createTransformersEmbedder({ model: 'tiny-bert-zh', localModelPath: MODELS, allowRemoteModels: false });
    expect(base.dim).toBe(16);
    const cache = openArtifactCache({ dir: join(dir, 'emb-cache') });
    const e = withEmbeddingCache(base, cache);
    const [a, b, c] = await e.embed(['这个什么时候补货', '什么时候能补货呢', 'where is my parcel']);
    const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(dot(a!, a!)).toBeCloseTo(1, 5);
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!));
    await e.embed(['这个什么时候补货']);
    expect(e.hits()).toBe(1);
    const db = await openRagIndex({ uri: join(dir, 'tiny'), embedder: e });
    await db.upsertExemplars(samples.filter((s) => s.task === 'intent').slice(0, 50));
    expect(await db.search('什么时候补货', { mode: 'vector', k: 3 })).toHaveLength(3);
    await db.close();
    await expect(createTransformersEmbedder({ model: 'not-here', localModelPath: MODELS, allowRemoteModels: false })).rejects.toThrow();
  }, 60_000);

  it('hashing vectors are deterministic and unit length; fitted idf survives a save and load', async () => {
    const e = createHashingEmbedder({ dim: 64 });
    const [a] = await e.embed(['退款成功 ¥39.90']);
    const [b] = await e.embed(['退款成功 ¥39.90']);
    expect(a).toEqual(b);
    expect(a!.reduce((s, v) => s + v * v, 0)).toBeCloseTo(1, 6);
    const fitted = fitHashingEmbedder(['退款成功', '退货成功', '支付成功', '物流详情'], { dim: 128 });
    const restored = deserializeHashingEmbedder(serializeHashingEmbedder(fitted.options));
    expect(restored.id).toBe(fitted.id);
    expect(await restored.embed(['退款成功'])).toEqual(await fitted.embed(['退款成功']));
    expect(fitted.id).not.toBe(createHashingEmbedder({ dim: 128 }).id);
  });
});
