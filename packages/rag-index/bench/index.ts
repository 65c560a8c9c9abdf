// rag-index bench.
// 1. Retrieval quality on the shared data: for each intent row, is the nearest exemplar's label
//    right (leave-one-lineage-out)? Top-1 and top-5 label accuracy for vector, fts and hybrid, with
//    both Chinese full-text modes (jieba-segmented column vs LanceDB bigrams).
// 2. A 100,000-row knowledge table (the Taobao titles and text augmentations of them): build time
//    with progress, p50 / p95 query latency with the default vector index (IVF_HNSW_SQ), recall@10
//    and latency of exact search as the reference.
// Run: npm run bench -w @llm-ir/rag-index   (LLM_IR_BENCH_ROWS=20000 for a quick run)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@lancedb/lancedb';
import { loadSamples } from '@llm-ir/core';
import { createRng } from '@llm-ir/core/run';
import { augmentText } from '@llm-ir/augmentation';
import { fitHashingEmbedder, knowledgeFromTitles, openRagIndex, type FtsMode, type KnowledgeItem } from '@llm-ir/rag-index';
import { queryText } from '@llm-ir/rag-index/text';
// @ts-expect-error plain ESM helper without types
import { writeResult } from '../../../scripts/bench-lib.mjs';

const SHARED = fileURLToPath(new URL('../../../../shared/datasets/', import.meta.url));
const ROWS = Number(process.env['LLM_IR_BENCH_ROWS'] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'llm-ir-ragbench-'));
const rows: Array<Record<string, unknown>> = [];
const quality: Record<string, unknown> = {};
try {
  // ---- 1. retrieval quality ----
  const { samples } = await loadSamples(join(SHARED, 'www2025-mire/train.json'));
  const intent = samples.filter((s) => s.task === 'intent');
  const embedder = fitHashingEmbedder(samples.map((s) => queryText(s)));
  for (const fts of ['jieba', 'ngram'] as FtsMode[]) {
    const index = await openRagIndex({ uri: join(dir, `quality-${fts}`), embedder, fts });
    await index.upsertExemplars(intent);
    for (const mode of ['vector', 'fts', 'hybrid'] as const) {
      if (fts === 'ngram' && mode === 'vector') continue;
      let top1 = 0;
      let top5 = 0;
      for (const s of intent) {
        const hits = await index.search(s, { mode, k: 5, filter: { task: 'intent' }, excludeLineageOf: s });
        if (hits[0]?.fields['label'] === s.label) top1++;
        if (hits.some((h) => h.fields['label'] === s.label)) top5++;
      }
      const name = mode === 'vector' ? 'vector' : `${mode} (${fts})`;
      quality[name] = { top1: top1 / intent.length, top5: top5 / intent.length };
      rows.push({ name: `nearest-exemplar label accuracy, ${name}, ${intent.length} intent rows, leave-one-lineage-out`, value: +(100 * top1 / intent.length).toFixed(1), unit: '% top-1', note: `top-5 ${(100 * top5 / intent.length).toFixed(1)}%` });
      console.error(name, top1 / intent.length, top5 / intent.length);
    }
    await index.close();
  }

  // ---- 2. a 100k-row table ----
  const titles: KnowledgeItem[] = [];
  for (const split of ['train', 'dev', 'test']) titles.push(...(await knowledgeFromTitles(join(SHARED, `taobao-titles/${split}.jsonl`))));
  const items: KnowledgeItem[] = [...titles];
  const rng = createRng('rag-bench');
  for (let k = 0; items.length < ROWS; k++) {
    const t = titles[k % titles.length]!;
    const text = await augmentText(t.text, [{ op: 'synonym', rate: 0.3 }, { op: 'swap', rate: 0.2 }, { op: 'delete', rate: 0.1 }, { op: 'insert', rate: 0.1 }], rng.fork(k));
    items.push({ ...t, id: `${t.id}#${Math.floor(k / titles.length)}-${k}`, text });
  }
  const big = fitHashingEmbedder(items.slice(0, 20_000).map((i) => i.text));
  const t0 = performance.now();
  // the default index of openRagIndex (what `llm-ir index build` builds), with its progress
  const index = await openRagIndex({ uri: join(dir, 'big'), embedder: big });
  let last = '';
  await index.upsertKnowledge(items.slice(0, ROWS), {
    onProgress: (e) => {
      const line = `${e.stage} ${e.type === 'stage-start' ? 0 : e.completed}/${e.total ?? '?'}`;
      if (line !== last) console.error(`${((performance.now() - t0) / 1000).toFixed(1)} s  ${(last = line)}`);
    },
  });
  const buildSeconds = (performance.now() - t0) / 1000;
  const info = await index.info();
  console.error(`built ${info.tables['knowledge']!.rows} rows in ${buildSeconds.toFixed(1)} s; ${info.tables['knowledge']!.indices.join('; ')}`);
  const queries = Array.from({ length: 100 }, (_, i) => titles[(i * 37) % titles.length]!.text.slice(0, 12));
  const db = await connect(join(dir, 'big'));
  const table = await db.openTable('knowledge');
  // exact search first (the truth and the reference latency), then the index alone: a 400 MB exact
  // scan between two indexed queries would evict what the index keeps warm
  const exactLatencies: number[] = [];
  const truths: Array<Set<unknown>> = [];
  for (const q of queries) {
    const [vec] = await big.embed([q]);
    const t2 = performance.now();
    const exact = await table.query().nearestTo(vec!).distanceType('cosine').bypassVectorIndex().select(['id']).limit(10).toArray();
    exactLatencies.push(performance.now() - t2);
    truths.push(new Set(exact.map((r) => r.id)));
  }
  for (const q of queries.slice(0, 5)) await index.search(q, { table: 'knowledge', mode: 'vector', k: 10 });
  const latencies: number[] = [];
  let recall = 0;
  for (const [i, q] of queries.entries()) {
    const t1 = performance.now();
    const ann = await index.search(q, { table: 'knowledge', mode: 'vector', k: 10 });
    latencies.push(performance.now() - t1);
    recall += ann.filter((h) => truths[i]!.has(h.id)).length / 10;
  }
  const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
  const kind = info.tables['knowledge']!.indices.find((i) => i.includes('on vector')) ?? 'none';
  rows.push({ name: `build a ${info.tables['knowledge']!.rows.toLocaleString('en')}-row knowledge table (embed + write in 10k batches + FTS + vector index: ${kind})`, value: +buildSeconds.toFixed(1), unit: 's' });
  rows.push({ name: 'vector query latency p50 (index.search, default index and settings, k=10)', value: +pct(latencies, 0.5).toFixed(2), unit: 'ms', note: `p95 ${pct(latencies, 0.95).toFixed(2)} ms over ${queries.length} queries after 5 warm-up ones`, reference: 'exact search (bypassVectorIndex) p50', referenceValue: +pct(exactLatencies, 0.5).toFixed(2), ratio: +(pct(exactLatencies, 0.5) / pct(latencies, 0.5)).toFixed(1) });
  rows.push({ name: 'recall@10 of the default vector index against exact search', value: +(recall / queries.length).toFixed(3), unit: '', reference: 'exact (bypassVectorIndex)', referenceValue: 1 });
  table.close();
  db.close();
  await index.close();
  const result = writeResult('rag-index', '@llm-ir/rag-index', rows, { quality });
  console.log(JSON.stringify(result.rows, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
