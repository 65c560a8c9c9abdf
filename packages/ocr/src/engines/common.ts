// Shared by every engine. Imports nothing of @llm-ir at run time, so engines load inside worker threads.
import sharp, { type Metadata } from 'sharp';
import type { OcrLine } from '@llm-ir/core';
import type { OcrEngine } from '../types.ts';

/** Error thrown by engines; the pool turns it into an LlmIrError with the same code. */
export class EngineError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
  }
}

/** An image decoded once: its size, and the path or (upscaled) PNG bytes to feed an engine. */
interface PreparedImage {
  width: number;
  height: number;
  input: string | Buffer;
  scale: number;
}

/** Decoded size of an image and, when asked, an upscaled PNG to feed an engine. */
async function prepareImage(image: string | Uint8Array, options: { upscale: number; upscaleBelow: number }): Promise<PreparedImage> {
  let meta: Metadata;
  try {
    meta = await sharp(image).metadata();
  } catch (cause) {
    throw new EngineError('image-corrupt', `not a readable image (${(cause as Error).message.split('\n')[0]})`, { cause });
  }
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  if (!width || !height) throw new EngineError('image-corrupt', 'image has no size');
  const scale = Math.max(width, height) < options.upscaleBelow ? options.upscale : 1;
  if (scale === 1 && typeof image === 'string') return { width, height, input: image, scale };
  try {
    const input = await sharp(image)
      .autoOrient()
      .resize({ width: Math.round(width * scale), height: Math.round(height * scale), kernel: 'lanczos3' })
      .png()
      .toBuffer();
    return { width, height, input, scale };
  } catch (cause) {
    throw new EngineError('image-corrupt', `cannot be decoded (${(cause as Error).message.split('\n')[0]})`, { cause });
  }
}

const CJK = '\\u3000-\\u303f\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\uff00-\\uffef';
const SPACE_BETWEEN_CJK = new RegExp(`(?<=[${CJK}])\\s+(?=[${CJK}])`, 'gu');

/** Removes the spaces tesseract puts between Chinese characters; trims and folds other whitespace. */
function tidyText(text: string): string {
  return text.replace(/\s+/g, ' ').replace(SPACE_BETWEEN_CJK, '').trim();
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** A box in pixels to a box normalised by the image size, clamped to [0, 1]. */
export function normalizeBox([x1, y1, x2, y2]: readonly [number, number, number, number], width: number, height: number): OcrLine['box'] {
  return [clamp01(x1 / width), clamp01(y1 / height), clamp01(x2 / width), clamp01(y2 / height)];
}

/**
 * Orders lines for reading: rows top to bottom (lines whose vertical extents overlap by more than
 * half the smaller height share a row), each row left to right.
 */
export function readingOrder(lines: readonly OcrLine[]): OcrLine[] {
  const byTop = [...lines].sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0]);
  const rows: OcrLine[][] = [];
  for (const line of byTop) {
    const row = rows.at(-1);
    if (row) {
      const top = Math.max(...row.map((l) => l.box[1]));
      const bottom = Math.min(...row.map((l) => l.box[3]));
      const overlap = Math.min(bottom, line.box[3]) - Math.max(top, line.box[1]);
      const h = Math.min(bottom - top, line.box[3] - line.box[1]);
      if (h > 0 && overlap > 0.5 * h) {
        row.push(line);
        continue;
      }
    }
    rows.push([line]);
  }
  return rows.flatMap((r) => r.sort((a, b) => a.box[0] - b.box[0]));
}

/** Rounds a number for stable output (engines give float noise). */
function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Finishes a line list: tidy text, drop empties, round, reading order. */
function finishLines(lines: readonly OcrLine[]): OcrLine[] {
  return readingOrder(
    lines
      .map((l) => ({ text: tidyText(l.text), confidence: round(l.confidence), box: l.box.map((v) => round(v)) as OcrLine['box'] }))
      .filter((l) => l.text !== ''),
  );
}

/** Adds the milliseconds `work` takes to `stages[name]`, and returns what it returns. */
export function timedSync<T>(stages: Record<string, number>, name: string, work: () => T): T {
  const t0 = performance.now();
  try {
    return work();
  } finally {
    stages[name] = (stages[name] ?? 0) + performance.now() - t0;
  }
}

/** {@link timedSync} for work that returns a promise: the time until it settles. */
export async function timed<T>(stages: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await work();
  } finally {
    stages[name] = (stages[name] ?? 0) + performance.now() - t0;
  }
}

/**
 * The `recognize` of every engine: cancellation, timing, one decode (and upscale of small images),
 * then the engine's `find` (its lines, boxes normalised to the prepared image), reading order and
 * the result. Only `find` differs between engines; it adds its own stage times to `stages`.
 */
export function recognizeWith(
  id: string,
  upscale: { upscale: number; upscaleBelow: number },
  find: (image: PreparedImage, options: { signal?: AbortSignal; stages: Record<string, number> }) => Promise<OcrLine[]>,
): OcrEngine['recognize'] {
  return async (image, opts = {}) => {
    opts.signal?.throwIfAborted();
    const t0 = performance.now();
    const stages: Record<string, number> = {};
    const prepared = await timed(stages, 'prepare', () => prepareImage(image, upscale));
    const lines = finishLines(await find(prepared, { ...opts, stages }));
    return { lines, text: lines.map((l) => l.text).join('\n'), engine: id, ms: performance.now() - t0, stages, width: prepared.width, height: prepared.height };
  };
}
