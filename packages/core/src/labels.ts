import { INTENT_LABEL_DATA, SCENE_LABEL_DATA } from './label-data.ts';
import type { Task } from './types.ts';

/** One label of a task: canonical Chinese name, English gloss and description. */
export interface LabelInfo {
  /** Canonical label, exactly as in the official prompt. */
  zh: string;
  /** English gloss. */
  en: string;
  /** Chinese description from the challenge. */
  descriptionZh: string;
  /** Rows with this label in the full official training set (1,000 rows). */
  officialTrainCount: number;
}

/** The labels of one task, in prompt order, with lookups. */
export interface LabelSet {
  /** The task. */
  task: Task;
  /** Labels in the order of the official prompt. */
  labels: readonly LabelInfo[];
  /** Canonical labels (`zh`) in prompt order. */
  names: readonly string[];
  /** The label with this canonical name or English gloss (case-insensitive), if any. */
  get(nameOrGloss: string): LabelInfo | undefined;
  /** True when `name` is a canonical label of this set. */
  has(name: string): boolean;
  /** Position of a canonical label in prompt order, or -1. */
  indexOf(name: string): number;
}

function makeLabelSet(task: Task, labels: readonly LabelInfo[]): LabelSet {
  const byZh = new Map(labels.map((l) => [l.zh, l]));
  const byEn = new Map(labels.map((l) => [l.en.toLowerCase(), l]));
  const index = new Map(labels.map((l, i) => [l.zh, i]));
  return Object.freeze({
    task,
    labels,
    names: Object.freeze(labels.map((l) => l.zh)),
    get: (key: string) => byZh.get(key) ?? byEn.get(key.trim().toLowerCase()),
    has: (name: string) => byZh.has(name),
    indexOf: (name: string) => index.get(name) ?? -1,
  });
}

/** The 25 image-scene labels of the challenge, in prompt order. */
export const SCENE_LABELS: LabelSet = makeLabelSet('scene', SCENE_LABEL_DATA);
/** The 23 dialogue-intent labels of the challenge, in prompt order. */
export const INTENT_LABELS: LabelSet = makeLabelSet('intent', INTENT_LABEL_DATA);

/** The label set of a task. */
export function labelSetOf(task: Task): LabelSet {
  return task === 'scene' ? SCENE_LABELS : INTENT_LABELS;
}

/** Builds a label set from your own labels (for other datasets), in the order given. */
export function createLabelSet(task: Task, labels: readonly LabelInfo[]): LabelSet {
  return makeLabelSet(task, labels);
}

const QUOTES_AND_BRACKETS = /["'`“”‘’「」『』《》〈〉【】\[\]{}<>]/g;
const TRAILING_PUNCT = /[。．.!！?？;；:：,，、~～\s]+$/u;
const LEADING_NOISE = /^[\s:：\-–—*#>]+/u;
const PREFIXES = [
  /^(?:分类标签|分类结果|标签|类别|意图|答案|结果|回答|场景|图片分类结果|意图分类标签|label|answer|intent|category|class)\s*(?:是|为)?\s*[:：]?\s*/iu,
];

/** NFKC (full-width to half-width), unified brackets, no whitespace. Exported for tests and tools. */
export function normalizeLabelText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\s+/gu, '')
    .replace(QUOTES_AND_BRACKETS, '')
    .toLowerCase();
}

/** What {@link matchLabel} decided. */
export type LabelMatch =
  | { ok: true; label: string; how: 'exact' | 'normalized' | 'gloss' | 'contained' }
  | { ok: false; reason: 'empty' | 'no-match' | 'ambiguous'; candidates?: string[] };

/**
 * Maps a model's output to a canonical label of `labelSet`, forgiving the usual near misses:
 * surrounding whitespace, quotes and brackets, full-/half-width punctuation (NFKC), a trailing 。,
 * a prefix such as `分类标签：`, an English gloss, or a single label contained in a longer answer.
 * Says so when it cannot decide (no label, or several labels contained).
 *
 * @example
 * ```ts
 * matchLabel('「退款页面」。', SCENE_LABELS) // { ok: true, label: '退款页面', how: 'normalized' }
 * matchLabel('Refund page', SCENE_LABELS)   // { ok: true, label: '退款页面', how: 'gloss' }
 * ```
 */
export function matchLabel(text: string, labelSet: LabelSet): LabelMatch {
  if (labelSet.has(text)) return { ok: true, label: text, how: 'exact' };
  let cleaned = text.trim().replace(LEADING_NOISE, '');
  for (const p of PREFIXES) cleaned = cleaned.replace(p, '');
  cleaned = cleaned.replace(TRAILING_PUNCT, '');
  if (cleaned === '') return { ok: false, reason: 'empty' };
  if (labelSet.has(cleaned)) return { ok: true, label: cleaned, how: 'normalized' };
  const key = normalizeLabelText(cleaned);
  if (key === '') return { ok: false, reason: 'empty' };
  for (const l of labelSet.labels) {
    if (normalizeLabelText(l.zh) === key) return { ok: true, label: l.zh, how: 'normalized' };
  }
  for (const l of labelSet.labels) {
    if (normalizeLabelText(l.en) === key) return { ok: true, label: l.zh, how: 'gloss' };
  }
  // A longer answer that names exactly one label (longest match wins over its own substrings).
  const contained = labelSet.labels.filter((l) => key.includes(normalizeLabelText(l.zh))).map((l) => l.zh);
  const maximal = contained.filter(
    (a) => !contained.some((b) => b !== a && normalizeLabelText(b).includes(normalizeLabelText(a))),
  );
  if (maximal.length === 1) return { ok: true, label: maximal[0]!, how: 'contained' };
  if (maximal.length > 1) return { ok: false, reason: 'ambiguous', candidates: maximal };
  return { ok: false, reason: 'no-match' };
}
