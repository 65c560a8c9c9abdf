import { type Sample } from '@llm-ir/core';
import { officialFrame, DIALOGUE_START, DIALOGUE_END } from '@llm-ir/core/challenge';
import type { RagIndex, SearchHit } from './rag-index.ts';
import { queryText } from './text.ts';

/** What {@link retrieveContext} found for a sample. */
export interface RetrievedContext {
  /** Labelled cases similar to the sample, diverse in label (MMR). */
  exemplars: Array<{ id: string; text: string; ocrText: string; label: string; score: number }>;
  /** Knowledge snippets. */
  knowledge: Array<{ id: string; text: string; source: string; score: number }>;
}

/** Options of {@link retrieveContext}. */
export interface RetrieveOptions {
  /** Exemplars to return. @default 3 */
  k?: number;
  /** Knowledge snippets to return. @default 3 */
  knowledgeK?: number;
  /** Characters of context in all (exemplars, then knowledge, cut to fit). @default 1200 */
  budgetChars?: number;
  /**
   * Label diversity in [0, 1]: 0 ranks by similarity alone; higher values penalise a candidate whose
   * label is already among the chosen (maximal marginal relevance over labels). @default 0.5
   */
  diversity?: number;
  /** Search mode. @default 'hybrid' */
  mode?: 'vector' | 'fts' | 'hybrid';
  /** Candidates fetched before diversification. @default 4 x k */
  candidates?: number;
  /**
   * This sample is a training row: its own lineage (itself, its parent, its siblings) is never
   * returned. Test rows need nothing: their labels never enter the index. @default true
   */
  excludeOwnLineage?: boolean;
}

/**
 * Retrieves few-shot context for a sample: `k` labelled exemplars of the same task (never the
 * sample's own lineage), re-ranked for label diversity with MMR, and knowledge snippets, within a
 * character budget. The sample is searched by its dialogue and OCR text only, never by its label.
 */
export async function retrieveContext(index: RagIndex, sample: Sample, options: RetrieveOptions = {}): Promise<RetrievedContext> {
  const k = options.k ?? 3;
  const diversity = options.diversity ?? 0.5;
  const mode = options.mode ?? 'hybrid';
  const exclude = options.excludeOwnLineage ?? true;
  const candidates = await index.search(sample, {
    table: 'exemplars',
    mode,
    k: options.candidates ?? 4 * k,
    filter: { task: sample.task },
    ...(exclude ? { excludeLineageOf: sample } : {}),
  });
  const chosen: SearchHit[] = [];
  const pool = [...candidates];
  const maxScore = Math.max(1e-9, ...pool.map((h) => h.score));
  while (chosen.length < k && pool.length) {
    let best = 0;
    let bestValue = -Infinity;
    pool.forEach((h, i) => {
      const repeats = chosen.filter((c) => c.fields['label'] === h.fields['label']).length;
      const value = (1 - diversity) * (h.score / maxScore) - diversity * repeats;
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    });
    chosen.push(pool.splice(best, 1)[0]!);
  }
  const knowledge = (options.knowledgeK ?? 3) > 0 ? await index.search(queryText(sample), { table: 'knowledge', mode, k: options.knowledgeK ?? 3 }) : [];
  const budget = options.budgetChars ?? 1200;
  let used = 0;
  const fit = (s: string) => {
    const left = budget - used;
    if (left <= 0) return undefined;
    const cut = [...s].slice(0, left).join('');
    used += [...cut].length;
    return cut;
  };
  const exemplars: RetrievedContext['exemplars'] = [];
  for (const h of chosen) {
    const text = fit(h.text);
    if (text === undefined) break;
    exemplars.push({ id: h.id, text, ocrText: String(h.fields['ocr_text'] ?? ''), label: String(h.fields['label']), score: h.score });
  }
  const out: RetrievedContext['knowledge'] = [];
  for (const h of knowledge) {
    const text = fit(h.text);
    if (text === undefined) break;
    out.push({ id: h.id, text, source: String(h.fields['source'] ?? ''), score: h.score });
  }
  return { exemplars, knowledge: out };
}

/** Heading of the few-shot block. */
export const EXEMPLARS_HEADING = '以下是与当前内容相似的已标注案例，仅供参考：';
/** Heading of the knowledge block. */
export const KNOWLEDGE_HEADING = '相关商品知识：';

/**
 * Writes retrieved context into a sample's challenge prompt, in a documented, stable format:
 * the few-shot cases go before the dialogue (intent rows: just before `<用户与客服的对话 START>`;
 * scene rows: after the image), the knowledge after it (just after `<用户与客服的对话 END>`;
 * scene rows: after the cases):
 *
 * ```
 * 以下是与当前内容相似的已标注案例，仅供参考：
 * 案例1：用户: ... 客服: ... → 标签：商品材质
 * 相关商品知识：
 * - 简约韩版粗跟 ... 亲子鞋
 * ```
 * Returns a new sample; only the prompt frame changes (turns, images and label are untouched).
 */
export function enrichInstruction(sample: Sample, context: RetrievedContext): Sample {
  const frame = sample.prompt ?? officialFrame(sample.task);
  const line = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  const cases = context.exemplars.length
    ? `${EXEMPLARS_HEADING}\n${context.exemplars.map((e, i) => `案例${i + 1}：${line(e.text)}${e.ocrText ? ` 图片文字: ${line(e.ocrText)}` : ''} → 标签：${e.label}`).join('\n')}\n`
    : '';
  const knowledge = context.knowledge.length ? `${KNOWLEDGE_HEADING}\n${context.knowledge.map((k) => `- ${line(k.text)}`).join('\n')}\n` : '';
  if (!cases && !knowledge) return sample;
  if (sample.task === 'intent') {
    const at = frame.head.lastIndexOf(DIALOGUE_START);
    const head = at === -1 ? `${frame.head}${cases}` : `${frame.head.slice(0, at)}${cases}${frame.head.slice(at)}`;
    const endAt = frame.beforeLabels.indexOf(DIALOGUE_END);
    const after = endAt === -1 ? frame.beforeLabels : `${frame.beforeLabels.slice(0, endAt + DIALOGUE_END.length)}\n${knowledge.replace(/\n$/, '')}${frame.beforeLabels.slice(endAt + DIALOGUE_END.length)}`;
    return { ...sample, prompt: { ...frame, head, beforeLabels: knowledge ? after : frame.beforeLabels } };
  }
  return { ...sample, prompt: { ...frame, beforeLabels: `\n${cases}${knowledge}`.replace(/\n$/, '') + frame.beforeLabels } };
}

