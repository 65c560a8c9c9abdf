import type { OcrLine } from '@llm-ir/core';

/** The OCR engines behind {@link OcrEngine}. */
export type OcrEngineName = 'paddle' | 'tesseract' | 'tesseract-cli';

/** All engine names. */
export const OCR_ENGINES: readonly OcrEngineName[] = ['paddle', 'tesseract', 'tesseract-cli'];

/** What an engine returns for one image. */
export interface OcrResult {
  /** Lines in reading order (top to bottom, then left to right), boxes normalised to [0, 1]. */
  lines: OcrLine[];
  /** The lines' text joined with newlines. */
  text: string;
  /** Engine name and version, e.g. `paddle@ppocrv4-onnx-1.4.2`. */
  engine: string;
  /** Milliseconds spent recognising (0 when served from the cache). */
  ms: number;
  /**
   * Where `ms` went, in milliseconds per pipeline stage (names are the engine's own: paddle reports
   * `prepare`, `detect-input`, `detect-model`, `boxes`, `recognize-input`, `recognize-model`,
   * `ctc-decode`; the tesseract engines `prepare` and `tesseract`). Not cached: absent on results
   * served from the cache. Unrounded, while `ocrImages` rounds `ms`: rounded stages need not add up
   * to it exactly.
   */
  stages?: Record<string, number>;
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
}

/** Options every engine takes. */
export interface EngineOptions {
  /**
   * Upscale factor applied before recognition when the image's longest side is under
   * `upscaleBelow` pixels (tesseract reads small UI text far better at 2x). @default 2 for the
   * tesseract engines, 1 for paddle
   */
  upscale?: number;
  /** Longest side under which `upscale` applies. @default 1200 */
  upscaleBelow?: number;
  /** Languages for the tesseract engines. @default ['chi_sim', 'eng'] */
  languages?: readonly string[];
  /** tesseract page segmentation mode. @default 3 (automatic) for the CLI, 3 for tesseract.js */
  psm?: number;
  /** Threads ONNX Runtime may use inside one paddle engine. @default 1 */
  threads?: number;
  /** Path of the native `tesseract` binary. @default 'tesseract' (from PATH) */
  tesseractBinary?: string;
}

/** One loaded OCR engine. Recognises one image at a time; a pool runs several. */
export interface OcrEngine {
  /** Engine name. */
  readonly name: OcrEngineName;
  /** Engine name and version (part of the cache key). */
  readonly id: string;
  /** Recognises text in an image file or encoded image bytes. */
  recognize(image: string | Uint8Array, options?: { signal?: AbortSignal }): Promise<OcrResult>;
  /** Frees the engine's models and threads. */
  close(): Promise<void>;
}
