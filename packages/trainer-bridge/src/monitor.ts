import { existsSync } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProgressCallback } from '@llm-ir/core';
import { startProgress, type RunRecord } from '@llm-ir/core/run';

/** One training log line (LLaMA-Factory's trainer_log.jsonl or ms-swift's logging.jsonl), normalised. */
export interface TrainLogEntry {
  /** Optimiser step. */
  step: number;
  /** Total steps. */
  totalSteps?: number;
  /** Epoch (fractional). */
  epoch?: number;
  /** Training loss. */
  loss?: number;
  /** Learning rate. */
  lr?: number;
  /** Evaluation loss, when logged. */
  evalLoss?: number;
  /** Seconds left, when logged. */
  etaSeconds?: number;
}

/**
 * Seconds of a duration as the trainers print them: LLaMA-Factory's `str(timedelta)` ("0:05:07",
 * "1 day, 1:01:01", "3 days, 0:00:05.5") and ms-swift's `format_time` ("1d 2h 3m 4s", "2m 3s", "45s").
 * Unknown shapes give undefined.
 */
export function parseDuration(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const s = text.trim();
  // LLaMA-Factory 0.9.x, src/llamafactory/train/callbacks.py LogCallback.on_log: str(timedelta(seconds=int(...)))
  const td = /^(?:(-?\d+) days?, )?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(s);
  if (td) return Number(td[1] ?? 0) * 86_400 + Number(td[2]) * 3600 + Number(td[3]) * 60 + Number(td[4]);
  // ms-swift 4.x, swift/utils/utils.py format_time: '{d}d {h}h {m}m {s}s' with the leading zero units left out
  const parts = /^(?:(\d+)d\s*)?(?:(\d+)h\s*)?(?:(\d+)m\s*)?(?:(\d+(?:\.\d+)?)s)?$/.exec(s);
  if (parts && s !== '' && parts.slice(1).some((p) => p !== undefined)) {
    return Number(parts[1] ?? 0) * 86_400 + Number(parts[2] ?? 0) * 3600 + Number(parts[3] ?? 0) * 60 + Number(parts[4] ?? 0);
  }
  return undefined;
}

/** NaN / Infinity / -Infinity written by Python's json (read back as strings). */
function nonFinite(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim().toLowerCase();
  return t === 'nan' ? Number.NaN : t === 'infinity' || t === 'inf' ? Number.POSITIVE_INFINITY : t === '-infinity' || t === '-inf' ? Number.NEGATIVE_INFINITY : undefined;
}

/** Normalises a LLaMA-Factory or ms-swift log object (unknown shapes give undefined). */
export function parseTrainLogLine(o: Record<string, unknown>): TrainLogEntry | undefined {
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : undefined);
  if ('current_steps' in o) {
    const e: TrainLogEntry = { step: num(o['current_steps']) ?? 0 };
    const set = <K extends keyof TrainLogEntry>(k: K, v: TrainLogEntry[K] | undefined) => v !== undefined && (e[k] = v);
    set('totalSteps', num(o['total_steps']));
    set('epoch', num(o['epoch']));
    set('loss', nonFinite(o['loss']) ?? num(o['loss']));
    set('lr', num(o['lr']));
    set('evalLoss', num(o['eval_loss']));
    set('etaSeconds', parseDuration(o['remaining_time']));
    return e;
  }
  const gs = o['global_step/max_steps'];
  if (typeof gs === 'string') {
    const [step, total] = gs.split('/').map(Number);
    const e: TrainLogEntry = { step: step ?? 0, totalSteps: total ?? 0 };
    if (num(o['epoch']) !== undefined) e.epoch = num(o['epoch'])!;
    if (o['loss'] !== undefined) e.loss = nonFinite(o['loss']) ?? num(o['loss']) ?? Number.NaN;
    if (num(o['learning_rate']) !== undefined) e.lr = num(o['learning_rate'])!;
    if (num(o['eval_loss']) !== undefined) e.evalLoss = num(o['eval_loss'])!;
    const eta = parseDuration(o['remaining_time']);
    if (eta !== undefined) e.etaSeconds = eta;
    return e;
  }
  return undefined;
}

/** Reads new complete lines appended to a JSONL file since `offset`. */
async function readNew(path: string, offset: number): Promise<{ lines: string[]; offset: number }> {
  if (!existsSync(path)) return { lines: [], offset };
  const size = (await stat(path)).size;
  if (size < offset) offset = 0; // truncated (overwrite_output_dir): start again
  if (size === offset) return { lines: [], offset };
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    await fh.read(buf, 0, buf.length, offset);
    const text = buf.toString('utf8');
    const end = text.lastIndexOf('\n');
    if (end === -1) return { lines: [], offset };
    return { lines: text.slice(0, end).split('\n').filter(Boolean), offset: offset + Buffer.byteLength(text.slice(0, end + 1)) };
  } finally {
    await fh.close();
  }
}

/** Options of {@link followTraining}. */
export interface FollowOptions {
  /** Log file: `<out>/trainer_log.jsonl` (LLaMA-Factory) or `<out>/logging.jsonl` (ms-swift). */
  logFile: string;
  /** Stop following when this resolves true (e.g. the job reached a terminal state). */
  done: () => Promise<boolean>;
  /** Progress events (`stage: 'train'`, unit step). */
  onProgress?: ProgressCallback;
  /** Called per log entry. */
  onEntry?: (e: TrainLogEntry) => void;
  /** Appends loss / lr / eval_loss to the run's metrics.jsonl. */
  run?: RunRecord;
  /** Steps up to this one are already in the run's metrics (a rerun following the same log): not appended again. @default 0 */
  metricsAfterStep?: number;
  /** Poll interval. @default 1000 */
  intervalMs?: number;
  /** Cancels following (not the job). */
  signal?: AbortSignal;
}

/**
 * Follows a training log as it grows: emits progress events (step, total, with epoch, loss, lr,
 * eta), writes metrics to the run record, and flags a NaN loss. Returns every entry and whether a
 * NaN loss was seen.
 */
export async function followTraining(options: FollowOptions): Promise<{ entries: TrainLogEntry[]; nanLoss: boolean }> {
  const entries: TrainLogEntry[] = [];
  let offset = 0;
  let nanLoss = false;
  let progress: ReturnType<typeof startProgress> | undefined;
  const drain = async () => {
    const r = await readNew(options.logFile, offset);
    offset = r.offset;
    for (const line of r.lines) {
      let o: Record<string, unknown>;
      try {
        // Python's json.dumps writes NaN, Infinity and -Infinity as they are
        o = JSON.parse(line.replace(/(?<![\w"])(-?Infinity|NaN)(?![\w"])/g, '"$1"')) as Record<string, unknown>;
      } catch {
        continue;
      }
      const e = parseTrainLogLine(o);
      if (!e) continue;
      entries.push(e);
      if (e.loss !== undefined && !Number.isFinite(e.loss)) nanLoss = true;
      progress ??= startProgress('train', options.onProgress, e.totalSteps ? { total: e.totalSteps, unit: 'step' } : { unit: 'step' });
      progress.advance(Math.max(0, e.step - progress.completed));
      options.onEntry?.(e);
      if (options.run && e.step > (options.metricsAfterStep ?? 0)) {
        for (const [name, value] of [['loss', e.loss], ['lr', e.lr], ['eval_loss', e.evalLoss]] as const) {
          if (value !== undefined && Number.isFinite(value)) await options.run.logMetric({ name, value, step: e.step, ...(e.epoch !== undefined ? { epoch: e.epoch } : {}) });
        }
      }
    }
  };
  for (;;) {
    await drain();
    if (options.signal?.aborted || (await options.done())) break;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
  }
  await drain();
  progress?.end();
  return { entries, nanLoss };
}

/** A saved checkpoint and the epoch it corresponds to. */
export interface Checkpoint {
  /** Folder. */
  path: string;
  /** Global step. */
  step: number;
  /** Epoch (from its trainer_state.json, else step / steps per epoch). */
  epoch: number;
}

/** Lists `checkpoint-N` folders of an output folder with their epochs, in step order. */
export async function discoverCheckpoints(outputDir: string, stepsPerEpoch?: number): Promise<Checkpoint[]> {
  if (!existsSync(outputDir)) return [];
  const out: Checkpoint[] = [];
  for (const name of await readdir(outputDir)) {
    const m = /^checkpoint-(\d+)$/.exec(name);
    if (!m) continue;
    const path = join(outputDir, name);
    const step = Number(m[1]);
    let epoch: number | undefined;
    try {
      epoch = (JSON.parse(await readFile(join(path, 'trainer_state.json'), 'utf8')) as { epoch?: number }).epoch;
    } catch {
      epoch = undefined;
    }
    out.push({ path, step, epoch: epoch ?? (stepsPerEpoch ? step / stepsPerEpoch : Number.NaN) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * The last checkpoint a trainer can resume from: one whose `trainer_state.json` parses and whose
 * adapter (`adapter_config.json` and `adapter_model.safetensors` or `.bin`) is there. A folder cut off
 * mid-save (a job killed while writing it) is passed over.
 */
export async function lastCompleteCheckpoint(outputDir: string): Promise<Checkpoint | undefined> {
  const all = await discoverCheckpoints(outputDir);
  for (const c of all.reverse()) {
    const adapter = existsSync(join(c.path, 'adapter_model.safetensors')) || existsSync(join(c.path, 'adapter_model.bin'));
    if (!adapter || !existsSync(join(c.path, 'adapter_config.json'))) continue;
    try {
      const state = JSON.parse(await readFile(join(c.path, 'trainer_state.json'), 'utf8')) as { global_step?: number };
      if (typeof state.global_step === 'number') return c;
    } catch {
      // incomplete
    }
  }
  return undefined;
}
