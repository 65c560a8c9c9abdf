import { existsSync } from 'node:fs';
import { readdir, readFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { LlmIrError, type ProgressCallback, type Sample } from '@llm-ir/core';
import { hashValue, sha256, writeFileAtomic } from '@llm-ir/core/io';
import { type RunRecord } from '@llm-ir/core/run';
import type { ArmConfig } from './arm.ts';
import { diagnoseLog, executorForHandle, isActive, loadHandle, type Executor, type JobHandle, type JobSpec, type JobStatus } from './executors.ts';
import { exportLlamaFactory } from './llamafactory.ts';
import { discoverCheckpoints, followTraining, lastCompleteCheckpoint, type Checkpoint, type TrainLogEntry } from './monitor.ts';
import { exportSwift } from './swift.ts';

/** A training run written to disk and ready to submit. */
export interface PreparedTraining {
  /** Backend. */
  backend: 'llamafactory' | 'swift';
  /** Run folder. */
  runDir: string;
  /** Trainer output folder (checkpoints, logs). */
  outputDir: string;
  /** The trainer's JSONL log. */
  logFile: string;
  /** LLaMA-Factory: the training YAML (where `resume_from_checkpoint` is written on a rerun). */
  configPath?: string;
  /** Command (no shell) and environment. */
  command: string[];
  env: Record<string, string>;
  /** Rows and optimiser steps per epoch (for the arm's world size). */
  rows: number;
  stepsPerEpoch: number;
  /** GPUs per node and nodes: the one GPU count of the run (pinned where it runs, asked of SLURM). */
  gpus: number;
  nodes: number;
  /** The signal the trainer saves on (LLaMA-Factory: SIGABRT; ms-swift has none). */
  saveSignal?: 'SIGABRT';
  /** Hash of the command, environment, config and dataset: a rerun of the same training resumes, a different one starts anew. */
  fingerprint: string;
}

/**
 * Writes everything a GPU run needs into `runDir` (dataset in the trainer's format, its registry or
 * arguments, the config) and returns the exact command. Prompts are taken from the samples as they
 * are: apply OCR, retrieval context and augmentation (per the arm) before.
 *
 * @throws {LlmIrError} `config-invalid` for a LLaMA-Factory run folder with white space in its path,
 * or seq_cls rows of both tasks.
 */
export async function prepareTraining(options: { backend: 'llamafactory' | 'swift'; arm: ArmConfig; samples: readonly Sample[]; imagesDir: string; runDir: string; rationales?: ReadonlyMap<string, string>; seqCls?: boolean }): Promise<PreparedTraining> {
  const runDir = resolve(options.runDir);
  const resources = { gpus: options.arm.train.gpus, nodes: options.arm.train.nodes ?? 1 };
  // a job of this folder still queued or running reads these files: leave them as they are (runTraining
  // re-attaches to it, or refuses when the new configuration differs)
  const write = !(await jobActive(runDir));
  if (options.backend === 'llamafactory') {
    const e = await exportLlamaFactory(options.samples, options.arm, { runDir, imagesDir: options.imagesDir, write, ...(options.rationales ? { rationales: options.rationales } : {}) });
    const fingerprint = hashValue({ backend: 'llamafactory', command: e.command, env: e.env, config: e.contents.config, data: sha256(e.contents.data) });
    return { backend: 'llamafactory', runDir, outputDir: e.outputDir, logFile: join(e.outputDir, 'trainer_log.jsonl'), configPath: e.configPath, command: e.command, env: e.env, rows: e.rows, stepsPerEpoch: e.stepsPerEpoch, ...resources, saveSignal: 'SIGABRT', fingerprint };
  }
  const e = await exportSwift(options.samples, options.arm, { runDir, imagesDir: options.imagesDir, write, ...(options.seqCls ? { seqCls: true } : {}) });
  const fingerprint = hashValue({ backend: 'swift', command: e.command, env: e.env, data: sha256(e.contents.data) });
  return { backend: 'swift', runDir, outputDir: e.outputDir, logFile: join(e.outputDir, 'logging.jsonl'), command: e.command, env: e.env, rows: e.rows, stepsPerEpoch: e.stepsPerEpoch, ...resources, fingerprint };
}

/** Whether the job recorded in `<runDir>/job.json` is still queued or running. */
async function jobActive(runDir: string): Promise<boolean> {
  if (!existsSync(join(runDir, 'job.json'))) return false;
  const handle = await loadHandle(runDir);
  return isActive((await executorForHandle(handle).status(handle)).state);
}

/** A failed training run, with the executor's state and the tail of the log. */
export class TrainingRunError extends LlmIrError {
  /** Terminal state. */
  readonly state: JobStatus['state'];
  /** Exit code, when known. */
  readonly exitCode: number | undefined;
  /** Last lines of the job's log. */
  readonly logTail: string;
  constructor(options: { runDir: string; status: JobStatus; logTail: string }) {
    super({
      code: options.status.state === 'out-of-memory' ? 'cuda-oom' : options.status.reason === 'nan-loss' ? 'nan-loss' : `training-${options.status.state}`,
      message: `training in ${options.runDir} ended ${options.status.state}${options.status.reason ? ` (${options.status.reason})` : ''}${options.status.exitCode !== undefined ? `, exit code ${options.status.exitCode}` : ''}\n--- log tail ---\n${options.logTail}`,
    });
    this.name = 'TrainingRunError';
    this.state = options.status.state;
    this.exitCode = options.status.exitCode;
    this.logTail = options.logTail;
  }
}

/** Options of {@link runTraining}. */
export interface RunTrainingOptions {
  /** Metrics (loss, lr, eval_loss) are appended to the run's metrics.jsonl. */
  run?: RunRecord;
  /** Progress events (`stage: 'train'`, unit step). */
  onProgress?: ProgressCallback;
  /** Messages for a person (re-attached, resumed, ...). */
  log?: (line: string) => void;
  /** Poll interval. @default 2000 */
  pollMs?: number;
  /** Stops following (the job goes on; a rerun re-attaches to it). */
  signal?: AbortSignal;
  /** SLURM resources besides the GPUs (partition, time, ...). */
  slurm?: JobSpec['slurm'];
}

async function moveAside(outputDir: string, tag: string): Promise<string | undefined> {
  if (!existsSync(outputDir) || (await readdir(outputDir)).length === 0) return undefined;
  let target = `${outputDir}.previous-${tag}`;
  for (let i = 2; existsSync(target); i++) target = `${outputDir}.previous-${tag}-${i}`;
  await rename(outputDir, target);
  return target;
}

/** The last training step whose metrics the run record already holds (a rerun re-reads the trainer's whole log). */
async function lastLoggedStep(run: RunRecord): Promise<number> {
  const file = join(run.dir, 'metrics.jsonl');
  if (!existsSync(file)) return 0;
  let last = 0;
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line) continue;
    try {
      const m = JSON.parse(line) as { name?: string; step?: number };
      if ((m.name === 'loss' || m.name === 'lr' || m.name === 'eval_loss') && typeof m.step === 'number') last = Math.max(last, m.step);
    } catch {
      // a torn line
    }
  }
  return last;
}

/** Points a prepared run at a checkpoint to resume from (LLaMA-Factory: the YAML; ms-swift: the arguments). */
async function resumeFrom(prepared: PreparedTraining, checkpoint: Checkpoint): Promise<string[]> {
  if (prepared.backend === 'llamafactory' && prepared.configPath) {
    const config = parseYaml(await readFile(prepared.configPath, 'utf8')) as Record<string, unknown>;
    await writeFileAtomic(prepared.configPath, stringifyYaml({ ...config, resume_from_checkpoint: checkpoint.path }));
    return prepared.command;
  }
  return [...prepared.command, '--resume_from_checkpoint', checkpoint.path];
}

/**
 * Submits a prepared run to an executor and follows it to the end: progress events from the
 * trainer's log, metrics into the run record, then the checkpoints found (each with its epoch).
 *
 * A rerun into the same run folder never starts a second job or all epochs again: a job of the same
 * training that is still queued or running (its handle is in `<runDir>/job.json`) is re-attached to;
 * one that finished is not run again; one that ended early (TIMEOUT, PREEMPTED, a crash, a cancel) is
 * resubmitted to resume from its last complete checkpoint. A different training in the folder is moved
 * aside (`out.previous-<job>`) once it has ended, and refused while it runs.
 *
 * @throws {TrainingRunError} when the job does not succeed (CUDA out of memory, NaN loss, SLURM
 * TIMEOUT / PREEMPTED / NODE_FAIL, ...), with the log's tail.
 * @throws {LlmIrError} `job-conflict` when a job of this folder is still queued or running under
 * another configuration or on another executor kind.
 */
export async function runTraining(prepared: PreparedTraining, executor: Executor, options: RunTrainingOptions = {}): Promise<{ handle: JobHandle; status: JobStatus; entries: TrainLogEntry[]; checkpoints: Checkpoint[]; resumedFrom?: Checkpoint; reattached?: boolean }> {
  const log = options.log ?? (() => {});
  const previous = existsSync(join(prepared.runDir, 'job.json')) ? await loadHandle(prepared.runDir) : undefined;
  // a job.json written before fingerprints were recorded is taken as this training
  const same = previous !== undefined && (previous.fingerprint === undefined || previous.fingerprint === prepared.fingerprint);
  let handle: JobHandle | undefined;
  let reattached = false;
  let resumedFrom: Checkpoint | undefined;
  if (previous) {
    const before = await executorForHandle(previous, executor).status(previous);
    if (isActive(before.state)) {
      if (previous.executor !== executor.kind) {
        throw new LlmIrError({ code: 'job-conflict', message: `${previous.executor} job ${previous.id} of ${prepared.runDir} is still ${before.state}: rerun with --executor ${previous.executor}, or cancel it (llm-ir train cancel) first`, file: prepared.runDir });
      }
      if (!same) throw new LlmIrError({ code: 'job-conflict', message: `${previous.executor} job ${previous.id} of another configuration is still ${before.state} in ${prepared.runDir}: cancel it (llm-ir train cancel) or use another folder`, file: prepared.runDir });
      handle = previous;
      reattached = true;
      log(`training: re-attached to ${previous.executor} job ${previous.id} (${before.state})`);
    } else if (same && before.state === 'succeeded' && previous.executor === executor.kind) {
      log(`training: ${previous.executor} job ${previous.id} already finished this training`);
      handle = previous;
    }
  }
  if (!handle) {
    let command = prepared.command;
    const checkpoint = same ? await lastCompleteCheckpoint(prepared.outputDir) : undefined;
    if (checkpoint) {
      command = await resumeFrom(prepared, checkpoint);
      resumedFrom = checkpoint;
      log(`training: resuming from ${checkpoint.path} (step ${checkpoint.step}) after ${previous?.executor} job ${previous?.id} ended early`);
    } else {
      const moved = await moveAside(prepared.outputDir, previous?.id ?? 'unknown');
      if (moved) log(`training: ${same ? 'no complete checkpoint to resume from' : 'another configuration trained here'}; its output moved to ${moved}`);
    }
    handle = await executor.submit({ runDir: prepared.runDir, command, env: prepared.env, gpus: prepared.gpus, nodes: prepared.nodes, fingerprint: prepared.fingerprint, ...(prepared.saveSignal ? { saveSignal: prepared.saveSignal } : {}), ...(options.slurm ? { slurm: options.slurm } : {}) });
  }
  const job = handle;
  let status: JobStatus = { state: 'pending' };
  const followed = await followTraining({
    logFile: prepared.logFile,
    ...(options.run ? { metricsAfterStep: await lastLoggedStep(options.run) } : {}),
    done: async () => {
      status = await executor.status(job);
      return !isActive(status.state);
    },
    intervalMs: options.pollMs ?? 2000,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.run ? { run: options.run } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (followed.nanLoss && status.state === 'succeeded') status = { ...status, state: 'failed', reason: 'nan-loss' };
  if (status.state !== 'succeeded' && status.state !== 'cancelled' && !(options.signal?.aborted && isActive(status.state))) {
    const tail = await executor.logs(job, { tail: 40 });
    const reason = status.reason ?? diagnoseLog(tail);
    throw new TrainingRunError({ runDir: prepared.runDir, status: reason ? { ...status, reason } : status, logTail: tail });
  }
  return { handle: job, status, entries: followed.entries, checkpoints: await discoverCheckpoints(prepared.outputDir, prepared.stepsPerEpoch), ...(resumedFrom ? { resumedFrom } : {}), ...(reattached ? { reattached } : {}) };
}
