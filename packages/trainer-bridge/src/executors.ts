import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { LlmIrError } from '@llm-ir/core';
import { writeFileAtomic } from '@llm-ir/core/io';

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
  /**
   * GPUs per node the job uses: `CUDA_VISIBLE_DEVICES` is pinned to this many devices where the job
   * runs (the first ones of the devices it was given, by SLURM's gres or the caller's environment,
   * else `0..n-1`), and SLURM is asked for them (`--gres=gpu:n`). Unset: the environment is left as it is.
   */
  gpus?: number;
  /** Nodes (SLURM only; one task per node launches the trainer, which starts one process per GPU). @default 1 */
  nodes?: number;
  /**
   * The signal the trainer saves on before it stops (LLaMA-Factory's LogCallback under
   * `LLAMABOARD_ENABLED`: `SIGABRT`). `cancel` sends it, waits for the job to end, then stops it for
   * good; without it `cancel` stops the job at once (resume from the last checkpoint).
   */
  saveSignal?: 'SIGABRT';
  /** SLURM: partition, time limit, CPUs, memory, extra #SBATCH lines. */
  slurm?: { partition?: string; time?: string; cpusPerTask?: number; mem?: string; extra?: string[] };
  /** Recorded in the handle (see {@link JobHandle.fingerprint}). */
  fingerprint?: string;
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
  /** Local: the process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22), so a reused pid is not taken for the job. */
  startTicks?: number;
  /** The signal the trainer saves on (see {@link JobSpec.saveSignal}). */
  saveSignal?: 'SIGABRT';
  /** What was submitted (set by the caller: `runTraining` keeps its configuration's fingerprint here). */
  fingerprint?: string;
  /** Local and ssh: the token in the environment of every process of the job (how cancel finds torchrun's workers). */
  token?: string;
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

/** Whether a job in this state may still change (queued or running). */
export function isActive(state: JobState): boolean {
  return state === 'pending' || state === 'running';
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
  /**
   * Stops the job. With a save signal (LLaMA-Factory: SIGABRT) the trainer is asked to save first and
   * the job is given `graceMs` to end by itself before it is stopped for good.
   */
  cancel(handle: JobHandle, options?: { graceMs?: number; pollMs?: number }): Promise<void>;
}

/**
 * Training failures recognised in logs, in the words the tools print them:
 * - `cuda-oom`: torch's `torch.OutOfMemoryError: CUDA out of memory` (and cuBLAS allocation failures);
 * - `nan-loss`: a NaN loss in a log line (only logged with `logging_nan_inf_filter: false`; transformers
 *   replaces NaN / inf losses by the running mean otherwise, training_args.py `logging_nan_inf_filter`);
 * - `unknown-config-key`: transformers' hf_argparser.py `HfArgumentParser.parse_dict` ("Some keys are
 *   not used by the HfArgumentParser: [...]", how LLaMA-Factory parses a YAML config) and
 *   `parse_args_into_dataclasses` ("Some specified arguments are not used by the HfArgumentParser");
 * - `nccl`, `missing-file`, `output-dir-not-empty` (transformers / LLaMA-Factory's refusal to write
 *   into a non-empty output folder without a checkpoint to resume).
 */
export function diagnoseLog(text: string): string | undefined {
  if (/CUDA out of memory|torch\.(cuda\.)?OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED/i.test(text)) return 'cuda-oom';
  if (/"loss":\s*NaN|loss[=:]\s*nan|Loss is NaN|nan loss/i.test(text)) return 'nan-loss';
  if (/Some (specified arguments|keys) are not used by the HfArgumentParser/.test(text)) return 'unknown-config-key';
  if (/Output directory (\(.*\) )?already exists and is not empty/.test(text)) return 'output-dir-not-empty';
  if (/NCCL (error|timeout)|ProcessGroupNCCL/i.test(text)) return 'nccl';
  if (/No such file or directory|FileNotFoundError/.test(text)) return 'missing-file';
  return undefined;
}

/** A job that ended badly: out of memory when its log says CUDA ran out, else failed, with the reason. */
/** @internal A failed status with the diagnosed reason. */
export function failedStatus(exitCode: number, reason: string | undefined): JobStatus {
  return { state: reason === 'cuda-oom' ? 'out-of-memory' : 'failed', exitCode, ...(reason ? { reason } : {}) };
}

/** @internal The last `lines` lines of a file ('' when it does not exist). */
export async function tailFile(path: string, lines: number): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/**
 * Shell-quotes one word for bash (single quotes; a `'` becomes `'\''`): the POSIX idiom, exact for
 * every byte, in one line. shell-quote's `quote` was weighed and not taken: it switches between
 * single quotes, double quotes and backslashes by content (as safe, harder to read in a generated
 * sbatch script) and would be a dependency for one line.
 */
function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

// The local and ssh wrapper, the leader of the job's process group.
// - It pins CUDA_VISIBLE_DEVICES to LLM_IR_GPUS devices (the first of those it was given, else 0..n-1
//   when nvidia-smi, if present, counts enough GPUs; an empty CUDA_VISIBLE_DEVICES means no GPU).
// - It starts the command through `sh -c 'trap "" ABRT; exec ...'`, so that it begins with SIGABRT
//   ignored (inherited through exec): only processes that install a handler act on it
//   (LLaMA-Factory's LogCallback in each training process, callbacks.py `signal.signal(SIGABRT, ...)`),
//   while LLaMA-Factory's launcher.py and torchrun (no handler: the default action kills them) stay
//   up until their workers have saved.
// - The job's processes are found by the token LLM_IR_JOB_TOKEN in their environment: torchrun starts
//   each worker in a new session (torch/distributed/elastic/multiprocessing/subprocess_handler
//   `_popen`: start_new_session=True) and orphans are re-parented, so neither the process group nor
//   the parent chain finds them all.
// - SIGUSR1 sends LLM_IR_SAVE_SIGNAL to every job process (cancel, first step), SIGUSR2 SIGKILLs them
//   (cancel, for good), SIGTERM forwards SIGTERM to them.
// - When the command ends it waits for the other job processes (not zombies; at most
//   LLM_IR_DRAIN_MS, default 10 min), then records the exit code in exit.json.
const WRAPPER = `
const { spawn, execFileSync } = require('node:child_process');
const { readdirSync, readFileSync, writeFileSync, renameSync } = require('node:fs');
const [cmd, ...args] = JSON.parse(process.argv[1]);
const record = (o) => { writeFileSync('exit.json.tmp', JSON.stringify(o)); renameSync('exit.json.tmp', 'exit.json'); };
const env = { ...process.env };
const token = env.LLM_IR_JOB_TOKEN || '';
const gpus = Number(env.LLM_IR_GPUS || 0);
const refuse = (why) => { console.error('llm-ir: ' + why); record({ code: 2, error: 'gpus' }); process.exit(2); };
if (gpus > 0) {
  let devices;
  if (env.CUDA_VISIBLE_DEVICES !== undefined) {
    devices = env.CUDA_VISIBLE_DEVICES.split(',').map((d) => d.trim()).filter(Boolean);
    if (devices.length < gpus) refuse('the job needs ' + gpus + ' GPUs but CUDA_VISIBLE_DEVICES="' + env.CUDA_VISIBLE_DEVICES + '" gives ' + devices.length);
  } else {
    let count;
    try { count = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8' }).split('\\n').filter((l) => /^GPU \\d+/.test(l)).length; } catch {}
    if (count !== undefined && count < gpus) refuse('the job needs ' + gpus + ' GPUs but nvidia-smi lists ' + count);
    devices = Array.from({ length: gpus }, (_, i) => String(i));
  }
  env.CUDA_VISIBLE_DEVICES = devices.slice(0, gpus).join(',');
}
const needle = 'LLM_IR_JOB_TOKEN=' + token;
const members = () => {
  if (!token) return [];
  const out = [];
  let pids = [];
  try { pids = readdirSync('/proc').filter((d) => /^\\d+$/.test(d) && Number(d) !== process.pid); } catch { return out; }
  for (const d of pids) {
    try {
      const stat = readFileSync('/proc/' + d + '/stat', 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] === 'Z') continue;
      if (readFileSync('/proc/' + d + '/environ', 'utf8').split('\\0').includes(needle)) out.push(Number(d));
    } catch {}
  }
  return out;
};
const signalAll = (sig) => { for (const pid of members()) { try { process.kill(pid, sig); } catch {} } };
let child;
process.on('SIGABRT', () => {});
process.on('SIGUSR1', () => { if (env.LLM_IR_SAVE_SIGNAL) signalAll(env.LLM_IR_SAVE_SIGNAL); });
process.on('SIGUSR2', () => signalAll('SIGKILL'));
process.on('SIGTERM', () => signalAll('SIGTERM'));
const start = () => {
  child = spawn('/bin/sh', ['-c', 'trap "" ABRT; exec "$@"', 'sh', cmd, ...args], { stdio: 'inherit', env });
  child.on('exit', async (code, signal) => {
    const until = Date.now() + Number(env.LLM_IR_DRAIN_MS || 600000);
    while (members().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    record(code === 127 ? { code: 127, error: 'command not found: ' + cmd } : { code: code === null ? 128 : code, signal });
    process.exit(code === null ? 1 : code);
  });
};
// torchrun's rendezvous port: ms-swift passes none (torchrun's 29500, shared by every job on the machine)
if (env.NPROC_PER_NODE && !env.MASTER_PORT) {
  const probe = require('node:net').createServer();
  probe.listen(0, '127.0.0.1', () => { env.MASTER_PORT = String(probe.address().port); probe.close(start); });
} else start();
`;

/** The wrapper's environment: the job token, the save signal, the GPU count. */
function wrapperEnv(spec: JobSpec, token: string): Record<string, string> {
  return { ...spec.env, LLM_IR_JOB_TOKEN: token, ...(spec.saveSignal ? { LLM_IR_SAVE_SIGNAL: spec.saveSignal } : {}), ...(spec.gpus ? { LLM_IR_GPUS: String(spec.gpus) } : {}) };
}

/**
 * The processes of a local job still alive: every process whose environment carries the job's
 * token (see the wrapper above), zombies left out. Linux only (reads /proc); elsewhere none.
 */
export function jobProcesses(handle: Pick<JobHandle, 'token'>): number[] {
  if (!handle.token) return [];
  const needle = `LLM_IR_JOB_TOKEN=${handle.token}`;
  const out: number[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of pids) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] === 'Z') continue;
      if (readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(needle)) out.push(Number(d));
    } catch {
      // gone or not ours
    }
  }
  return out;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22), where /proc exists. */
function startTicksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

/** Whether the job's wrapper is still the process with this pid (not a later process that reuses it). */
function jobAlive(handle: JobHandle): boolean {
  const pid = Number(handle.id);
  if (!processAlive(pid)) return false;
  if (handle.startTicks === undefined) return true;
  const ticks = startTicksOf(pid);
  return ticks === undefined || ticks === handle.startTicks;
}

async function exitStatus(runDir: string, logFile: string): Promise<JobStatus | undefined> {
  const path = join(runDir, 'exit.json');
  if (!existsSync(path)) return undefined;
  const exit = JSON.parse(await readFile(path, 'utf8')) as { code: number; signal?: string; error?: string };
  if (existsSync(join(runDir, 'cancelled'))) return { state: 'cancelled', exitCode: exit.code };
  return wrapperExit(exit, () => tailFile(logFile, 200));
}

/** The state the wrapper's exit.json records: its `error` names a refusal at start, else the log's tail tells why it failed. */
async function wrapperExit(exit: { code: number; error?: string }, logTail: () => Promise<string>): Promise<JobStatus> {
  if (exit.code === 0) return { state: 'succeeded', exitCode: 0 };
  const reason = exit.error === 'gpus' ? 'gpus-unavailable' : exit.error ? 'command-not-found' : diagnoseLog(await logTail());
  return failedStatus(exit.code, reason);
}

function refuseNodes(spec: JobSpec, kind: string): void {
  if ((spec.nodes ?? 1) > 1) throw new LlmIrError({ code: 'config-invalid', message: `the ${kind} executor runs on one machine; ${spec.nodes} nodes need --executor slurm` });
}

/**
 * Runs jobs on this machine: a detached wrapper starts the command in its own process group, with
 * output in `<runDir>/train.log` and the exit code in `<runDir>/exit.json`, so status, logs and
 * cancel work from any later process (a rerun re-attaches through `<runDir>/job.json`).
 */
export function localExecutor(): Executor {
  return {
    kind: 'local',
    async submit(spec) {
      refuseNodes(spec, 'local');
      const runDir = resolve(spec.runDir);
      await mkdir(runDir, { recursive: true });
      for (const stale of ['exit.json', 'cancelled']) await rm(join(runDir, stale), { force: true });
      const log = openSync(join(runDir, 'train.log'), 'a');
      const token = randomBytes(12).toString('hex');
      const child = spawn(process.execPath, ['-e', WRAPPER, JSON.stringify(spec.command)], { cwd: runDir, env: { ...process.env, ...wrapperEnv(spec, token) }, detached: true, stdio: ['ignore', log, log] });
      child.unref();
      const ticks = startTicksOf(child.pid!);
      const handle: JobHandle = { executor: 'local', id: String(child.pid), runDir, submittedAt: new Date().toISOString(), token, ...(ticks !== undefined ? { startTicks: ticks } : {}), ...(spec.saveSignal ? { saveSignal: spec.saveSignal } : {}), ...(spec.fingerprint ? { fingerprint: spec.fingerprint } : {}) };
      await saveHandle(handle);
      return handle;
    },
    async status(handle) {
      const done = await exitStatus(handle.runDir, join(handle.runDir, 'train.log'));
      if (done) return done;
      if (jobAlive(handle)) return { state: 'running' };
      if (existsSync(join(handle.runDir, 'cancelled'))) return { state: 'cancelled', reason: 'stopped for good after the grace period' };
      return { state: 'failed', reason: 'lost: the process is gone without an exit record (machine restarted or killed with SIGKILL)' };
    },
    logs: (handle, o = {}) => tailFile(join(handle.runDir, 'train.log'), o.tail ?? 100),
    async cancel(handle, o = {}) {
      const exited = () => existsSync(join(handle.runDir, 'exit.json'));
      if (exited()) return; // it ended: nothing to cancel, and its state stays what it was
      const pid = Number(handle.id);
      const alive = jobAlive(handle);
      if (!alive && jobProcesses(handle).length === 0) return;
      await writeFile(join(handle.runDir, 'cancelled'), new Date().toISOString());
      if (alive && handle.saveSignal) {
        // asked again at every poll: a trainer still loading its model has no handler yet
        const deadline = Date.now() + (o.graceMs ?? 120_000);
        while (Date.now() < deadline && !exited() && jobAlive(handle)) {
          try {
            process.kill(pid, 'SIGUSR1');
          } catch {
            break;
          }
          await sleep(o.pollMs ?? 500);
        }
        if (exited()) return;
      }
      if (jobAlive(handle)) {
        try {
          process.kill(pid, 'SIGUSR2');
        } catch {
          // gone
        }
        for (let i = 0; i < 100 && jobAlive(handle) && !exited(); i++) await sleep(50);
      }
      // the wrapper itself was killed: its processes are found by their token
      for (const p of [...jobProcesses(handle), ...(jobAlive(handle) ? [pid] : [])]) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
      for (let i = 0; i < 100 && jobAlive(handle); i++) await sleep(50);
    },
  };
}

/**
 * The executor that can follow a recorded job: `preferred` when it is of the job's kind, else a
 * default one of that kind (ssh: the host and folder the handle names).
 */
export function executorForHandle(handle: JobHandle, preferred?: Executor): Executor {
  if (preferred && preferred.kind === handle.executor) return preferred;
  if (handle.executor === 'local') return localExecutor();
  if (handle.executor === 'slurm') return slurmExecutor();
  if (!handle.remote) throw new LlmIrError({ code: 'io', message: `job.json of ${handle.runDir} names an ssh job without its host`, file: handle.runDir });
  return sshExecutor({ host: handle.remote.host, remoteDir: dirname(handle.remote.dir) });
}

/**
 * SLURM's job state words mapped onto {@link JobState} (squeue(1) "JOB STATE CODES", sacct(1) "JOB
 * STATE CODES", src/common/slurm_protocol_defs.c `job_state_string`): queued and held states are
 * pending (EXPEDITING, SLURM 25.11+: a requeued job eligible again at once); SPECIAL_EXIT (requeued and
 * held after an exit value the site marks: it waits for `scontrol release`) and REVOKED (a federated
 * sibling withdrawn because another cluster runs the job: follow it there with `-M`) are failed here,
 * with the reason saying so; LAUNCH_FAILED and BOOT_FAIL are node failures. A `CANCELLED by <uid>`
 * suffix (sacct) and `+` are read past.
 */
export function mapSlurmState(raw: string, exitCode = '0:0'): JobState {
  const s = raw.trim().split(/\s+/)[0]!.replace(/\+$/, '');
  switch (s) {
    case 'PENDING': case 'CONFIGURING': case 'REQUEUED': case 'REQUEUE_HOLD': case 'REQUEUE_FED': case 'RESV_DEL_HOLD': case 'SUSPENDED': case 'EXPEDITING':
      return 'pending';
    case 'RUNNING': case 'COMPLETING': case 'STAGE_OUT': case 'SIGNALING': case 'RESIZING': case 'STOPPED': case 'UPDATE_DB': case 'POWER_UP_NODE':
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
    case 'NODE_FAIL': case 'BOOT_FAIL': case 'LAUNCH_FAILED':
      return 'node-fail';
    case 'SPECIAL_EXIT': case 'REVOKED': case 'FAILED':
    default:
      return 'failed';
  }
}

/** A SLURM job name: letters, digits, `.`, `_` and `-` (anything else, spaces and commas among them, becomes `-`). */
function slurmJobName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'llm-ir';
}

/**
 * The sbatch script of a job. The trainer runs as a job step (`srun`, one task per node) so that
 * `scancel --signal` reaches it (scancel(1): without `--batch` / `--full` signals go to the job's
 * steps, not to the batch shell), with SIGABRT ignored by the launchers (see {@link WRAPPER}'s
 * comment), `CUDA_VISIBLE_DEVICES` pinned to the job's GPUs, `NNODES` / `NODE_RANK` from SLURM, and a
 * torchrun rendezvous port derived from the job id (two jobs on one node must not share 29500).
 */
export function sbatchScript(spec: JobSpec, options: { array?: string } = {}): string {
  const s = spec.slurm ?? {};
  // sbatch.1 filename pattern: %A the array's base job id, %a the task index (an array's default is slurm-%A_%a.out)
  const output = options.array ? '%x-%A_%a.out' : '%x-%j.out';
  const nodes = spec.nodes ?? 1;
  const cmd = spec.command.map(q).join(' ');
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `export ${k}=${q(v)}`);
  const gpus = spec.gpus;
  const pin = gpus ? `v=\${CUDA_VISIBLE_DEVICES:-$(seq -s, 0 ${gpus - 1})}; if [ "$(echo "$v" | tr , '\\n' | grep -c .)" -lt ${gpus} ]; then echo "llm-ir: the job needs ${gpus} GPUs but CUDA_VISIBLE_DEVICES=$v" >&2; exit 2; fi; export CUDA_VISIBLE_DEVICES=$(echo "$v" | cut -d, -f1-${gpus}); ` : '';
  const step = `${pin}trap '' ABRT; export NNODES=$SLURM_NNODES NODE_RANK=$SLURM_NODEID; exec ${cmd}`;
  return [
    '#!/bin/bash',
    `#SBATCH --job-name=${slurmJobName(spec.name ?? basename(spec.runDir))}`,
    ...(s.partition ? [`#SBATCH --partition=${s.partition}`] : []),
    `#SBATCH --nodes=${nodes}`,
    '#SBATCH --ntasks-per-node=1',
    ...(gpus ? [`#SBATCH --gres=gpu:${gpus}`] : []),
    ...(s.cpusPerTask ? [`#SBATCH --cpus-per-task=${s.cpusPerTask}`] : []),
    ...(s.mem ? [`#SBATCH --mem=${s.mem}`] : []),
    ...(s.time ? [`#SBATCH --time=${s.time}`] : []),
    ...(options.array ? [`#SBATCH --array=${options.array}`] : []),
    `#SBATCH --output=${output}`,
    `#SBATCH --error=${output}`,
    ...(s.extra ?? []).map((l) => `#SBATCH ${l}`),
    'set -euo pipefail',
    `cd ${q(resolve(spec.runDir))}`,
    ...env,
    'export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" 2>/dev/null | head -n1 || hostname)',
    'export MASTER_PORT=${MASTER_PORT:-$((15000 + SLURM_JOB_ID % 15000))}',
    // srun of SLURM 22.05-23.02 does not inherit --cpus-per-task from the allocation
    `srun --kill-on-bad-exit=1 \${SLURM_CPUS_PER_TASK:+--cpus-per-task=$SLURM_CPUS_PER_TASK} bash -c ${q(step)}`,
    '',
  ].join('\n');
}

/** `scontrol show job -o <id>`'s `JobState=` and `ExitCode=` (src/scontrol/info_job.c `_sprint_job_info`; on separate lines without -o). */
export function parseScontrolJob(text: string): { state: string; exitCode: string } | undefined {
  const state = /(?:^|\s)JobState=(\S+)/.exec(text)?.[1];
  if (!state) return undefined;
  return { state, exitCode: /(?:^|\s)ExitCode=(\d+:\d+)/.exec(text)?.[1] ?? '0:0' };
}

/**
 * Runs jobs on a SLURM cluster from a login node: writes `train.sbatch`, submits with
 * `sbatch --parsable`, polls `squeue` while the job is queued or running and `sacct` once it has left
 * the queue (or `scontrol show job` on clusters without accounting, where sacct fails), and maps
 * every terminal state (TIMEOUT, OUT_OF_MEMORY, PREEMPTED, NODE_FAIL, ...).
 */
export function slurmExecutor(options: { sbatch?: string; squeue?: string; sacct?: string; scancel?: string; scontrol?: string } = {}): Executor {
  const bin = { sbatch: options.sbatch ?? 'sbatch', squeue: options.squeue ?? 'squeue', sacct: options.sacct ?? 'sacct', scancel: options.scancel ?? 'scancel', scontrol: options.scontrol ?? 'scontrol' };
  const logFile = async (handle: JobHandle) => {
    const script = await readFile(join(handle.runDir, 'train.sbatch'), 'utf8').catch(() => '');
    const name = /--job-name=(\S+)/.exec(script)?.[1] ?? basename(handle.runDir);
    return join(handle.runDir, `${name}-${handle.id}.out`);
  };
  const finished = async (handle: JobHandle): Promise<{ state: string; exit: string; source: string }> => {
    try {
      const acct = (await pexec(bin.sacct, ['-j', handle.id, '-X', '-n', '-P', '-o', 'JobID,State,ExitCode,Elapsed'])).stdout.trim().split('\n')[0] ?? '';
      const [, state, exit = '0:0'] = acct.split('|');
      if (state) return { state, exit, source: 'sacct' };
    } catch {
      // no accounting storage: sacct fails ("Slurm accounting storage is disabled"); the controller still knows the job for MinJobAge
    }
    try {
      const job = parseScontrolJob((await pexec(bin.scontrol, ['show', 'job', '-o', handle.id])).stdout);
      if (job) return { state: job.state, exit: job.exitCode, source: 'scontrol' };
    } catch {
      // purged from the controller too
    }
    return { state: 'UNKNOWN', exit: '0:0', source: 'none' };
  };
  const status = async (handle: JobHandle): Promise<JobStatus> => {
    const queued = (await pexec(bin.squeue, ['-j', handle.id, '-h', '-o', '%T']).catch(() => ({ stdout: '' }))).stdout.trim();
    // squeue lists finished jobs too under SQUEUE_STATES=all: only a live state is taken from it
    if (queued && isActive(mapSlurmState(queued))) return { state: mapSlurmState(queued), raw: queued };
    const { state, exit, source } = await finished(handle);
    if (source === 'none') return { state: 'failed', raw: state, reason: `unknown: job ${handle.id} is neither in squeue, sacct nor scontrol (accounting disabled and purged after MinJobAge?)` };
    const mapped = mapSlurmState(state, exit);
    const code = Number(exit.split(':')[0]);
    if (existsSync(join(handle.runDir, 'cancelled')) && !isActive(mapped)) return { state: 'cancelled', exitCode: code, raw: state };
    if (mapped === 'failed') {
      const reason = diagnoseLog(await tailFile(await logFile(handle), 200));
      return { ...failedStatus(code, reason), raw: state };
    }
    const hint = state.startsWith('SPECIAL_EXIT') ? ' (held in the queue: scontrol release it to run again, or scancel it)' : state.startsWith('REVOKED') ? ' (the job runs on another cluster of the federation: follow it there with -M)' : '';
    return { state: mapped, exitCode: code, raw: state, ...(mapped !== 'succeeded' && !isActive(mapped) ? { reason: `${state}${hint}` } : {}) };
  };
  return {
    kind: 'slurm',
    async submit(spec) {
      const runDir = resolve(spec.runDir);
      await mkdir(runDir, { recursive: true });
      await rm(join(runDir, 'cancelled'), { force: true });
      const script = join(runDir, 'train.sbatch');
      await writeFileAtomic(script, sbatchScript({ ...spec, runDir }));
      let out: string;
      try {
        out = (await pexec(bin.sbatch, ['--parsable', `--chdir=${runDir}`, script])).stdout;
      } catch (cause) {
        throw new LlmIrError({ code: 'submit-failed', message: `sbatch failed: ${(cause as { stderr?: string }).stderr?.trim() || (cause as Error).message}`, cause });
      }
      const id = out.trim().split(';')[0]!;
      if (!/^\d+(_\d+)?$/.test(id)) throw new LlmIrError({ code: 'submit-failed', message: `sbatch printed no job id: ${JSON.stringify(out)}` });
      const handle: JobHandle = { executor: 'slurm', id, runDir, submittedAt: new Date().toISOString(), ...(spec.saveSignal ? { saveSignal: spec.saveSignal } : {}), ...(spec.fingerprint ? { fingerprint: spec.fingerprint } : {}) };
      await saveHandle(handle);
      return handle;
    },
    status,
    logs: async (handle, o = {}) => tailFile(await logFile(handle), o.tail ?? 100),
    async cancel(handle, o = {}) {
      const now = await status(handle);
      if (!isActive(now.state)) return; // it ended: nothing to cancel, and its state stays what it was
      await writeFile(join(handle.runDir, 'cancelled'), new Date().toISOString());
      if (handle.saveSignal && now.state === 'running') {
        // reaches the srun step (the trainer), not the batch shell (scancel(1) --signal without --batch);
        // the job then ends by itself once the model is saved. Sent again at every poll: before srun
        // has made its step, or while the trainer loads its model, there is nothing to receive it
        const deadline = Date.now() + (o.graceMs ?? 120_000);
        while (Date.now() < deadline) {
          await pexec(bin.scancel, [`--signal=${handle.saveSignal.replace(/^SIG/, '')}`, handle.id]).catch(() => undefined);
          await sleep(o.pollMs ?? 1000);
          if (!isActive((await status(handle)).state)) return;
        }
      }
      // a pending job takes no signal but SIGKILL (job_mgr.c: "Job can not be altered now"): cancel it at once
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
  const run = async (command: string) => (await pexec(ssh, ['-o', 'BatchMode=yes', options.host, command])).stdout;
  const remoteOf = (handle: JobHandle) => handle.remote!.dir;
  return {
    kind: 'ssh',
    async submit(spec) {
      refuseNodes(spec, 'ssh');
      const runDir = resolve(spec.runDir);
      const dir = `${options.remoteDir.replace(/\/$/, '')}/${basename(runDir)}`;
      await run(`mkdir -p ${q(dir)} && rm -f ${q(`${dir}/exit.json`)} ${q(`${dir}/cancelled`)}`);
      await pexec(rsync, ['-az', `${runDir}/`, `${options.host}:${dir}/`]);
      const token = randomBytes(12).toString('hex');
      const env = Object.entries(wrapperEnv(spec, token)).map(([k, v]) => `${k}=${q(v)}`).join(' ');
      // setsid: the wrapper leads its own process group there, as it does locally
      const pid = (await run(`cd ${q(dir)} && ${env} nohup setsid ${node} -e ${q(WRAPPER)} ${q(JSON.stringify(spec.command))} > train.log 2>&1 < /dev/null & echo $!`)).trim();
      if (!/^\d+$/.test(pid)) throw new LlmIrError({ code: 'submit-failed', message: `remote start printed no pid: ${JSON.stringify(pid)}` });
      const handle: JobHandle = { executor: 'ssh', id: pid, runDir, remote: { host: options.host, dir }, submittedAt: new Date().toISOString(), token, ...(spec.saveSignal ? { saveSignal: spec.saveSignal } : {}), ...(spec.fingerprint ? { fingerprint: spec.fingerprint } : {}) };
      await saveHandle(handle);
      return handle;
    },
    async status(handle) {
      const out = await run(`cd ${q(remoteOf(handle))} && (cat exit.json 2>/dev/null || (kill -0 ${handle.id} 2>/dev/null && echo RUNNING) || echo LOST)`);
      const text = out.trim();
      if (text === 'RUNNING') return { state: 'running' };
      const cancelled = (await run(`test -e ${q(`${remoteOf(handle)}/cancelled`)} && echo yes || echo no`)).trim() === 'yes';
      if (text === 'LOST') return cancelled ? { state: 'cancelled' } : { state: 'failed', reason: 'lost: the remote process is gone without an exit record' };
      const exit = JSON.parse(text) as { code: number; error?: string };
      if (cancelled) return { state: 'cancelled', exitCode: exit.code };
      return wrapperExit(exit, () => run(`tail -n 200 ${q(`${remoteOf(handle)}/train.log`)}`));
    },
    logs: (handle, o = {}) => run(`tail -n ${o.tail ?? 100} ${q(`${remoteOf(handle)}/train.log`)}`),
    async cancel(handle, o = {}) {
      const dir = remoteOf(handle);
      const ended = async () => (await run(`test -e ${q(`${dir}/exit.json`)} && echo yes || echo no`)).trim() === 'yes';
      const alive = async () => (await run(`kill -0 ${handle.id} 2>/dev/null && echo yes || echo no`)).trim() === 'yes';
      if ((await ended()) || !(await alive())) return;
      await run(`touch ${q(`${dir}/cancelled`)}`);
      // the remote wrapper passes SIGUSR1 on as the save signal and SIGUSR2 as SIGKILL to every process of the job
      if (handle.saveSignal) {
        const deadline = Date.now() + (o.graceMs ?? 120_000);
        while (Date.now() < deadline && !(await ended())) {
          await run(`kill -USR1 ${handle.id} 2>/dev/null || true`);
          await sleep(o.pollMs ?? 1000);
        }
        if (await ended()) return;
      }
      await run(`kill -USR2 ${handle.id} 2>/dev/null || true`);
    },
    async fetch(handle) {
      await pexec(rsync, ['-az', `${options.host}:${remoteOf(handle)}/`, `${handle.runDir}/`]);
    },
  };
}
