import { execFile } from 'node:child_process';
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from './fs-atomic.ts';
import { LlmIrError } from './errors.ts';
import { hashValue, sha256File } from './hash.ts';
import { tryLock } from './lock.ts';

const pexec = promisify(execFile);

/** Status of a run. */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'partial';

/** Contents of `runs/<id>/run.json`. */
export interface RunInfo {
  /** Run id (the folder name). */
  id: string;
  /** Config as the user gave it. */
  config: unknown;
  /** Config after defaults and presets were applied. */
  resolvedConfig: unknown;
  /** SHA-256 of the resolved config's stable JSON. */
  configHash: string;
  /** SHA-256 of each named input file. */
  inputs: Record<string, { path: string; sha256: string }>;
  /** Versions of the packages involved. */
  packages: Record<string, string>;
  /** Git commit of the working tree, if any, and whether it had uncommitted changes. */
  git?: { commit: string; dirty: boolean };
  /** Node version and platform. */
  runtime: { node: string; platform: string; arch: string };
  /** ISO start time. */
  startedAt: string;
  /** ISO end time, once ended. */
  endedAt?: string;
  /** Current status. */
  status: RunStatus;
  /** Number of errors recorded in `errors.jsonl`. */
  errorCount: number;
  /** Free notes. */
  notes?: Record<string, unknown>;
  /**
   * Earlier attempts of this same configuration in the folder (a rerun after a failure, a kill or a
   * cancel resumes: it starts a new attempt, clears the previous attempt's metrics, errors and
   * summary, and keeps their times and status here).
   */
  attempts?: Array<{ startedAt: string; endedAt?: string; status: RunStatus; errorCount: number }>;
  /** A run of another configuration this one replaced (with `force`). */
  replaced?: { configHash: string; startedAt: string; status: RunStatus };
}

/** One line of `metrics.jsonl`. */
export interface MetricPoint {
  /** Metric name, e.g. `loss` or `scene/weightedF1`. */
  name: string;
  /** Value. */
  value: number;
  /** Training step, when known. */
  step?: number;
  /** Epoch, when known. */
  epoch?: number;
  /** ISO time (filled in when omitted). */
  time?: string;
}

/** An open run folder. */
export interface RunRecord {
  /** Run id. */
  readonly id: string;
  /** Folder of the run. */
  readonly dir: string;
  /** What `run.json` holds now. */
  readonly info: RunInfo;
  /** Appends a metric line to `metrics.jsonl`. */
  logMetric(point: MetricPoint): Promise<void>;
  /** Appends an error (file, row, code, message) to `errors.jsonl` and counts it. */
  logError(error: { code: string; message: string; file?: string; row?: number; id?: string }): Promise<void>;
  /** Writes `summary.json` atomically. */
  writeSummary(summary: unknown): Promise<void>;
  /** Marks the run ended with a status and rewrites `run.json`. */
  finish(status: Exclude<RunStatus, 'running'>, notes?: Record<string, unknown>): Promise<RunInfo>;
}

/** Options of {@link createRunRecord}. */
export interface CreateRunOptions {
  /** Folder that holds run folders. */
  runsDir: string;
  /** Run id; default: UTC time stamp plus the first 8 hex digits of the config hash. */
  id?: string;
  /** Config as the user gave it. */
  config: unknown;
  /** Config after defaults; default: `config`. */
  resolvedConfig?: unknown;
  /** Input files to hash, by name. */
  inputs?: Record<string, string>;
  /** Package versions to record (core's own is always added). */
  packages?: Record<string, string>;
  /** Folder whose git commit is recorded. @default process.cwd() */
  cwd?: string;
  /**
   * When the folder already holds a run of the same configuration (config hash and input hashes):
   * resume it as a new attempt instead of failing. @default false
   */
  resume?: boolean;
  /** When the folder holds a run of another configuration: replace it instead of failing. @default false */
  force?: boolean;
  /** Files of the run folder that belong to an attempt (outputs), removed when a new attempt starts; `metrics.jsonl`, `errors.jsonl` and `summary.json` always are. */
  outputs?: readonly string[];
}

const corePackage = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/** Version of `@llm-ir/core`. */
export const CORE_VERSION: string = corePackage.version;

async function gitInfo(cwd: string): Promise<{ commit: string; dirty: boolean } | undefined> {
  try {
    const { stdout } = await pexec('git', ['rev-parse', 'HEAD'], { cwd });
    const { stdout: status } = await pexec('git', ['status', '--porcelain', '--untracked-files=no'], { cwd });
    return { commit: stdout.trim(), dirty: status.trim() !== '' };
  } catch {
    return undefined;
  }
}

/** Files of a run folder written during an attempt. */
const ATTEMPT_FILES = ['metrics.jsonl', 'errors.jsonl', 'summary.json'];

/**
 * Opens a run folder `runs/<id>/` and writes its `run.json` (config as given and resolved, config
 * hash, input file hashes, package versions, git commit, start time, status `running`). Metrics,
 * errors and the summary are then added as the run goes; `finish` records the end.
 *
 * One writer at a time: the folder is locked (`.lock`, with the holder's pid and host) until
 * `finish`; a second process gets `run-locked`. A folder that already holds a run is resumed when the
 * configuration and inputs are the same and `resume` is set (a new attempt: the previous attempt's
 * metrics, errors, summary and `outputs` are removed, its times and status kept in `attempts`), and
 * refused with `run-exists` otherwise unless `force` is set (the old run is replaced and noted in
 * `replaced`).
 *
 * @throws {LlmIrError} `run-locked` when another live process holds the folder; `run-exists` when it
 * holds a run of another configuration (or any run, without `resume`) and `force` is not set.
 *
 * @example
 * ```ts
 * const run = await createRunRecord({ runsDir: 'runs', config, inputs: { train: 'train.json' } });
 * await run.logMetric({ name: 'loss', value: 0.4, step: 10 });
 * await run.writeSummary({ average: 0.81 });
 * await run.finish('succeeded');
 * ```
 */
export async function createRunRecord(options: CreateRunOptions): Promise<RunRecord> {
  const resolved = options.resolvedConfig ?? options.config;
  const configHash = hashValue(resolved);
  const startedAt = new Date().toISOString();
  const id = options.id ?? `${startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${configHash.slice(0, 8)}`;
  if (!/^[A-Za-z0-9._+-]+$/.test(id)) throw new LlmIrError({ code: 'config-invalid', message: `run id ${JSON.stringify(id)} may only hold letters, digits and . _ + -` });
  const dir = join(options.runsDir, id);
  await mkdir(dir, { recursive: true });
  const taken = await tryLock(join(dir, '.lock'));
  if ('holder' in taken) {
    const h = taken.holder;
    throw new LlmIrError({ code: 'run-locked', message: `run folder ${dir} is in use by process ${h.pid} on ${h.host} (since ${h.since}); wait for it or use another output folder`, file: dir });
  }
  try {
    const inputs: RunInfo['inputs'] = {};
    for (const [name, path] of Object.entries(options.inputs ?? {})) inputs[name] = { path, sha256: await sha256File(path) };
    const previous = await readRunInfo(dir).catch(() => undefined);
    let history: Pick<RunInfo, 'attempts' | 'replaced'> = {};
    if (previous) {
      const changed = [
        ...(previous.configHash !== configHash ? ['configuration'] : []),
        ...Object.keys({ ...previous.inputs, ...inputs }).filter((k) => previous.inputs?.[k]?.sha256 !== inputs[k]?.sha256).map((k) => `input ${k}`),
      ];
      if (changed.length === 0 && options.resume) {
        history = { attempts: [...(previous.attempts ?? []), { startedAt: previous.startedAt, ...(previous.endedAt ? { endedAt: previous.endedAt } : {}), status: previous.status, errorCount: previous.errorCount }], ...(previous.replaced ? { replaced: previous.replaced } : {}) };
      } else if (options.force) {
        history = { replaced: { configHash: previous.configHash, startedAt: previous.startedAt, status: previous.status } };
      } else {
        const why = changed.length ? `a run of another configuration (${changed.join(', ')} changed)` : `a run (${previous.status}, started ${previous.startedAt})`;
        throw new LlmIrError({ code: 'run-exists', message: `${dir} already holds ${why}; use --force to replace it, or another output folder`, file: dir });
      }
      for (const f of [...ATTEMPT_FILES, ...(options.outputs ?? [])]) await rm(join(dir, f), { force: true, recursive: true });
    }
    const git = await gitInfo(options.cwd ?? process.cwd());
    const info: RunInfo = {
      id,
      config: options.config,
      resolvedConfig: resolved,
      configHash,
      inputs,
      packages: { [corePackage.name]: corePackage.version, ...options.packages },
      ...(git ? { git } : {}),
      runtime: { node: process.version, platform: process.platform, arch: process.arch },
      startedAt,
      status: 'running',
      errorCount: 0,
      ...history,
    };
    const save = () => writeFileAtomic(join(dir, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
    await save();
    return {
      id,
      dir,
      info,
      async logMetric(point) {
        const line = { ...point, time: point.time ?? new Date().toISOString() };
        await appendFile(join(dir, 'metrics.jsonl'), `${JSON.stringify(line)}\n`);
      },
      async logError(error) {
        info.errorCount++;
        await appendFile(join(dir, 'errors.jsonl'), `${JSON.stringify(error)}\n`);
      },
      async writeSummary(summary) {
        await writeFileAtomic(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
      },
      async finish(status, notes) {
        info.status = status;
        info.endedAt = new Date().toISOString();
        if (notes) info.notes = { ...info.notes, ...notes };
        try {
          await save();
        } finally {
          await taken.lock.release();
        }
        return info;
      },
    };
  } catch (error) {
    await taken.lock.release();
    throw error;
  }
}

/** Reads a run folder's `run.json`. */
export async function readRunInfo(dir: string): Promise<RunInfo> {
  return JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunInfo;
}
