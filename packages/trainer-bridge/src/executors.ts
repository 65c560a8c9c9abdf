import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { LlmIrError, writeFileAtomic } from '@llm-ir/core';

const pexec = promisify(execFile);

/** What to run: a command (no shell) in a run folder. */
export interface JobSpec {
  /** Run folder (the job runs there; logs and exit records land there). */
  runDir: string;
  /** Command and arguments. */
  command: readonly string[];
  /** Extra environment. */
  env?: Record<string, string>;
  /** Job name. @default the run folder's name */
  name?: string;
  /** SLURM: GPUs per node, nodes, partition, time limit, extra #SBATCH lines. */
  slurm?: { gpusPerNode?: number; nodes?: number; partition?: string; time?: string; cpusPerTask?: number; mem?: string; extra?: string[] };
}

/** A submitted job, as saved in `<runDir>/job.json`. */
export interface JobHandle {
  /** Executor kind. */
  executor: 'local' | 'slurm' | 'ssh';
  /** Local pid, SLURM job id, or remote pid. */
  id: string;
  /** Run folder (local side). */
  runDir: string;
  /** ssh: host and remote folder. */
  remote?: { host: string; dir: string };
  /** ISO submission time. */
  submittedAt: string;
}

/** Normalised job states (SLURM's are mapped onto these). */
export type JobState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timeout' | 'out-of-memory' | 'preempted' | 'node-fail';

/** A job's state, exit code and, for failures, the reason and the log's tail. */
export interface JobStatus {
  /** State. */
  state: JobState;
  /** Exit code when known. */
  exitCode?: number;
  /** Why it failed (`cuda-oom`, `nan-loss`, the SLURM state, ...). */
  reason?: string;
  /** The executor's own word for the state (e.g. SLURM's `OUT_OF_MEMORY`). */
  raw?: string;
}

/** Runs jobs somewhere: this machine, a host over ssh, or a SLURM cluster. */
export interface Executor {
  /** Kind. */
  readonly kind: JobHandle['executor'];
  /** Starts a job and records its handle in `<runDir>/job.json`. */
  submit(spec: JobSpec): Promise<JobHandle>;
  /** Current state. */
  status(handle: JobHandle): Promise<JobStatus>;
  /** The job's output (the last `tail` lines). */
  logs(handle: JobHandle, options?: { tail?: number }): Promise<string>;
  /** Stops the job gracefully (LLaMA-Factory saves the model on SIGABRT), then for good after a grace period. */
  cancel(handle: JobHandle, options?: { graceMs?: number }): Promise<void>;
}

/** Training failures recognised in logs. */
export function diagnoseLog(text: string): string | undefined {
  if (/CUDA out of memory|torch\.(cuda\.)?OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED/i.test(text)) return 'cuda-oom';
  if (/"loss":\s*NaN|loss[=:]\s*nan|Loss is NaN|nan loss/i.test(text)) return 'nan-loss';
  if (/Some specified arguments are not used by the HfArgumentParser/.test(text)) return 'unknown-config-key';
  if (/NCCL (error|timeout)|ProcessGroupNCCL/i.test(text)) return 'nccl';
  if (/No such file or directory|FileNotFoundError/.test(text)) return 'missing-file';
  return undefined;
}

async function tailFile(path: string, lines: number): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '';
  }
}

/** Saves a handle to `<runDir>/job.json`. */
export async function saveHandle(handle: JobHandle): Promise<void> {
  await writeFileAtomic(join(handle.runDir, 'job.json'), `${JSON.stringify(handle, null, 2)}\n`);
}

/** Reads `<runDir>/job.json`. */
export async function loadHandle(runDir: string): Promise<JobHandle> {
  try {
    return JSON.parse(await readFile(join(runDir, 'job.json'), 'utf8')) as JobHandle;
  } catch (cause) {
    throw new LlmIrError({ code: 'io', message: `no job.json in ${runDir}: nothing was submitted there`, file: runDir, cause });
  }
}

// The local wrapper: runs the command in its own process group, ignores SIGABRT itself (the
// trainer gets it and saves), and records the exit code in exit.json when the command ends.
const WRAPPER = `
const { spawn } = require('node:child_process');
const { writeFileSync, renameSync } = require('node:fs');
const [cmd, ...args] = JSON.parse(process.argv[1]);
process.on('SIGABRT', () => {});
process.on('SIGTERM', () => { if (child) child.kill('SIGTERM'); });
const child = spawn(cmd, args, { stdio: 'inherit' });
child.on('error', (e) => { writeFileSync('exit.json.tmp', JSON.stringify({ code: 127, error: String(e.message) })); renameSync('exit.json.tmp', 'exit.json'); process.exit(127); });
child.on('exit', (code, signal) => { writeFileSync('exit.json.tmp', JSON.stringify({ code: code === null ? 128 : code, signal })); renameSync('exit.json.tmp', 'exit.json'); process.exit(code === null ? 1 : code); });
`;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function exitStatus(runDir: string, logFile: string): Promise<JobStatus | undefined> {
  const path = join(runDir, 'exit.json');
  if (!existsSync(path)) return undefined;
  const exit = JSON.parse(await readFile(path, 'utf8')) as { code: number; signal?: string; error?: string };
  if (existsSync(join(runDir, 'cancelled'))) return { state: 'cancelled', exitCode: exit.code };
  if (exit.code === 0) return { state: 'succeeded', exitCode: 0 };
  const reason = exit.error ? 'command-not-found' : diagnoseLog(await tailFile(logFile, 200));
  return { state: reason === 'cuda-oom' ? 'out-of-memory' : 'failed', exitCode: exit.code, ...(reason ? { reason } : {}) };
}

/**
 * Runs jobs on this machine: a detached wrapper starts the command in its own process group, with
 * output in `<runDir>/train.log` and the exit code in `<runDir>/exit.json`, so status, logs and
 * cancel work from any later process.
 */
export function localExecutor(): Executor {
  return {
    kind: 'local',
    async submit(spec) {
      const runDir = resolve(spec.runDir);
      await mkdir(runDir, { recursive: true });
      const { openSync } = await import('node:fs');
      const log = openSync(join(runDir, 'train.log'), 'a');
      const child = spawn(process.execPath, ['-e', WRAPPER, JSON.stringify(spec.command)], { cwd: runDir, env: { ...process.env, ...spec.env }, detached: true, stdio: ['ignore', log, log] });
      child.unref();
      const handle: JobHandle = { executor: 'local', id: String(child.pid), runDir, submittedAt: new Date().toISOString() };
      await saveHandle(handle);
      return handle;
    },
    async status(handle) {
      const done = await exitStatus(handle.runDir, join(handle.runDir, 'train.log'));
      if (done) return done;
      if (processAlive(Number(handle.id))) return { state: 'running' };
      return { state: 'failed', reason: 'lost: the process is gone without an exit record (machine restarted or killed with SIGKILL)' };
    },
    logs: (handle, o = {}) => tailFile(join(handle.runDir, 'train.log'), o.tail ?? 100),
    async cancel(handle, o = {}) {
      await writeFile(join(handle.runDir, 'cancelled'), new Date().toISOString());
      const pgid = -Number(handle.id);
      try {
        process.kill(pgid, 'SIGABRT');
      } catch {
        return;
      }
      const deadline = Date.now() + (o.graceMs ?? 60_000);
      while (Date.now() < deadline && !existsSync(join(handle.runDir, 'exit.json'))) await new Promise((r) => setTimeout(r, 100));
      if (!existsSync(join(handle.runDir, 'exit.json'))) {
        try {
          process.kill(pgid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}

/** SLURM's state words mapped onto {@link JobState}. */
export function mapSlurmState(raw: string, exitCode = '0:0'): JobState {
  const s = raw.trim().split(/\s+/)[0]!.replace(/\+$/, '');
  switch (s) {
    case 'PENDING': case 'CONFIGURING': case 'REQUEUED': case 'REQUEUE_HOLD': case 'REQUEUE_FED': case 'RESV_DEL_HOLD': case 'SUSPENDED':
      return 'pending';
    case 'RUNNING': case 'COMPLETING': case 'STAGE_OUT': case 'SIGNALING': case 'RESIZING': case 'STOPPED':
      return 'running';
    case 'COMPLETED':
      return exitCode.startsWith('0:') ? 'succeeded' : 'failed';
    case 'CANCELLED':
      return 'cancelled';
    case 'TIMEOUT': case 'DEADLINE':
      return 'timeout';
    case 'OUT_OF_MEMORY':
      return 'out-of-memory';
    case 'PREEMPTED':
      return 'preempted';
    case 'NODE_FAIL': case 'BOOT_FAIL':
      return 'node-fail';
    default:
      return 'failed';
  }
}

/** The sbatch script of a job (single- or multi-node torchrun environment for LLaMA-Factory). */
export function sbatchScript(spec: JobSpec): string {
  const s = spec.slurm ?? {};
  const nodes = s.nodes ?? 1;
  const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const cmd = spec.command.map(q).join(' ');
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `export ${k}=${q(v)}`).join('\n');
  return [
    '#!/bin/bash',
    `#SBATCH --job-name=${spec.name ?? basename(spec.runDir)}`,
    ...(s.partition ? [`#SBATCH --partition=${s.partition}`] : []),
    `#SBATCH --nodes=${nodes}`,
    '#SBATCH --ntasks-per-node=1',
    ...(s.gpusPerNode ? [`#SBATCH --gres=gpu:${s.gpusPerNode}`] : []),
    ...(s.cpusPerTask ? [`#SBATCH --cpus-per-task=${s.cpusPerTask}`] : []),
    ...(s.mem ? [`#SBATCH --mem=${s.mem}`] : []),
    ...(s.time ? [`#SBATCH --time=${s.time}`] : []),
    '#SBATCH --output=%x-%j.out',
    '#SBATCH --error=%x-%j.out',
    ...(s.extra ?? []).map((l) => `#SBATCH ${l}`),
    'set -euo pipefail',
    'cd "$RUN_DIR"',
    env,
    'export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" 2>/dev/null | head -n1 || hostname)',
    'export MASTER_PORT=${MASTER_PORT:-29500}',
    nodes > 1
      ? `srun bash -c ${q(`NNODES=$SLURM_NNODES NODE_RANK=$SLURM_NODEID FORCE_TORCHRUN=1 ${cmd}`)}`
      : `${s.gpusPerNode && s.gpusPerNode > 1 ? 'FORCE_TORCHRUN=1 ' : ''}${cmd}`,
    '',
  ].join('\n');
}

/**
 * Runs jobs on a SLURM cluster from a login node: writes `train.sbatch`, submits with
 * `sbatch --parsable`, polls `squeue` while the job is queued or running and `sacct` once it has left
 * the queue, and maps every terminal state (TIMEOUT, OUT_OF_MEMORY, PREEMPTED, NODE_FAIL, ...).
 */
export function slurmExecutor(options: { sbatch?: string; squeue?: string; sacct?: string; scancel?: string } = {}): Executor {
  const bin = { sbatch: options.sbatch ?? 'sbatch', squeue: options.squeue ?? 'squeue', sacct: options.sacct ?? 'sacct', scancel: options.scancel ?? 'scancel' };
  const logFile = async (handle: JobHandle) => {
    const script = await readFile(join(handle.runDir, 'train.sbatch'), 'utf8').catch(() => '');
    const name = /--job-name=(\S+)/.exec(script)?.[1] ?? basename(handle.runDir);
    return join(handle.runDir, `${name}-${handle.id}.out`);
  };
  return {
    kind: 'slurm',
    async submit(spec) {
      const runDir = resolve(spec.runDir);
      await mkdir(runDir, { recursive: true });
      const script = join(runDir, 'train.sbatch');
      await writeFileAtomic(script, sbatchScript({ ...spec, runDir }));
      let out: string;
      try {
        out = (await pexec(bin.sbatch, ['--parsable', `--chdir=${runDir}`, `--export=ALL,RUN_DIR=${runDir}`, script])).stdout;
      } catch (cause) {
        throw new LlmIrError({ code: 'submit-failed', message: `sbatch failed: ${(cause as { stderr?: string }).stderr?.trim() || (cause as Error).message}`, cause });
      }
      const id = out.trim().split(';')[0]!;
      if (!/^\d+(_\d+)?$/.test(id)) throw new LlmIrError({ code: 'submit-failed', message: `sbatch printed no job id: ${JSON.stringify(out)}` });
      const handle: JobHandle = { executor: 'slurm', id, runDir, submittedAt: new Date().toISOString() };
      await saveHandle(handle);
      return handle;
    },
    async status(handle) {
      const queued = (await pexec(bin.squeue, ['-j', handle.id, '-h', '-o', '%T']).catch(() => ({ stdout: '' }))).stdout.trim();
      if (queued) return { state: mapSlurmState(queued), raw: queued };
      const acct = (await pexec(bin.sacct, ['-j', handle.id, '-X', '-n', '-P', '-o', 'JobID,State,ExitCode,Elapsed'])).stdout.trim().split('\n')[0] ?? '';
      const [, state = 'UNKNOWN', exit = '0:0'] = acct.split('|');
      const mapped = mapSlurmState(state, exit);
      const code = Number(exit.split(':')[0]);
      if (mapped === 'failed') {
        const reason = diagnoseLog(await tailFile(await logFile(handle), 200));
        return { state: reason === 'cuda-oom' ? 'out-of-memory' : 'failed', exitCode: code, raw: state, ...(reason ? { reason } : {}) };
      }
      return { state: mapped, exitCode: code, raw: state, ...(mapped !== 'succeeded' && mapped !== 'pending' && mapped !== 'running' ? { reason: state } : {}) };
    },
    logs: async (handle, o = {}) => tailFile(await logFile(handle), o.tail ?? 100),
    async cancel(handle) {
      // --signal=ABRT lets LLaMA-Factory save before the job ends; scancel then ends it
      await pexec(bin.scancel, ['--signal=ABRT', handle.id]).catch(() => undefined);
      await pexec(bin.scancel, [handle.id]).catch(() => undefined);
    },
  };
}

/**
 * Runs jobs on a host over ssh: copies the run folder with rsync, starts the local wrapper there with
 * nohup (output in train.log, exit code in exit.json), polls over ssh, and copies results back with
 * `fetch`. Needs `ssh`, `rsync` and `node` on both sides.
 */
export function sshExecutor(options: { host: string; remoteDir: string; ssh?: string; rsync?: string; node?: string }): Executor & { fetch(handle: JobHandle): Promise<void> } {
  const ssh = options.ssh ?? 'ssh';
  const rsync = options.rsync ?? 'rsync';
  const node = options.node ?? 'node';
  const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const run = async (command: string) => (await pexec(ssh, ['-o', 'BatchMode=yes', options.host, command])).stdout;
  const remoteOf = (handle: JobHandle) => handle.remote!.dir;
  return {
    kind: 'ssh',
    async submit(spec) {
      const runDir = resolve(spec.runDir);
      const dir = `${options.remoteDir.replace(/\/$/, '')}/${basename(runDir)}`;
      await run(`mkdir -p ${q(dir)}`);
      await pexec(rsync, ['-az', `${runDir}/`, `${options.host}:${dir}/`]);
      const env = Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${q(v)}`).join(' ');
      const pid = (await run(`cd ${q(dir)} && ${env} nohup ${node} -e ${q(WRAPPER)} ${q(JSON.stringify(spec.command))} > train.log 2>&1 < /dev/null & echo $!`)).trim();
      if (!/^\d+$/.test(pid)) throw new LlmIrError({ code: 'submit-failed', message: `remote start printed no pid: ${JSON.stringify(pid)}` });
      const handle: JobHandle = { executor: 'ssh', id: pid, runDir, remote: { host: options.host, dir }, submittedAt: new Date().toISOString() };
      await saveHandle(handle);
      return handle;
    },
    async status(handle) {
      const out = await run(`cd ${q(remoteOf(handle))} && (cat exit.json 2>/dev/null || (kill -0 ${handle.id} 2>/dev/null && echo RUNNING) || echo LOST)`);
      const text = out.trim();
      if (text === 'RUNNING') return { state: 'running' };
      if (text === 'LOST') return { state: 'failed', reason: 'lost: the remote process is gone without an exit record' };
      const exit = JSON.parse(text) as { code: number };
      if (exit.code === 0) return { state: 'succeeded', exitCode: 0 };
      const cancelled = (await run(`test -e ${q(`${remoteOf(handle)}/cancelled`)} && echo yes || echo no`)).trim() === 'yes';
      if (cancelled) return { state: 'cancelled', exitCode: exit.code };
      const reason = diagnoseLog(await run(`tail -n 200 ${q(`${remoteOf(handle)}/train.log`)}`));
      return { state: reason === 'cuda-oom' ? 'out-of-memory' : 'failed', exitCode: exit.code, ...(reason ? { reason } : {}) };
    },
    logs: (handle, o = {}) => run(`tail -n ${o.tail ?? 100} ${q(`${remoteOf(handle)}/train.log`)}`),
    async cancel(handle) {
      await run(`touch ${q(`${remoteOf(handle)}/cancelled`)} && kill -ABRT -- -$(ps -o pgid= ${handle.id} | tr -d ' ') 2>/dev/null || kill -ABRT ${handle.id}`).catch(() => undefined);
    },
    async fetch(handle) {
      await pexec(rsync, ['-az', `${options.host}:${remoteOf(handle)}/`, `${handle.runDir}/`]);
    },
  };
}
