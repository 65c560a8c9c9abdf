import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LlmIrError } from '@llm-ir/core';
import { createEngine } from './engines/index.ts';
import type { EngineOptions, OcrEngine, OcrEngineName, OcrResult } from './types.ts';

/** Turns an engine's error (or anything thrown) into an LlmIrError with its code. */
export function toOcrError(error: unknown, image?: string): LlmIrError {
  if (LlmIrError.isInstance(error)) return error;
  const e = error as { code?: unknown; message?: unknown; name?: unknown };
  if (e?.name === 'AbortError') return new LlmIrError({ code: 'cancelled', message: 'OCR was cancelled', cause: error });
  const code = typeof e?.code === 'string' ? e.code : 'ocr-failed';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return new LlmIrError({ code, message: image ? `image ${JSON.stringify(image)}: ${message}` : message, cause: error, ...(image ? { field: 'image' } : {}) });
}

// The worker is evaluated from a string so it works from TypeScript source (through tsx) and from
// the built JavaScript alike: it registers tsx only when handed a .ts engine module.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi) { const api = await import(workerData.tsxApi); api.register(); }
  const { createEngine } = await import(workerData.engineModule);
  let engine;
  try {
    engine = await createEngine(workerData.name, workerData.options);
    parentPort.postMessage({ type: 'ready', id: engine.id });
  } catch (e) {
    parentPort.postMessage({ type: 'init-error', error: { code: e && e.code, message: e && e.message ? e.message : String(e) } });
    return;
  }
  parentPort.on('message', async (m) => {
    if (m.type === 'close') { await engine.close(); parentPort.postMessage({ type: 'closed' }); return; }
    try {
      const result = await engine.recognize(m.image);
      parentPort.postMessage({ type: 'result', job: m.job, result });
    } catch (e) {
      parentPort.postMessage({ type: 'error', job: m.job, error: { code: e && e.code, message: e && e.message ? e.message : String(e) } });
    }
  });
})().catch((e) => parentPort.postMessage({ type: 'init-error', error: { code: 'engine-unavailable', message: String(e && e.stack || e) } }));
`;

function engineModuleUrl(): { engineModule: string; tsxApi?: string } {
  const url = new URL('./engines/index.ts', import.meta.url);
  const fromSource = import.meta.url.endsWith('.ts');
  if (!fromSource) return { engineModule: new URL('./engines/index.js', import.meta.url).href };
  const tsxCjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  return { engineModule: url.href, tsxApi: pathToFileURL(tsxCjs.replace(/\.cjs$/, '.mjs')).href };
}

/** How long `close` waits for a running inference before terminating its thread. */
const CLOSE_GRACE_MS = 10_000;

/** An engine living in its own worker thread (one model copy per thread). */
async function createThreadedEngine(name: OcrEngineName, options: EngineOptions): Promise<OcrEngine> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { name, options, ...engineModuleUrl() } });
  const pending = new Map<number, { resolve: (r: OcrResult) => void; reject: (e: unknown) => void }>();
  let nextJob = 0;
  let closed = false;
  const inFlight = new Set<Promise<void>>();
  const id = await new Promise<string>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', function first(m: { type: string; id?: string; error?: { code?: string; message: string } }) {
      if (m.type === 'ready') resolve(m.id!);
      else if (m.type === 'init-error') reject(toOcrError({ code: m.error?.code ?? 'engine-unavailable', message: m.error?.message }));
      worker.off('message', first);
    });
  });
  worker.on('message', (m: { type: string; job?: number; result?: OcrResult; error?: { code?: string; message: string } }) => {
    if (m.job === undefined) return;
    const p = pending.get(m.job);
    if (!p) return;
    pending.delete(m.job);
    if (m.type === 'result') p.resolve(m.result!);
    else p.reject(toOcrError({ code: m.error?.code ?? 'ocr-failed', message: m.error?.message }));
  });
  worker.on('error', (e) => {
    for (const p of pending.values()) p.reject(toOcrError(e));
    pending.clear();
  });
  return {
    name,
    id,
    recognize(image, opts = {}) {
      if (closed) return Promise.reject(new LlmIrError({ code: 'cancelled', message: 'engine is closed' }));
      opts.signal?.throwIfAborted();
      const job = nextJob++;
      const p = new Promise<OcrResult>((resolve, reject) => {
        pending.set(job, { resolve, reject });
        worker.postMessage({ type: 'recognize', job, image });
      });
      const settled = p.then(() => {}, () => {});
      inFlight.add(settled);
      void settled.then(() => inFlight.delete(settled));
      return p;
    },
    async close() {
      if (closed) return;
      closed = true;
      // an inference still running when its thread is terminated can abort the whole process
      // (onnxruntime throws across the native boundary): let it finish first, for a bounded time
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(inFlight), new Promise((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}

/** Options of {@link createOcrPool}. */
export interface OcrPoolOptions extends EngineOptions {
  /** Engine to run. @default 'paddle' */
  engine?: OcrEngineName;
  /** Engines running at once (one model copy each). @default the number of cores */
  workers?: number;
  /**
   * Run paddle engines in worker threads (true) or in this thread (false; onnxruntime still runs
   * off the event loop). The tesseract engines have their own threads or processes. @default true
   */
  isolate?: boolean;
}

/** A pool of loaded engines that recognises images in parallel, one image per engine at a time. */
export interface OcrPool {
  /** Engine id (name and version; part of cache keys). */
  readonly engineId: string;
  /** Engine name. */
  readonly engine: OcrEngineName;
  /** Number of engines. */
  readonly size: number;
  /** Recognises one image on the next free engine (waits for one). */
  recognize(image: string | Uint8Array, options?: { signal?: AbortSignal }): Promise<OcrResult>;
  /** Stops every engine. */
  close(): Promise<void>;
}

/**
 * Loads `workers` engines (models loaded once per engine) and hands each image to the next free
 * one. Paddle engines run in worker threads, tesseract.js engines in their own WebAssembly
 * workers, native tesseract as one process per image.
 *
 * @throws {LlmIrError} `engine-unavailable` when the engine cannot load (missing binary or data).
 * @example
 * ```ts
 * const pool = await createOcrPool({ engine: 'paddle', workers: 2 });
 * const { lines } = await pool.recognize('screenshot.jpg');
 * await pool.close();
 * ```
 */
export async function createOcrPool(options: OcrPoolOptions = {}): Promise<OcrPool> {
  const name = options.engine ?? 'paddle';
  const size = Math.max(1, options.workers ?? availableParallelism());
  const { engine: _e, workers: _w, isolate, ...engineOptions } = options;
  const threaded = name === 'paddle' && (isolate ?? true);
  let engines: OcrEngine[];
  try {
    engines = await Promise.all(Array.from({ length: size }, () => (threaded ? createThreadedEngine(name, engineOptions) : createEngine(name, engineOptions))));
  } catch (error) {
    throw toOcrError(error);
  }
  const idle = [...engines];
  const waiting: Array<(e: OcrEngine) => void> = [];
  const acquire = () => new Promise<OcrEngine>((resolve) => (idle.length ? resolve(idle.pop()!) : waiting.push(resolve)));
  const release = (e: OcrEngine) => {
    const next = waiting.shift();
    if (next) next(e);
    else idle.push(e);
  };
  return {
    engineId: engines[0]!.id,
    engine: name,
    size,
    async recognize(image, opts = {}) {
      opts.signal?.throwIfAborted();
      const e = await acquire();
      try {
        opts.signal?.throwIfAborted();
        return await e.recognize(image, opts);
      } catch (error) {
        throw toOcrError(error, typeof image === 'string' ? image : undefined);
      } finally {
        release(e);
      }
    },
    async close() {
      await Promise.all(engines.map((e) => e.close()));
    },
  };
}
