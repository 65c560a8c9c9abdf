import { availableParallelism } from 'node:os';
import { connect, Index, rerankers, type Connection, type Table } from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Schema, Utf8 } from 'apache-arrow';
import { LlmIrError, type ProgressCallback, type Sample, type Task } from '@llm-ir/core';
import { lineageRoots } from '@llm-ir/core/challenge';
import { startProgress } from '@llm-ir/core/run';
import { embedAll, type Embedder } from './embedders.ts';
import { ocrText, dialogueText, queryText, segmentWords } from './text.ts';

/** The two tables of an index. */
export type TableName = 'knowledge' | 'exemplars';

/** A knowledge snippet: a product title or spec, an FAQ-like agent reply, a label description. */
export interface KnowledgeItem {
  /** Unique id (upserts replace the row with the same id). */
  id: string;
  /** The text. */
  text: string;
  /** Where it comes from (`taobao-titles`, `agent-replies`, `label-descriptions`, ...). */
  source: string;
  /** Product type, when known (e.g. an HCCX entity of a title). */
  productType?: string;
  /** Anything else (stored as JSON). */
  metadata?: Record<string, unknown>;
}

/** How full-text search treats Chinese: a jieba-segmented column with a whitespace tokenizer, or character bigrams. */
export type FtsMode = 'jieba' | 'ngram';

/** Options of {@link openRagIndex}. */
export interface RagIndexOptions {
  /** Database location: a folder, or an object-store URI (`s3://bucket/path`, `gs://`, `az://`) passed through to LanceDB. */
  uri: string;
  /** Embedder for vectors (must stay the same for the life of the tables). */
  embedder: Embedder;
  /** Chinese full-text search. @default 'jieba' */
  fts?: FtsMode;
  /** Build a vector index once a table has at least this many rows; exact search below. @default 20000 */
  vectorIndexMinRows?: number;
  /**
   * The vector index of a large table. `ivf_hnsw_sq` (an HNSW graph over 8-bit scalar-quantised
   * vectors, exact re-ranking) was chosen by measurement: on 100,000 knowledge rows with 2 cores,
   * p50 5.3 ms at recall@10 0.997 against exact search (build 92 s), where IVF_FLAT reached 0.85 at
   * 100 ms and exact search took 2.5 s per query; IVF_PQ had reached 0.78 at 20,000 rows (BENCHMARKS.md).
   * @default 'ivf_hnsw_sq'
   */
  vectorIndex?: VectorIndexType;
  /** Storage options for object stores (credentials, region, endpoint). */
  storageOptions?: Record<string, string>;
}

/** A vector index type of {@link RagIndexOptions.vectorIndex}. */
export type VectorIndexType = 'ivf_hnsw_sq' | 'ivf_pq';

/** One search result. */
export interface SearchHit {
  /** Row id. */
  id: string;
  /** Row text. */
  text: string;
  /** Table it came from. */
  table: TableName;
  /** Higher is better: cosine similarity (vector), BM25 score (fts) or fused RRF score (hybrid). */
  score: number;
  /** Exemplars: task, label, OCR text, lineage root; knowledge: source, product type, metadata. */
  fields: Record<string, unknown>;
}

/** Options of {@link RagIndex.search}. */
export interface SearchOptions {
  /** Table to search. @default 'exemplars' */
  table?: TableName;
  /** Vector, full-text or hybrid (reciprocal-rank fusion of both). @default 'hybrid' */
  mode?: 'vector' | 'fts' | 'hybrid';
  /** Results. @default 5 */
  k?: number;
  /** Filters (exemplars: task, label; knowledge: source). */
  filter?: { task?: Task; label?: string; source?: string; productType?: string };
  /** Lineage roots whose rows must not be returned (a training row's own lineage). */
  excludeRoots?: readonly string[];
  /**
   * A training row whose whole lineage (itself, its ancestors' root, every variant of that root) must
   * not be returned: its root is looked up through the stored parents, so chains of variants are
   * followed (`parentId` alone names only the nearest ancestor).
   */
  excludeLineageOf?: Pick<Sample, 'id' | 'parentId'>;
  /** Ids that must not be returned. */
  excludeIds?: readonly string[];
  /** Extra SQL predicate, ANDed with the filters. */
  where?: string;
  /** IVF partitions probed (with a vector index of several partitions). @default 32 */
  nprobes?: number;
  /** Candidates kept while searching the HNSW graph (with an `ivf_hnsw_sq` index): higher is slower and more exact. @default 100 */
  ef?: number;
  /** Candidates re-ranked by exact distance: `k x refineFactor` (with a vector index). @default 5 (`ivf_hnsw_sq`), 10 (`ivf_pq`) */
  refineFactor?: number;
  /** Read this table version instead of the latest. */
  version?: number;
}

/** Information about the index. */
export interface IndexInfo {
  /** Location. */
  uri: string;
  /** Embedder id recorded in the tables' metadata. */
  embedder: string;
  /** Per table: rows, current version and indices. */
  tables: Record<string, { rows: number; version: number; indices: string[] }>;
}

/** An opened index of knowledge and exemplar tables. */
export interface RagIndex {
  /** The embedder. */
  readonly embedder: Embedder;
  /**
   * Adds or replaces knowledge snippets by id: written in batches of 10,000 (a table version each),
   * then the indices are brought up to date. A failed or cancelled upsert keeps the batches already
   * written (upserting the same items again completes it: ids are replaced, never doubled); with the
   * same id twice in one call, the later one wins.
   */
  upsertKnowledge(items: readonly KnowledgeItem[], options?: { onProgress?: ProgressCallback; signal?: AbortSignal }): Promise<number>;
  /** Adds or replaces labelled samples as exemplars by id (rows without a label are refused). */
  upsertExemplars(samples: readonly Sample[], options?: { onProgress?: ProgressCallback; signal?: AbortSignal }): Promise<number>;
  /** Searches a table with a text or a sample (a sample is searched by its dialogue and OCR text, never its label). */
  search(query: string | Sample, options?: SearchOptions): Promise<SearchHit[]>;
  /** {@link RagIndex.search} as a stream of hits. */
  searchStream(query: string | Sample, options?: SearchOptions): AsyncIterable<SearchHit>;
  /** Current version of a table. */
  version(table: TableName): Promise<number>;
  /**
   * Brings the indices up to date now: rows added since are folded into the scalar and vector indices,
   * the full-text index is rebuilt whole, missing ones are built (the vector index once the table is
   * large enough). Replaced index files stay on disk until LanceDB's cleanup removes old versions.
   */
  optimize(): Promise<void>;
  /** Rows, versions and indices. */
  info(): Promise<IndexInfo>;
  /** Closes the connection. */
  close(): Promise<void>;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

function schemaFor(table: TableName, dim: number, embedder: string): Schema {
  const common = [new Field('id', new Utf8(), false), new Field('text', new Utf8(), false), new Field('text_seg', new Utf8(), false)];
  const vector = new Field('vector', new FixedSizeList(dim, new Field('item', new Float32(), true)), false);
  const meta = new Map([['llm-ir.embedder', embedder]]);
  if (table === 'knowledge') {
    return new Schema([...common, new Field('source', new Utf8(), false), new Field('product_type', new Utf8(), false), new Field('metadata', new Utf8(), false), vector], meta);
  }
  return new Schema(
    [...common, new Field('ocr_text', new Utf8(), false), new Field('task', new Utf8(), false), new Field('label', new Utf8(), false), new Field('parent_id', new Utf8(), false), new Field('root', new Utf8(), false), vector],
    meta,
  );
}

/** Rows per write of an upsert (one progress step each). */
const WRITE_BATCH = 10_000;

/**
 * Gives lance's CPU pool two threads on hosts with 3 cores or fewer, unless `LANCE_CPU_THREADS` is set.
 *
 * lance sizes that pool `max(1, cores - LANCE_IO_CORE_RESERVATION (2))`: one thread on a 2-core
 * machine. Building a full-text index whose posting lists span a second output batch then deadlocks
 * at 0% CPU (the producer parks the only pool thread in `send_blocking` while the writer's page
 * encoding waits for a pool thread): lancedb/lancedb#3568, rust/lance-index/src/scalar/inverted/
 * builder.rs `write_posting_lists`, fixed upstream by lance-format/lance#7423, which is not in
 * @lancedb/lancedb 0.31.0 (the newest version this registry installs from a lockfile). Here it
 * struck between 75,000 and 80,000 knowledge rows, the "stalled" 100k benchmark. The pool is created
 * on first use, so setting the variable before any table work is enough.
 */
function guardLanceCpuPool(): void {
  if (process.env['LANCE_CPU_THREADS'] === undefined && availableParallelism() <= 3) process.env['LANCE_CPU_THREADS'] = '2';
}

/**
 * Opens (or creates) an embedded LanceDB database with a `knowledge` and an `exemplars` table.
 * Every upsert makes a new table version (query an older one with `search(..., { version })`);
 * object-store URIs are passed through to LanceDB. Chinese full-text search uses a jieba-segmented
 * column (or LanceDB's character-bigram tokenizer); vector search is exact until a table reaches
 * `vectorIndexMinRows`, then an HNSW index (`vectorIndex`) with exact re-ranking. Upserts and index
 * builds report progress (`index-<table>`: write batches, then each index).
 *
 * @example
 * ```ts
 * const index = await openRagIndex({ uri: 'runs/index', embedder: createHashingEmbedder() });
 * await index.upsertExemplars(trainSamples);
 * const hits = await index.search('什么时候补货', { mode: 'hybrid', k: 5, filter: { task: 'intent' } });
 * ```
 */
export async function openRagIndex(options: RagIndexOptions): Promise<RagIndex> {
  guardLanceCpuPool();
  const { embedder } = options;
  const fts = options.fts ?? 'jieba';
  const minRows = options.vectorIndexMinRows ?? 20_000;
  const vectorIndex = options.vectorIndex ?? 'ivf_hnsw_sq';
  let db: Connection;
  try {
    db = await connect(options.uri, options.storageOptions ? { storageOptions: options.storageOptions } : {});
  } catch (cause) {
    throw new LlmIrError({ code: 'io', message: `cannot open LanceDB at ${options.uri}: ${(cause as Error).message}`, cause });
  }
  const tables = new Map<TableName, Table>();

  async function open(name: TableName, create: boolean): Promise<Table | undefined> {
    const cached = tables.get(name);
    if (cached) return cached;
    const names = await db.tableNames();
    let t: Table | undefined;
    if (names.includes(name)) {
      t = await db.openTable(name);
      const recorded = (await t.schema()).metadata.get('llm-ir.embedder');
      if (recorded && recorded !== embedder.id) {
        throw new LlmIrError({ code: 'config-invalid', message: `table ${name} was built with embedder ${recorded}, not ${embedder.id}` });
      }
    } else if (create) {
      t = await db.createEmptyTable(name, schemaFor(name, embedder.dim, embedder.id));
    }
    if (t) tables.set(name, t);
    return t;
  }

  /** The indexed columns of a table (`vector`, `text_seg`, `task`, ...). */
  async function indexedColumns(t: Table): Promise<Set<string>> {
    return new Set((await t.listIndices()).map((i) => i.columns.join(',')));
  }

  /** Whether {@link ensureIndices} builds the vector index of a table with these indices and rows. */
  const vectorIndexDue = (have: Set<string>, rows: number) => rows >= minRows && !have.has('vector');

  /** The index steps {@link ensureIndices} will take on a table of `rows` rows (for progress totals). */
  async function indexSteps(t: Table, rows: number): Promise<number> {
    return 1 + (vectorIndexDue(await indexedColumns(t), rows) ? 1 : 0);
  }

  async function ensureIndices(t: Table, name: TableName, step: () => void = () => {}): Promise<void> {
    vectorIndexes.delete(name);
    const have = await indexedColumns(t);
    const rows = await t.countRows();
    if (rows === 0) return;
    const ftsColumn = fts === 'jieba' ? 'text_seg' : 'text';
    // rows added after an index are folded into the other indices by optimize(); the full-text index is
    // rebuilt whole (0.6 s at 100k rows): with lance's CPU pool at two threads, a query over an index of
    // several segments returned ties in varying order from run to run, one segment is deterministic
    if (have.has(ftsColumn)) await t.optimize();
    await t.createIndex(ftsColumn, {
      config: fts === 'jieba' ? Index.fts({ baseTokenizer: 'whitespace', lowercase: true, stem: false, removeStopWords: false, asciiFolding: false }) : Index.fts({ baseTokenizer: 'ngram', ngramMinLength: 2, ngramMaxLength: 2, lowercase: true, stem: false, removeStopWords: false }),
      replace: true,
    });
    if (name === 'exemplars' && !have.has('task')) await t.createIndex('task', { config: Index.bitmap(), replace: true });
    step();
    if (vectorIndexDue(have, rows)) {
      await t.createIndex('vector', {
        // one IVF partition: the HNSW graph is the index (measured at 100k rows; more partitions cost recall)
        config: vectorIndex === 'ivf_hnsw_sq'
          ? Index.hnswSq({ distanceType: 'cosine', numPartitions: Math.max(1, Math.round(rows / 1_000_000)) })
          : Index.ivfPq({ distanceType: 'cosine', numPartitions: Math.max(8, Math.round(Math.sqrt(rows))), numSubVectors: Math.max(1, Math.floor(embedder.dim / 8)) }),
        replace: true,
      });
      step();
    }
  }

  async function upsert(name: TableName, rows: Array<Record<string, unknown>>, texts: string[], opts: { onProgress?: ProgressCallback; signal?: AbortSignal }): Promise<number> {
    if (rows.length === 0) return 0;
    const vectors = await embedAll(embedder, texts, opts);
    const data = rows.map((r, i) => ({ ...r, vector: Array.from(vectors[i]!) }));
    const t = (await open(name, true))!;
    // written in batches (progress, bounded memory in the writer), then the indices, each a step
    const batches = Math.ceil(data.length / WRITE_BATCH);
    const progress = startProgress(`index-${name}`, opts.onProgress, { total: batches + (await indexSteps(t, (await t.countRows()) + data.length)), unit: 'step' });
    try {
      for (let i = 0; i < data.length; i += WRITE_BATCH) {
        opts.signal?.throwIfAborted();
        await t.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data.slice(i, i + WRITE_BATCH));
        progress.advance();
      }
      opts.signal?.throwIfAborted();
      await ensureIndices(t, name, () => progress.advance());
    } finally {
      progress.end();
    }
    return rows.length;
  }

  /** Stored lineage roots of exemplar ids (ids not in the table are left out). */
  async function storedRoots(ids: readonly string[]): Promise<Map<string, string>> {
    const t = ids.length ? await open('exemplars', false) : undefined;
    if (!t) return new Map();
    const rows = (await t.query().where(`id IN (${ids.map(sqlString).join(', ')})`).select(['id', 'root']).toArray()) as Array<{ id: string; root: string }>;
    return new Map(rows.map((r) => [String(r.id), String(r.root)]));
  }

  /** The lineage root of a row: stored for it or its parent, else its parent (or itself). */
  async function rootOf(row: Pick<Sample, 'id' | 'parentId'>): Promise<string> {
    const stored = await storedRoots(row.parentId ? [row.id, row.parentId] : [row.id]);
    return (row.parentId ? stored.get(row.parentId) : undefined) ?? stored.get(row.id) ?? row.parentId ?? row.id;
  }

  function predicate(o: SearchOptions, table: TableName): string | undefined {
    const parts: string[] = [];
    if (o.filter?.task && table === 'exemplars') parts.push(`task = ${sqlString(o.filter.task)}`);
    if (o.filter?.label && table === 'exemplars') parts.push(`label = ${sqlString(o.filter.label)}`);
    if (o.filter?.source && table === 'knowledge') parts.push(`source = ${sqlString(o.filter.source)}`);
    if (o.filter?.productType && table === 'knowledge') parts.push(`product_type = ${sqlString(o.filter.productType)}`);
    if (o.excludeRoots?.length && table === 'exemplars') parts.push(`root NOT IN (${o.excludeRoots.map(sqlString).join(', ')})`);
    if (o.excludeIds?.length) parts.push(`id NOT IN (${o.excludeIds.map(sqlString).join(', ')})`);
    if (o.where) parts.push(`(${o.where})`);
    return parts.length ? parts.join(' AND ') : undefined;
  }

  function toHit(row: Record<string, unknown>, table: TableName, mode: 'vector' | 'fts' | 'hybrid'): SearchHit {
    const { id, text, text_seg: _s, vector: _v, _distance, _score, _relevance_score, ...rest } = row as Record<string, unknown> & { _distance?: number; _score?: number; _relevance_score?: number };
    const score = mode === 'vector' ? 1 - Number(_distance ?? 1) : mode === 'fts' ? Number(_score ?? 0) : Number(_relevance_score ?? 0);
    const fields: Record<string, unknown> = { ...rest };
    if (typeof fields['metadata'] === 'string') fields['metadata'] = JSON.parse(fields['metadata'] as string);
    return { id: String(id), text: String(text), table, score, fields };
  }

  async function* run(query: string | Sample, options: SearchOptions = {}): AsyncGenerator<SearchHit> {
    const table = options.table ?? 'exemplars';
    const own = options.excludeLineageOf;
    const o = own && table === 'exemplars' ? { ...options, excludeRoots: [...(options.excludeRoots ?? []), await rootOf(own)], excludeIds: [...(options.excludeIds ?? []), own.id] } : options;
    const current = await open(table, false);
    if (!current) return;
    // a past version is checked out on a table of its own, closed when the stream ends (or is left)
    const t = o.version !== undefined ? await db.openTable(table) : current;
    try {
      if (o.version !== undefined) await t.checkout(o.version);
      yield* hits(t, table, query, o);
    } finally {
      if (t !== current) t.close();
    }
  }

  /** The type of a table's vector index (`IvfHnswSq`, `IvfPq`, ...; '' without one), remembered until the next index build. */
  const vectorIndexes = new Map<TableName, string>();
  async function vectorIndexOf(t: Table, table: TableName): Promise<string> {
    let kind = vectorIndexes.get(table);
    if (kind === undefined) {
      kind = (await t.listIndices()).find((i) => i.columns.includes('vector'))?.indexType ?? '';
      vectorIndexes.set(table, kind);
    }
    return kind;
  }

  async function* hits(t: Table, table: TableName, query: string | Sample, o: SearchOptions): AsyncGenerator<SearchHit> {
    const mode = o.mode ?? 'hybrid';
    const k = o.k ?? 5;
    const text = typeof query === 'string' ? query : queryText(query);
    const where = predicate(o, table);
    const columns = table === 'knowledge' ? ['id', 'text', 'source', 'product_type', 'metadata'] : ['id', 'text', 'ocr_text', 'task', 'label', 'parent_id', 'root'];
    const ftsColumn = fts === 'jieba' ? 'text_seg' : 'text';
    const ftsQuery = fts === 'jieba' ? segmentWords(text) : text;
    const vec = mode === 'fts' ? undefined : (await embedder.embed([text]))[0]!;
    let q;
    if (mode === 'fts') {
      if (ftsQuery.trim() === '') return;
      q = t.query().fullTextSearch(ftsQuery, { columns: [ftsColumn] });
    } else {
      // the re-ranking default follows the index the table has (an older table may have IVF_PQ); lance's
      // HNSW search refuses an ef below the candidates it is asked for (k x refine): raised to it
      const refine = o.refineFactor ?? ((await vectorIndexOf(t, table)) === 'IvfPq' ? 10 : 5);
      q = t.query().nearestTo(vec!).distanceType('cosine').nprobes(o.nprobes ?? 32).ef(Math.max(o.ef ?? 100, k * refine)).refineFactor(refine);
      if (mode === 'hybrid' && ftsQuery.trim() !== '') q = q.fullTextSearch(ftsQuery, { columns: [ftsColumn] }).rerank(await rerankers.RRFReranker.create(60));
    }
    if (where) q = q.where(where);
    const effective = mode === 'hybrid' && ftsQuery.trim() === '' ? 'vector' : mode;
    const scores = effective === 'vector' ? ['_distance'] : effective === 'fts' ? ['_score'] : [];
    // record batches as LanceDB produces them: a consumer that stops early stops the scan
    for await (const batch of q.select([...columns, ...scores]).limit(k)) {
      for (const row of batch.toArray() as Array<Record<string, unknown>>) yield toHit(row, table, effective);
    }
  }

  return {
    embedder,
    async upsertKnowledge(items, opts = {}) {
      return upsert(
        'knowledge',
        items.map((i) => ({ id: i.id, text: i.text, text_seg: segmentWords(i.text), source: i.source, product_type: i.productType ?? '', metadata: JSON.stringify(i.metadata ?? {}) })),
        items.map((i) => i.text),
        opts,
      );
    },
    async upsertExemplars(samples, opts = {}) {
      const unlabelled = samples.find((s) => s.label === undefined);
      if (unlabelled) throw new LlmIrError({ code: 'invalid-row', message: 'exemplars need labels (test rows never enter the index)', id: unlabelled.id });
      // roots follow chains of variants, within this batch (core's lineageRoots) and into rows stored before
      const batchRoots = lineageRoots(samples);
      const inBatch = new Set(samples.map((s) => s.id));
      const earlier = await storedRoots([...new Set(batchRoots.filter((r) => !inBatch.has(r)))]);
      return upsert(
        'exemplars',
        samples.map((s, i) => {
          const dialogue = dialogueText(s);
          const ocr = ocrText(s);
          return { id: s.id, text: dialogue, text_seg: segmentWords(queryText(s)), ocr_text: ocr, task: s.task, label: s.label!, parent_id: s.parentId ?? '', root: earlier.get(batchRoots[i]!) ?? batchRoots[i]! };
        }),
        samples.map((s) => queryText(s)),
        opts,
      );
    },
    async search(query, o) {
      const out: SearchHit[] = [];
      for await (const h of run(query, o)) out.push(h);
      return out;
    },
    searchStream: (query, o) => run(query, o),
    async version(name) {
      const t = await open(name, false);
      return t ? t.version() : 0;
    },
    async optimize() {
      for (const name of ['knowledge', 'exemplars'] as const) {
        const t = await open(name, false);
        if (t) await ensureIndices(t, name);
      }
    },
    async info() {
      const out: IndexInfo = { uri: options.uri, embedder: embedder.id, tables: {} };
      for (const name of ['knowledge', 'exemplars'] as const) {
        const t = await open(name, false);
        if (t) out.tables[name] = { rows: await t.countRows(), version: await t.version(), indices: (await t.listIndices()).map((i) => `${i.name} (${i.indexType} on ${i.columns.join(',')})`) };
      }
      return out;
    },
    async close() {
      for (const t of tables.values()) t.close();
      db.close();
    },
  };
}
