import { INTENT_LABELS, SCENE_LABELS, type Sample } from '@llm-ir/core';
import { readJsonl, sha256 } from '@llm-ir/core/io';
import type { KnowledgeItem } from './rag-index.ts';
import { plainText } from './text.ts';

/**
 * Knowledge items from product titles in the JSONL shape of `taobao-titles` (`{text, entities:
 * [{type, text}]}`): the title as text, its product-type entity (HCCX) as product type, brands (HPPX)
 * in the metadata. Bad lines are skipped.
 */
export async function knowledgeFromTitles(path: string, options: { limit?: number; source?: string } = {}): Promise<KnowledgeItem[]> {
  const out: KnowledgeItem[] = [];
  for await (const r of readJsonl<{ text?: string; entities?: Array<{ type: string; text: string }> }>(path)) {
    if (!r.ok || typeof r.value.text !== 'string' || r.value.text.trim() === '') continue;
    const ents = r.value.entities ?? [];
    out.push({
      id: `title:${sha256(r.value.text).slice(0, 16)}`,
      text: r.value.text,
      source: options.source ?? 'taobao-titles',
      productType: ents.find((e) => e.type === 'HCCX')?.text ?? '',
      metadata: { brands: ents.filter((e) => e.type === 'HPPX').map((e) => e.text), models: ents.filter((e) => e.type === 'XH').map((e) => e.text) },
    });
    if (options.limit !== undefined && out.length >= options.limit) break;
  }
  return out;
}

const BOILERPLATE = /^(亲|您好|在的|好的|嗯|谢谢|不客气|抱歉|稍等)[!！~～。，,.\s]*$/;

/**
 * FAQ-like knowledge mined from the agent (`客服`) turns of training dialogues: replies of at least
 * `minChars` characters that are not greetings, de-duplicated; the question is the user turn before.
 */
export function knowledgeFromAgentReplies(samples: readonly Sample[], options: { minChars?: number } = {}): KnowledgeItem[] {
  const seen = new Set<string>();
  const out: KnowledgeItem[] = [];
  for (const s of samples) {
    s.turns.forEach((t, i) => {
      if (t.role !== 'agent') return;
      const text = plainText(t.text);
      if ([...text].length < (options.minChars ?? 20) || BOILERPLATE.test(text)) return;
      const key = sha256(text);
      if (seen.has(key)) return;
      seen.add(key);
      const question = s.turns[i - 1]?.role === 'user' ? s.turns[i - 1]!.text : '';
      out.push({ id: `reply:${key.slice(0, 16)}`, text, source: 'agent-replies', metadata: { question, row: s.id } });
    });
  }
  return out;
}

/** The label descriptions of both tasks as knowledge (`标签：描述`). */
export function knowledgeFromLabels(): KnowledgeItem[] {
  return [...SCENE_LABELS.labels.map((l) => ({ l, task: 'scene' })), ...INTENT_LABELS.labels.map((l) => ({ l, task: 'intent' }))].map(({ l, task }) => ({
    id: `label:${task}:${l.zh}`,
    text: `${l.zh}：${l.descriptionZh}`,
    source: 'label-descriptions',
    productType: '',
    metadata: { task, label: l.zh, en: l.en },
  }));
}
