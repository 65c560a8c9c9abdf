import { join, resolve } from 'node:path';
import { LlmIrError, type ProgressCallback, type RunRecord, type Sample } from '@llm-ir/core';
import type { ArmConfig } from './arm.ts';
import { diagnoseLog, type Executor, type JobHandle, type JobStatus } from './executors.ts';
import { exportLlamaFactory } from './llamafactory.ts';
import { discoverCheckpoints, followTraining, type Checkpoint, type TrainLogEntry } from './monitor.ts';
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
  /** Command (no shell) and environment. */
  command: string[];
  env: Record<string, string>;
  /** Rows and optimiser steps per epoch. */
  rows: number;
  stepsPerEpoch: number;
}

/**
 * Writes everything a GPU run needs into `runDir` (dataset in the trainer's format, its registry or
 * arguments, the config) and returns the exact command. Prompts are taken from the samples as they
 * are: apply OCR, retrieval context and augmentation (per the arm) before.
 */
export async function prepareTraining(options: { backend: 'llamafactory' | 'swift'; arm: ArmConfig; samples: readonly Sample[]; imagesDir: string; runDir: string; rationales?: ReadonlyMap<string, string>; seqCls?: boolean }): Promise<PreparedTraining> {
  const runDir = resolve(options.runDir);
  if (options.backend === 'llamafactory') {
    const e = await exportLlamaFactory(options.samples, options.arm, { runDir, imagesDir: options.imagesDir, ...(options.rationales ? { rationales: options.rationales } : {}) });
    return { backend: 'llamafactory', runDir, outputDir: e.outputDir, logFile: join(e.outputDir, 'trainer_log.jsonl'), command: e.command, env: e.env, rows: e.rows, stepsPerEpoch: e.stepsPerEpoch };
  }
  const e = await exportSwift(options.samples, options.arm, { runDir, imagesDir: options.imagesDir, ...(options.seqCls ? { seqCls: true } : {}) });
  return { backend: 'swift', runDir, outputDir: e.outputDir, logFile: join(e.outputDir, 'logging.jsonl'), command: e.command, env: e.env, rows: e.rows, stepsPerEpoch: e.stepsPerEpoch };
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

/**
 * Submits a prepared run to an executor and follows it to the end: progress events from the
 * trainer's log, metrics into the run record, then the checkpoints found (each with its epoch).
 *
 * @throws {TrainingRunError} when the job does not succeed (CUDA out of memory, NaN loss, SLURM
 * TIMEOUT / PREEMPTED / NODE_FAIL, ...), with the log's tail.
 */
export async function runTraining(prepared: PreparedTraining, executor: Executor, options: { run?: RunRecord; onProgress?: ProgressCallback; pollMs?: number; signal?: AbortSignal; slurm?: Parameters<Executor['submit']>[0]['slurm'] } = {}): Promise<{ handle: JobHandle; status: JobStatus; entries: TrainLogEntry[]; checkpoints: Checkpoint[] }> {
  const handle = await executor.submit({ runDir: prepared.runDir, command: prepared.command, env: prepared.env, ...(options.slurm ? { slurm: options.slurm } : {}) });
  let status: JobStatus = { state: 'pending' };
  const terminal = (s: JobStatus) => !['pending', 'running'].includes(s.state);
  const followed = await followTraining({
    logFile: prepared.logFile,
    done: async () => {
      status = await executor.status(handle);
      return terminal(status);
    },
    intervalMs: options.pollMs ?? 2000,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.run ? { run: options.run } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (followed.nanLoss && status.state === 'succeeded') status = { ...status, state: 'failed', reason: 'nan-loss' };
  if (status.state !== 'succeeded' && status.state !== 'cancelled') {
    const tail = await executor.logs(handle, { tail: 40 });
    const reason = status.reason ?? diagnoseLog(tail);
    throw new TrainingRunError({ runDir: prepared.runDir, status: reason ? { ...status, reason } : status, logTail: tail });
  }
  return { handle, status, entries: followed.entries, checkpoints: await discoverCheckpoints(prepared.outputDir, prepared.stepsPerEpoch) };
}
