import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { LlmIrError, type Prediction, type ProgressCallback, type Sample } from '@llm-ir/core';
import { openaiTeacher } from '@llm-ir/distill';
import { maxLoraRankFor } from './arm.ts';

/** Options of {@link predictWithEndpoint}. */
export interface PredictOptions {
  /** OpenAI-compatible base URL (vLLM, `llamafactory-cli api`, ...), e.g. `http://127.0.0.1:8000/v1`. */
  baseURL: string;
  /** Model (or LoRA adapter) name on the server. */
  model: string;
  /** Images folder. */
  imagesDir: string;
  /** Images are resized to this many pixels at most: use the training `image_max_pixels`. @default 262144 */
  imageMaxPixels?: number;
  /**
   * Label constraint. `auto` reads the server's `GET /version`: vLLM >= 0.10.2 gets
   * `structured_outputs: {choice}`, older vLLM the legacy `guided_choice` (vLLM 0.12 removed it: such
   * a request is answered 200, unconstrained, with at most a debug-level line in the server's log); a server
   * without `/version` gets `structured_outputs`. `none` for servers that take neither (e.g.
   * `llamafactory-cli api`). @default 'auto'
   */
  constraint?: 'auto' | 'structured_outputs' | 'guided_choice' | 'response_format' | 'none';
  /** Label probabilities from logprobs (labels shown as letters, no constraint, as vLLM masks logprobs under one). @default false */
  logprobs?: boolean;
  /** Requests in flight. @default 8 */
  concurrency?: number;
  /** Retries on 429 / 5xx / timeouts. @default 6 */
  maxRetries?: number;
  /** Request timeout. @default 120000 */
  timeoutMs?: number;
  /** Resumable journal (JSONL). */
  journal?: string;
  /** Environment variable of the API key. @default 'OPENAI_API_KEY' */
  apiKeyEnv?: string;
  /** Progress events. */
  onProgress?: ProgressCallback;
  /** Cancels. */
  signal?: AbortSignal;
}

/**
 * Predicts labels with a served model: challenge prompt with image parts (resized to the training
 * pixel budget), the label constrained by the server's structured-output field, the answer mapped
 * to a canonical label with core's `matchLabel`. Answers that match no label are counted in
 * `unmatched` (with the row id and reason) rather than guessed.
 */
export async function predictWithEndpoint(samples: readonly Sample[], options: PredictOptions): Promise<{ predictions: Prediction[]; unmatched: Array<{ id: string; reason: string }>; failed: Array<{ id: string; reason: string }>; constraint: string; serverVersion?: string }> {
  const wanted = options.constraint ?? (options.logprobs ? 'none' : 'auto');
  const serverVersion = wanted === 'auto' ? await vllmVersion(options.baseURL) : undefined;
  const constraint = wanted === 'auto' ? constraintForVllm(serverVersion) : wanted;
  const teacher = openaiTeacher({
    baseURL: options.baseURL,
    model: options.model,
    imagesDir: options.imagesDir,
    imageMaxPixels: options.imageMaxPixels ?? 262_144,
    probabilities: options.logprobs ? 'logprobs' : 'none',
    constraint,
    concurrency: options.concurrency ?? 8,
    maxRetries: options.maxRetries ?? 6,
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.journal ? { journal: options.journal } : {}),
    ...(options.apiKeyEnv ? { apiKeyEnv: options.apiKeyEnv } : {}),
  });
  const unmatched: Array<{ id: string; reason: string }> = [];
  const failed: Array<{ id: string; reason: string }> = [];
  const predictions = await teacher.label(samples, {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onError: (id, e) => (e.code === 'unmatched-answer' ? unmatched : failed).push({ id, reason: e.reason }),
  });
  return { predictions, unmatched, failed, constraint, ...(serverVersion ? { serverVersion } : {}) };
}

/**
 * The version a vLLM server reports (`GET /version` beside `/v1`: vllm/entrypoints/serve/instrumentator/basic.py
 * `show_version`, formerly in openai/api_server.py: `{"version": "0.12.0"}`), or undefined for servers without that route.
 */
export async function vllmVersion(baseURL: string, options: { timeoutMs?: number } = {}): Promise<string | undefined> {
  const root = baseURL.replace(/\/+$/, '').replace(/\/v1$/, '');
  try {
    const r = await fetch(`${root}/version`, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    if (!r.ok) return undefined;
    const body = (await r.json()) as { version?: unknown };
    return typeof body.version === 'string' ? body.version : undefined;
  } catch {
    return undefined;
  }
}

function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = (/^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version) ?? []).slice(1).map((x) => Number(x ?? 0));
  if (parts.length === 0) return true; // a development build without a release number: take it as current
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

/**
 * The label constraint a vLLM version honours: `structured_outputs` from 0.10.2 on (the field that
 * replaced the `guided_*` ones; vLLM 0.12.0 removed those, vllm-project/vllm#29326), `guided_choice`
 * below. Unknown versions (no `/version`) get `structured_outputs`.
 */
export function constraintForVllm(version: string | undefined): 'structured_outputs' | 'guided_choice' {
  if (version === undefined) return 'structured_outputs';
  return versionAtLeast(version, [0, 10, 2]) ? 'structured_outputs' : 'guided_choice';
}

/** The most images any row holds: vLLM's `--limit-mm-per-prompt` must allow it (at least 1). */
export function maxImagesPerRow(samples: readonly Sample[]): number {
  let max = 1;
  for (const s of samples) max = Math.max(max, s.turns.reduce((n, t) => n + t.images.length, 0));
  return max;
}

/** A LoRA adapter to serve: its name (the `model` of requests) and folder. */
export interface LoraModule {
  name: string;
  path: string;
}

/**
 * The `vllm serve` command for a base model with LoRA adapters (one per checkpoint to evaluate).
 * `--max-lora-rank` is the smallest value vLLM accepts that serves `loraRank` (vLLM takes only
 * 1, 8, 16, 32, 64, 128, 256, 320, 512); `--limit-mm-per-prompt` allows `maxImages` images per
 * request (use {@link maxImagesPerRow} of the rows to predict).
 */
export function vllmServeCommand(options: { model: string; loras: readonly LoraModule[]; loraRank: number; maxImages: number; port?: number; host?: string; imageMaxPixels?: number; allowedLocalMediaPath?: string; maxModelLen?: number }): string[] {
  return [
    'vllm', 'serve', options.model,
    '--host', options.host ?? '127.0.0.1', '--port', String(options.port ?? 8000),
    '--enable-lora', '--max-lora-rank', String(maxLoraRankFor(options.loraRank)), '--max-loras', String(Math.max(1, Math.min(8, options.loras.length))),
    '--lora-modules', ...options.loras.map((l) => JSON.stringify({ name: l.name, path: l.path, base_model_name: options.model })),
    '--limit-mm-per-prompt', JSON.stringify({ image: Math.max(1, options.maxImages) }),
    '--mm-processor-kwargs', JSON.stringify({ max_pixels: options.imageMaxPixels ?? 262_144 }),
    '--max-model-len', String(options.maxModelLen ?? 8192), '--max-logprobs', '20',
    ...(options.allowedLocalMediaPath ? ['--allowed-local-media-path', options.allowedLocalMediaPath] : []),
  ];
}

/** A server started by {@link startServer}. */
export interface ServerProcess {
  /** The server's process. */
  readonly process: ChildProcess;
  /**
   * Stops the server and resolves once its process has exited, so its port is free: SIGTERM, then
   * SIGKILL after `graceMs` (vLLM shuts its engine down on SIGTERM, which can take seconds).
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** Starts a server command and waits until `GET <baseURL>/models` answers. Returns a handle: `await server.stop()` when done. */
export async function startServer(command: readonly string[], options: { baseURL: string; timeoutMs?: number; env?: Record<string, string>; logFile?: string }): Promise<ServerProcess> {
  const { openSync, closeSync } = await import('node:fs');
  const out = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(command[0]!, command.slice(1), { env: { ...process.env, ...options.env }, stdio: ['ignore', out, out] });
  if (typeof out === 'number') closeSync(out); // the child holds its own copy
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  let done = false;
  void exited.then(() => (done = true));
  const stop = async ({ graceMs = 30_000 }: { graceMs?: number } = {}): Promise<void> => {
    if (done) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + (options.timeoutMs ?? 900_000);
  while (Date.now() < deadline) {
    if (done) throw new LlmIrError({ code: 'server-failed', message: `${command[0]} exited before it was ready${options.logFile ? ` (see ${options.logFile})` : ''}` });
    try {
      const r = await fetch(`${options.baseURL.replace(/\/$/, '')}/models`);
      if (r.ok) return { process: child, stop };
    } catch {
      // not up yet
    }
    await sleep(1000);
  }
  await stop({ graceMs: 5_000 });
  throw new LlmIrError({ code: 'server-failed', message: `${command[0]} was not ready within ${options.timeoutMs ?? 900_000} ms` });
}
