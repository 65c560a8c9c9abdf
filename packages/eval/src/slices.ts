import { type Sample } from '@llm-ir/core';
import { sampleImages } from '@llm-ir/core/challenge';
import { classificationReport, uniqueLabels } from './metrics.ts';
import { alignPredictions, MISSING_PREDICTION, type PredictedRow } from './score.ts';
import type { Table } from './ablation.ts';

/** The score of one slice of the test rows. */
export interface SliceScore {
  /** Slice family (`images`, `dialogue`, `ocr`, `label-frequency`). */
  family: string;
  /** Slice name (`0 images`, `5-8 turns`, ...). */
  slice: string;
  /** Rows in the slice. */
  n: number;
  /** Weighted F1 over the slice's rows (pooled labels). */
  weightedF1: number;
  /** Accuracy over the slice's rows. */
  accuracy: number;
  /** weightedF1 minus the overall pooled weighted F1. */
  gap: number;
}

/** A class that does badly, with its most frequent wrong answers. */
export interface WeakClass {
  /** Task of the class. */
  task: Sample['task'];
  /** The class. */
  label: string;
  /** Its F1. */
  f1: number;
  /** Gold rows of it. */
  support: number;
  /** Most frequent wrong predictions for its rows: label and count. */
  confusions: Array<{ predicted: string; count: number }>;
}

/** Options of {@link errorSlices}. */
export interface SliceOptions {
  /** Label counts of the training data (for the label-frequency slices); default: gold counts. */
  trainLabelCounts?: Record<string, number>;
  /** How many weak classes to list per task. @default 5 */
  worst?: number;
}

function turnBucket(s: Sample): string {
  if (s.task === 'scene') return 'scene row';
  const n = s.turns.length;
  return n <= 4 ? '<= 4 turns' : n <= 8 ? '5-8 turns' : '>= 9 turns';
}

/**
 * Scores slices of the test rows (number of images, dialogue length, OCR text present, label
 * frequency: head / middle / tail thirds of the labels by training count) with each slice's gap to
 * the overall score, and lists each task's weakest classes with their most frequent confusions.
 */
export function errorSlices(gold: readonly Sample[], predictions: readonly PredictedRow[], options: SliceOptions = {}): { overall: number; slices: SliceScore[]; worst: WeakClass[] } {
  const rows = gold.filter((g) => g.label !== undefined);
  const { predicted } = alignPredictions(rows.map((g) => ({ id: g.id, task: g.task, label: g.label! })), predictions);
  const goldLabels = rows.map((g) => g.label!);
  const score = (idx: number[]) => {
    const g = idx.map((i) => goldLabels[i]!);
    const p = idx.map((i) => predicted[i]!);
    const r = classificationReport(g, p, { labels: uniqueLabels(g, p.filter((x) => x !== MISSING_PREDICTION)), zeroDivision: 0 });
    return { f1: r.n ? r.weighted.f1 : Number.NaN, acc: r.accuracy, n: r.n };
  };
  const all = rows.map((_, i) => i);
  const overall = score(all).f1;

  const counts = options.trainLabelCounts ?? Object.fromEntries(uniqueLabels(goldLabels).map((l) => [l, goldLabels.filter((x) => x === l).length]));
  const byFreq = [...new Set(goldLabels)].sort((a, b) => (counts[b] ?? 0) - (counts[a] ?? 0) || (a < b ? -1 : 1));
  const third = Math.ceil(byFreq.length / 3);
  const freqBucket = new Map(byFreq.map((l, i) => [l, i < third ? 'head (most frequent third)' : i < 2 * third ? 'middle third' : 'tail (least frequent third)']));

  const families: Array<[string, (s: Sample) => string]> = [
    ['images', (s) => { const n = sampleImages(s).length; return n === 0 ? '0 images' : n === 1 ? '1 image' : '2+ images'; }],
    ['dialogue', turnBucket],
    ['ocr', (s) => (s.ocr && Object.values(s.ocr).some((lines) => lines.some((l) => l.text.trim() !== '')) ? 'OCR text' : 'no OCR text')],
    ['label-frequency', (s) => freqBucket.get(s.label!) ?? 'unknown'],
  ];
  const slices: SliceScore[] = [];
  for (const [family, key] of families) {
    const groups = new Map<string, number[]>();
    rows.forEach((s, i) => {
      const k = key(s);
      const list = groups.get(k);
      if (list) list.push(i);
      else groups.set(k, [i]);
    });
    for (const [slice, idx] of [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const s = score(idx);
      slices.push({ family, slice, n: s.n, weightedF1: s.f1, accuracy: s.acc, gap: s.f1 - overall });
    }
  }

  const worst: WeakClass[] = [];
  for (const task of ['scene', 'intent'] as const) {
    const idx = all.filter((i) => rows[i]!.task === task);
    if (idx.length === 0) continue;
    const g = idx.map((i) => goldLabels[i]!);
    const p = idx.map((i) => predicted[i]!);
    const r = classificationReport(g, p, { labels: uniqueLabels(g), zeroDivision: 0 });
    const weak = r.perClass.filter((c) => c.support > 0).sort((a, b) => a.f1 - b.f1 || b.support - a.support).slice(0, options.worst ?? 5);
    for (const c of weak) {
      const wrong = new Map<string, number>();
      g.forEach((gl, j) => {
        if (gl === c.label && p[j] !== gl) wrong.set(p[j]!, (wrong.get(p[j]!) ?? 0) + 1);
      });
      worst.push({
        task,
        label: c.label,
        f1: c.f1,
        support: c.support,
        confusions: [...wrong.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([predictedLabel, count]) => ({ predicted: predictedLabel === MISSING_PREDICTION ? '(missing)' : predictedLabel, count })),
      });
    }
  }
  return { overall, slices, worst };
}

/** The slices as a table (scores x 100). */
export function slicesTable(result: ReturnType<typeof errorSlices>): Table {
  return {
    title: `Error slices (overall pooled weighted F1 ${(100 * result.overall).toFixed(2)})`,
    columns: ['Family', 'Slice', 'n', 'Weighted F1', 'Accuracy', 'Gap'],
    rows: result.slices.map((s) => [s.family, s.slice, s.n, 100 * s.weightedF1, 100 * s.accuracy, 100 * s.gap]),
  };
}

/** The weakest classes as a table. */
export function weakClassesTable(result: ReturnType<typeof errorSlices>): Table {
  return {
    title: 'Weakest classes and their most frequent confusions',
    columns: ['Task', 'Class', 'Support', 'F1', 'Most frequent wrong answers'],
    rows: result.worst.map((w) => [w.task, w.label, w.support, 100 * w.f1, w.confusions.map((c) => `${c.predicted} (${c.count})`).join(', ') || '-']),
  };
}
