import type { OcrLine } from '@llm-ir/core';

/**
 * Which OCR lines to keep (the paper's "filter irrelevant content, denoise key information"). Each
 * filter is switchable so its effect can be measured; they run in the order listed here.
 */
export interface OcrFilterOptions {
  /** Drop lines below this confidence (0 keeps all). @default 0.6 */
  minConfidence?: number;
  /** Drop the phone status bar (clock, battery, carrier, signal) at the top of a screenshot. @default true */
  statusBar?: boolean;
  /** Top band (fraction of the height) where the status bar lives. @default 0.045 */
  statusBarBand?: number;
  /** Drop masked strings (the data hides names and addresses with * or bars) and garbled ones. @default true */
  masked?: boolean;
  /** Drop repeated lines (same text after NFKC and whitespace folding). @default true */
  dedupe?: boolean;
  /** Keep only the N most informative lines (reading order kept). @default no limit */
  topN?: number;
  /** How informative a line is for `topN`. @default box area x confidence */
  score?: (line: OcrLine) => number;
  /** Cap on the total characters kept, in reading order; the last line is cut to fit. @default no limit */
  maxChars?: number;
}

/** Why lines were dropped, with counts. */
export type DropReason = 'low-confidence' | 'status-bar' | 'masked' | 'duplicate' | 'top-n' | 'max-chars';

const TIME = /^[（(]?\d{1,2}[:：]\d{2}/;
const BATTERY = /\d{1,3}\s*%|電|电量/;
const SIGNAL = /\b(?:[2345]G|LTE|VoLTE|HD|VPN|WiFi|Wi-Fi|NFC|KB\/s|K\/s|B\/s)\b|中国移动|中国联通|中国电信|移动|联通|电信/i;
const MASKED = /\*{2,}|[█■▇▆▅▄▃▂▁◼◾]/;
const MEANINGFUL = /[\p{Script=Han}\p{L}\p{N}]/gu;

/** True for a status-bar line: in the top band and clock / battery / signal / carrier text or a short fragment. */
export function isStatusBarLine(line: OcrLine, band = 0.045): boolean {
  const centreY = (line.box[1] + line.box[3]) / 2;
  if (centreY > band) return false;
  const t = line.text.trim();
  return TIME.test(t) || BATTERY.test(t) || SIGNAL.test(t) || t.replace(/\s/g, '').length <= 3;
}

/** True for a masked (`t**1`, black bars) or garbled line (mostly symbols, or one stray Latin letter or mark). */
export function isMaskedOrGarbled(line: OcrLine): boolean {
  const t = line.text.replace(/\s+/g, '');
  if (t === '') return true;
  if (MASKED.test(t)) return true;
  const meaningful = (t.match(MEANINGFUL) ?? []).length;
  if (meaningful / [...t].length < 0.5) return true;
  return [...t].length === 1 && !/[\p{Script=Han}\d]/u.test(t);
}

function key(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, '').toLowerCase();
}

function area(l: OcrLine): number {
  return Math.max(0, l.box[2] - l.box[0]) * Math.max(0, l.box[3] - l.box[1]);
}

/**
 * Filters OCR lines (see {@link OcrFilterOptions}) and says how many each filter dropped.
 *
 * @example
 * ```ts
 * const { lines, dropped } = filterOcr(result.lines, { minConfidence: 0.7, topN: 20 });
 * ```
 */
export function filterOcr(lines: readonly OcrLine[], options: OcrFilterOptions = {}): { lines: OcrLine[]; dropped: Record<DropReason, number> } {
  const dropped: Record<DropReason, number> = { 'low-confidence': 0, 'status-bar': 0, masked: 0, duplicate: 0, 'top-n': 0, 'max-chars': 0 };
  let kept = [...lines];
  const drop = (reason: DropReason, keep: (l: OcrLine) => boolean) => {
    const before = kept.length;
    kept = kept.filter(keep);
    dropped[reason] += before - kept.length;
  };
  const minConfidence = options.minConfidence ?? 0.6;
  if (minConfidence > 0) drop('low-confidence', (l) => l.confidence >= minConfidence);
  if (options.statusBar ?? true) drop('status-bar', (l) => !isStatusBarLine(l, options.statusBarBand));
  if (options.masked ?? true) drop('masked', (l) => !isMaskedOrGarbled(l));
  if (options.dedupe ?? true) {
    const seen = new Set<string>();
    drop('duplicate', (l) => {
      const k = key(l.text);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  if (options.topN !== undefined && kept.length > options.topN) {
    const score = options.score ?? ((l: OcrLine) => area(l) * l.confidence);
    const best = new Set([...kept].sort((a, b) => score(b) - score(a)).slice(0, Math.max(0, options.topN)));
    drop('top-n', (l) => best.has(l));
  }
  if (options.maxChars !== undefined) {
    let budget = options.maxChars;
    const out: OcrLine[] = [];
    for (const l of kept) {
      if (budget <= 0) break;
      const chars = [...l.text];
      if (chars.length <= budget) out.push(l);
      else out.push({ ...l, text: chars.slice(0, budget).join('') });
      budget -= Math.min(chars.length, budget);
    }
    dropped['max-chars'] += kept.length - out.length;
    kept = out;
  }
  return { lines: kept, dropped };
}
