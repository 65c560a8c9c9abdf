import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { LlmIrError, type Sample } from '@llm-ir/core';
import { readJsonl } from '@llm-ir/core/io';
import { createTransformersEmbedder, fitHashingEmbedder, knowledgeFromAgentReplies, knowledgeFromLabels, knowledgeFromTitles, openRagIndex, type Embedder, type KnowledgeItem } from '@llm-ir/rag-index';
import { queryText } from '@llm-ir/rag-index/text';
import { deserializeHashingEmbedder, serializeHashingEmbedder } from '@llm-ir/rag-index/embedders';
import { CliExit, EXIT, loadOrReport, type CliIo } from '../context.ts';
import { terminalProgress } from '../progress-bar.ts';
import { intFlag } from '../flags.ts';

const EMBEDDER_FILE = 'embedder.json';

async function readKnowledgeFile(path: string): Promise<KnowledgeItem[]> {
  // taobao-titles shape ({text, entities}) or generic ({id?, text, source?, productType?, metadata?})
  const first = (await readFile(path, 'utf8')).split('\n', 1)[0] ?? '';
  if (first.includes('"entities"')) return knowledgeFromTitles(path);
  const out: KnowledgeItem[] = [];
  for await (const r of readJsonl<Partial<KnowledgeItem>>(path)) {
    if (!r.ok) throw r.error;
    if (typeof r.value.text !== 'string') throw new LlmIrError({ code: 'invalid-row', message: 'knowledge line needs "text"', file: path, row: r.row });
    out.push({ id: r.value.id ?? `${path}:${r.row}`, text: r.value.text, source: r.value.source ?? path, ...(r.value.productType ? { productType: r.value.productType } : {}), ...(r.value.metadata ? { metadata: r.value.metadata } : {}) });
  }
  return out;
}

async function loadEmbedder(db: string): Promise<Embedder> {
  const file = join(db, EMBEDDER_FILE);
  if (!existsSync(file)) throw new LlmIrError({ code: 'io', message: `no ${EMBEDDER_FILE} in ${db}: build the index with \`llm-ir index build\` first`, file });
  const json = await readFile(file, 'utf8');
  const kind = (JSON.parse(json) as { kind: string }).kind;
  if (kind === 'hashing') return deserializeHashingEmbedder(json);
  const o = JSON.parse(json) as { model: string; localModelPath?: string; allowRemoteModels?: boolean };
  return createTransformersEmbedder({ model: o.model, ...(o.localModelPath ? { localModelPath: o.localModelPath } : {}), allowRemoteModels: o.allowRemoteModels ?? true });
}

/** `llm-ir index build | search | info`. */
export function indexCommand(io: CliIo): Command {
  const index = new Command('index').description('LanceDB index of product knowledge and labelled exemplars (retrieval for prompts and kNN)');

  index
    .command('build')
    .description('build or update the index (upserts by id; each build is a new table version)')
    .requiredOption('--db <dir>', 'database folder (or s3:// URI)')
    .option('--exemplars <file>', 'labelled challenge JSON / samples JSONL (with OCR when present)')
    .option('--knowledge <file...>', 'knowledge JSONL files (taobao-titles shape or {id?, text, source?})')
    .option('--no-agent-replies', 'do not mine FAQ-like agent replies from the exemplars')
    .option('--no-label-descriptions', 'do not add the label descriptions')
    .option('--embedder <name>', 'hashing (TF-IDF feature hashing, fitted here) or transformers:<model>', 'hashing')
    .option('--local-models <dir>', 'folder of local transformers models')
    .option('--offline', 'never download models', false)
    .addOption(new Option('--fts <mode>', 'Chinese full-text search').choices(['jieba', 'ngram']).default('jieba'))
    .action(async (flags: { db: string; exemplars?: string; knowledge?: string[]; agentReplies: boolean; labelDescriptions: boolean; embedder: string; localModels?: string; offline: boolean; fts: 'jieba' | 'ngram' }) => {
      let exemplars: Sample[] = [];
      let bad = 0;
      if (flags.exemplars) {
        const loaded = await loadOrReport(flags.exemplars, io, { labels: true });
        exemplars = loaded.samples.filter((s) => s.label !== undefined);
        bad = loaded.errors.length;
      }
      const knowledge: KnowledgeItem[] = [];
      for (const f of flags.knowledge ?? []) knowledge.push(...(await readKnowledgeFile(f)));
      if (flags.agentReplies) knowledge.push(...knowledgeFromAgentReplies(exemplars));
      if (flags.labelDescriptions) knowledge.push(...knowledgeFromLabels());
      const isLocal = !/^[a-z0-9]+:\/\//.test(flags.db);
      if (isLocal) await mkdir(flags.db, { recursive: true });
      let embedder: Embedder;
      const saved = isLocal && existsSync(join(flags.db, EMBEDDER_FILE));
      if (saved) embedder = await loadEmbedder(flags.db);
      else if (flags.embedder === 'hashing') {
        const fitted = fitHashingEmbedder([...knowledge.map((k) => k.text), ...exemplars.map((s) => queryText(s))]);
        embedder = fitted;
        if (isLocal) await writeFile(join(flags.db, EMBEDDER_FILE), serializeHashingEmbedder(fitted.options));
      } else if (flags.embedder.startsWith('transformers:')) {
        const model = flags.embedder.slice('transformers:'.length);
        const spec = { kind: 'transformers', model, ...(flags.localModels ? { localModelPath: resolve(flags.localModels) } : {}), allowRemoteModels: !flags.offline };
        embedder = await createTransformersEmbedder(spec);
        if (isLocal) await writeFile(join(flags.db, EMBEDDER_FILE), JSON.stringify(spec));
      } else throw new LlmIrError({ code: 'config-invalid', message: `unknown embedder ${JSON.stringify(flags.embedder)} (hashing, transformers:<model>)` });
      const db = await openRagIndex({ uri: flags.db, embedder, fts: flags.fts });
      try {
        const onProgress = terminalProgress({ enabled: io.progress });
        const e = await db.upsertExemplars(exemplars, { onProgress });
        const k = await db.upsertKnowledge(knowledge, { onProgress });
        io.stdout(`${e} exemplars and ${k} knowledge items upserted into ${flags.db} (${embedder.id})\n`);
      } finally {
        await db.close();
      }
      if (bad) {
        io.stderr(`${bad} bad row(s) skipped\n`);
        throw new CliExit(EXIT.partial);
      }
    });

  index
    .command('search')
    .description('search the index with a (Chinese or English) query')
    .requiredOption('--db <dir>', 'database folder')
    .argument('<query>', 'query text')
    .option('--k <k>', 'results', intFlag('--k', { min: 1 }), '5')
    .addOption(new Option('--mode <mode>', 'search mode').choices(['vector', 'fts', 'hybrid']).default('hybrid'))
    .addOption(new Option('--table <table>', 'table').choices(['exemplars', 'knowledge']).default('exemplars'))
    .addOption(new Option('--task <task>', 'only exemplars of this task').choices(['scene', 'intent']))
    .option('--label <label>', 'only exemplars with this label')
    .option('--source <source>', 'only knowledge from this source')
    .option('--json', 'one JSON object per hit', false)
    .action(async (query: string, flags: { db: string; k: string; mode: 'vector' | 'fts' | 'hybrid'; table: 'exemplars' | 'knowledge'; task?: 'scene' | 'intent'; label?: string; source?: string; json: boolean }) => {
      const db = await openRagIndex({ uri: flags.db, embedder: await loadEmbedder(flags.db) });
      try {
        const filter = { ...(flags.task ? { task: flags.task } : {}), ...(flags.label ? { label: flags.label } : {}), ...(flags.source ? { source: flags.source } : {}) };
        for await (const h of db.searchStream(query, { k: Number(flags.k), mode: flags.mode, table: flags.table, filter })) {
          if (flags.json) io.stdout(`${JSON.stringify(h)}\n`);
          else io.stdout(`${h.score.toFixed(4)}  ${h.table === 'exemplars' ? `[${String(h.fields['task'])}/${String(h.fields['label'])}] ` : `[${String(h.fields['source'])}] `}${h.text.replace(/\s+/g, ' ').slice(0, 120)}\n`);
        }
      } finally {
        await db.close();
      }
    });

  index
    .command('info')
    .description('tables, rows, versions and indices')
    .requiredOption('--db <dir>', 'database folder')
    .option('--json', 'print JSON', false)
    .action(async (flags: { db: string; json: boolean }) => {
      const db = await openRagIndex({ uri: flags.db, embedder: await loadEmbedder(flags.db) });
      try {
        const info = await db.info();
        if (flags.json) io.stdout(`${JSON.stringify(info)}\n`);
        else {
          io.stdout(`${info.uri}  embedder ${info.embedder}\n`);
          for (const [name, t] of Object.entries(info.tables)) io.stdout(`  ${name}: ${t.rows} rows, version ${t.version}; indices: ${t.indices.join('; ') || 'none'}\n`);
        }
      } finally {
        await db.close();
      }
    });
  return index;
}
