import { type LlmIrError, type Prediction, type ProgressCallback, type Sample } from '@llm-ir/core';
import { startProgress } from '@llm-ir/core/run';
import type { Teacher } from './teachers.ts';

/** Options of {@link pseudoLabel}. */
export interface PseudoLabelOptions {
  /** Keep a row only when the teacher's top probability is at least this. @default 0.5 */
  minConfidence?: number;
  /** With an ensemble teacher's `agreement` map: keep a row only when this share of teachers agree. @default 0 */
  minAgreement?: number;
  /** Keep at most this many rows per class (most confident first). @default no cap */
  perClassCap?: number;
  /** Progress of the teacher run. */
  onProgress?: ProgressCallback;
  /** Cancels. */
  signal?: AbortSignal;
  /** Each row the teacher could not label, with the reason (kind, HTTP status, the answer). */
  onError?: (id: string, error: LlmIrError) => void;
}

/** What {@link pseudoLabel} returns. */
export interface PseudoLabelResult {
  /** Unlabelled rows that were kept, now with `label` set and `meta.pseudoLabel` recording the teacher. */
  rows: Sample[];
  /** Teacher probabilities of every labelled row (kept or not): the soft labels for distillation. */
  soft: Array<{ id: string; probs: Record<string, number> }>;
  /** Kept rows per task/label, rows dropped and why, and a confidence histogram (10 bins over [0, 1]). */
  report: { kept: Record<string, number>; dropped: { lowConfidence: number; disagreement: number; overCap: number; unlabelled: number }; histogram: number[] };
}

/**
 * Labels unlabelled rows with a teacher and keeps the confident ones as training rows
 * (challenge-format samples with `output` set), plus a soft-label file for every row the teacher
 * labelled and a report (kept per class, drops, confidence histogram).
 */
export async function pseudoLabel(unlabelled: readonly Sample[], teacher: Teacher & { agreement?: Map<string, number> }, options: PseudoLabelOptions = {}): Promise<PseudoLabelResult> {
  const progress = startProgress('pseudo-label', options.onProgress, { total: 1, unit: 'run' });
  const preds = await teacher.label(unlabelled, { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}), ...(options.onError ? { onError: options.onError } : {}) });
  const byId = new Map(preds.map((p) => [p.id, p]));
  const histogram = new Array<number>(10).fill(0);
  const dropped = { lowConfidence: 0, disagreement: 0, overCap: 0, unlabelled: 0 };
  const candidates: Array<{ s: Sample; p: Prediction; conf: number }> = [];
  for (const s of unlabelled) {
    const p = byId.get(s.id);
    if (!p) {
      dropped.unlabelled++;
      continue;
    }
    const conf = p.probs?.[p.label] ?? 1;
    histogram[Math.min(9, Math.floor(conf * 10))]!++;
    if (conf < (options.minConfidence ?? 0.5)) {
      dropped.lowConfidence++;
      continue;
    }
    if ((teacher.agreement?.get(s.id) ?? 1) < (options.minAgreement ?? 0)) {
      dropped.disagreement++;
      continue;
    }
    candidates.push({ s, p, conf });
  }
  candidates.sort((a, b) => b.conf - a.conf || (a.s.id < b.s.id ? -1 : 1));
  const kept: Record<string, number> = {};
  const rows: Sample[] = [];
  for (const c of candidates) {
    const key = `${c.s.task}/${c.p.label}`;
    if (options.perClassCap !== undefined && (kept[key] ?? 0) >= options.perClassCap) {
      dropped.overCap++;
      continue;
    }
    kept[key] = (kept[key] ?? 0) + 1;
    rows.push({ ...c.s, label: c.p.label, meta: { ...c.s.meta, pseudoLabel: { teacher: teacher.id, confidence: c.conf } } });
  }
  const order = new Map(unlabelled.map((s, i) => [s.id, i]));
  rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  progress.advance();
  progress.end();
  return { rows, soft: preds.filter((p) => p.probs).map((p) => ({ id: p.id, probs: p.probs! })), report: { kept, dropped, histogram } };
}
