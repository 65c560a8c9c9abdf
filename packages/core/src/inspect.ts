import { sampleImages } from './challenge.ts';
import { LlmIrError } from './errors.ts';
import { checkImage, type ImageLimits } from './images.ts';
import { startProgress, type ProgressCallback } from './progress.ts';
import type { Sample, Task } from './types.ts';

/** Five-number summary plus mean of a list of numbers. */
export interface NumberStats {
  /** How many values. */
  count: number;
  /** Smallest. */
  min: number;
  /** 25th percentile (linear interpolation, like numpy's default). */
  p25: number;
  /** Median. */
  median: number;
  /** 75th percentile. */
  p75: number;
  /** Largest. */
  max: number;
  /** Arithmetic mean. */
  mean: number;
}

/** Quantile with linear interpolation between order statistics (numpy's default method). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** {@link NumberStats} of a list (NaN fields for an empty list). */
export function numberStats(values: readonly number[]): NumberStats {
  const s = [...values].sort((a, b) => a - b);
  return {
    count: s.length,
    min: s.length ? s[0]! : Number.NaN,
    p25: quantile(s, 0.25),
    median: quantile(s, 0.5),
    p75: quantile(s, 0.75),
    max: s.length ? s[s.length - 1]! : Number.NaN,
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : Number.NaN,
  };
}

/** What {@link summarizeSamples} reports. */
export interface DatasetSummary {
  /** Rows in total. */
  rows: number;
  /** Rows per task. */
  tasks: Record<Task, number>;
  /** Rows per label, per task (unlabelled rows under `""`), most frequent first. */
  labels: Record<Task, Record<string, number>>;
  /** Rows by number of images (`"0"`, `"1"`, ...). */
  imagesPerRow: Record<string, number>;
  /** Turns per intent dialogue. */
  dialogueTurns: NumberStats;
  /** Characters per intent dialogue (all turns, placeholders included). */
  dialogueChars: NumberStats;
  /** Image width, height and bytes (only with `imagesDir`; distinct images). */
  imageSize?: { width: NumberStats; height: NumberStats; bytes: NumberStats; formats: Record<string, number>; unreadable: number };
}

function sortedCounts(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

/**
 * Summarises a dataset: rows per task and label, images per row, dialogue length and (with
 * `imagesDir`) image size statistics. Unreadable images are counted, not thrown.
 */
export async function summarizeSamples(
  samples: readonly Sample[],
  options: { imagesDir?: string; imageLimits?: ImageLimits; onProgress?: ProgressCallback } = {},
): Promise<DatasetSummary> {
  const tasks: Record<Task, number> = { scene: 0, intent: 0 };
  const labels: Record<Task, Map<string, number>> = { scene: new Map(), intent: new Map() };
  const perRow = new Map<string, number>();
  const turns: number[] = [];
  const chars: number[] = [];
  for (const s of samples) {
    tasks[s.task]++;
    const key = s.label ?? '';
    labels[s.task].set(key, (labels[s.task].get(key) ?? 0) + 1);
    const n = String(sampleImages(s).length);
    perRow.set(n, (perRow.get(n) ?? 0) + 1);
    if (s.task === 'intent') {
      turns.push(s.turns.length);
      chars.push(s.turns.reduce((a, t) => a + t.text.length, 0));
    }
  }
  const summary: DatasetSummary = {
    rows: samples.length,
    tasks,
    labels: { scene: sortedCounts(labels.scene), intent: sortedCounts(labels.intent) },
    imagesPerRow: Object.fromEntries([...perRow.entries()].sort((a, b) => Number(a[0]) - Number(b[0]))),
    dialogueTurns: numberStats(turns),
    dialogueChars: numberStats(chars),
  };
  if (options.imagesDir !== undefined) {
    const names = [...new Set(samples.flatMap((s) => sampleImages(s).map((i) => i.path)))];
    const width: number[] = [];
    const height: number[] = [];
    const bytes: number[] = [];
    const formats = new Map<string, number>();
    let unreadable = 0;
    const progress = startProgress('inspect-images', options.onProgress, { total: names.length, unit: 'image' });
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(8, names.length) }, async () => {
        while (next < names.length) {
          const name = names[next++]!;
          try {
            const info = await checkImage(options.imagesDir!, name, { decode: false, ...options.imageLimits });
            width.push(info.width);
            height.push(info.height);
            bytes.push(info.bytes);
            formats.set(info.format, (formats.get(info.format) ?? 0) + 1);
            progress.advance();
          } catch (error) {
            if (!LlmIrError.isInstance(error)) throw error;
            unreadable++;
            progress.fail();
          }
        }
      }),
    );
    progress.end();
    summary.imageSize = { width: numberStats(width), height: numberStats(height), bytes: numberStats(bytes), formats: sortedCounts(formats), unreadable };
  }
  return summary;
}
