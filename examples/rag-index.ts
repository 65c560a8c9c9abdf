// @llm-ir/rag-index: index the labelled rows in LanceDB and retrieve few-shot cases for a prompt.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSamples } from '@llm-ir/core';
import { writeChallengeRow } from '@llm-ir/core/challenge';
import { enrichInstruction, fitHashingEmbedder, knowledgeFromLabels, openRagIndex, retrieveContext } from '@llm-ir/rag-index';
import { queryText } from '@llm-ir/rag-index/text';

const { samples } = await loadSamples('../shared/datasets/www2025-mire/train.json');
const index = await openRagIndex({ uri: join(mkdtempSync(join(tmpdir(), 'rag-')), 'db'), embedder: fitHashingEmbedder(samples.map((s) => queryText(s))) });
await index.upsertExemplars(samples);
await index.upsertKnowledge(knowledgeFromLabels());
for (const h of await index.search('这款什么时候补货', { mode: 'fts', k: 3, filter: { task: 'intent' } })) console.log(h.fields['label'], h.text.slice(0, 40).replace(/\n/g, ' '));
const s = samples.find((x) => x.task === 'intent')!;
console.log(writeChallengeRow(enrichInstruction(s, await retrieveContext(index, s, { k: 2 }))).instruction.slice(0, 400));
await index.close();
