import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { LlmIrError } from '@llm-ir/core';
import { writeFileAtomic } from '@llm-ir/core/io';
import { diagnoseLog, failedStatus, isActive, mapSlurmState, parseScontrolJob, sbatchScript, tailFile, type JobSpec, type JobStatus } from './executors.ts';

const pexec = promisify(execFile);
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** One task of an array run: its index, every SLURM array job it ran in, and its last state. */
export interface ArrayTask {
  /** Array index (`SLURM_ARRAY_TASK_ID`). */
  index: number;
  /** Ids (`A_i`) of every submission of this task, oldest first: more than one when it was resubmitted. */
  jobs: string[];
  /** Last known status. */
  status: JobStatus;
}

/** The state of an array run, saved as `<runDir>/array.json` after every change (a rerun follows it). */
export interface ArrayRun {
  /** Run folder. */
  runDir: string;
  /** What ran: a hash of the sbatch script (but its `--array` line) and the caller's fingerprint (a saved run with another one is not reused). */
  fingerprint: string;
  /** Tasks by index order (returned: those of this call's `indexes`; saved: every task known). */
  tasks: ArrayTask[];
}

/** Options of {@link runSlurmArray}. */
export interface ArrayOptions {
  /** Array indexes to run now: a rerun may name only the unfinished ones (the saved tasks of the others stay in `array.json`, neither followed nor submitted). */
  indexes: readonly number[];
  /** At most this many tasks of one submission run at once (sbatch's `--array=...%N`; a resubmission is a new array with its own limit). */
  maxRunning?: number;
  /** Indexes to submit again even when saved as succeeded (the caller found their outputs missing); others of `indexes` saved as succeeded are kept. */
  rerun?: readonly number[];
  /** Resubmissions of a task that did not succeed (failed, preempted, node failure, timeout, out of memory); a cancelled task is not resubmitted. @default 2 */
  retries?: number;
  /** Poll interval. @default 2000 ms */
  pollMs?: number;
  /** Told whenever a task changes state. */
  onTask?: (task: ArrayTask, run: ArrayRun) => void;
  /** What else the tasks' results depend on (e.g. a hash of their input file): a saved run with another fingerprint is not followed but replaced. */
  fingerprint?: string;
  /**
   * Stops following and returns (state saved). The tasks keep running on the cluster, as they do when
   * the driver is killed; a rerun on the same folder follows them. `scancel <id>` stops them.
   */
  signal?: AbortSignal;
  /** SLURM programs. @default from PATH */
  bin?: { sbatch?: string; squeue?: string; sacct?: string; scontrol?: string };
}

/** `sbatch --parsable` of an array script limited to `indexes`; returns the base job id. */
async function submit({ runDir, script, indexes, maxRunning, sbatch }: { runDir: string; script: string; indexes: readonly number[]; maxRunning: number | undefined; sbatch: string }): Promise<string> {
  // sbatch.1: a command-line option overrides the script's #SBATCH line; a resubmission names only the tasks it reruns
  const array = `${indexes.join(',')}${maxRunning ? `%${maxRunning}` : ''}`;
  let out: string;
  try {
    out = (await pexec(sbatch, ['--parsable', `--array=${array}`, `--chdir=${runDir}`, script])).stdout;
  } catch (cause) {
    throw new LlmIrError({ code: 'submit-failed', message: `sbatch failed: ${(cause as { stderr?: string }).stderr?.trim() || (cause as Error).message}`, cause });
  }
  const id = out.trim().split(';')[0]!;
  if (!/^\d+$/.test(id)) throw new LlmIrError({ code: 'submit-failed', message: `sbatch printed no array job id: ${JSON.stringify(out)}` });
  return id;
}

/**
 * States of the tasks of array job `base`, by index: live ones from `squeue -r` (one line per task,
 * squeue.1 `-r, --array`; `%i` is "A_i"), finished ones from `sacct --array -X` (JobID "A_i", sacct.1).
 */
async function taskStates(base: string, bin: { squeue: string; sacct: string }): Promise<Map<number, { state: string; exit: string }>> {
  const states = new Map<number, { state: string; exit: string }>();
  const acct = (await pexec(bin.sacct, ['-j', base, '--array', '-X', '-n', '-P', '-o', 'JobID,State,ExitCode']).catch(() => ({ stdout: '' }))).stdout;
  for (const line of acct.trim().split('\n')) {
    const [jobId, state, exit = '0:0'] = line.split('|');
    const m = /^\d+_(\d+)$/.exec(jobId ?? '');
    if (m && state) states.set(Number(m[1]), { state, exit });
  }
  const queue = (await pexec(bin.squeue, ['-r', '-j', base, '-h', '-o', '%i|%T']).catch(() => ({ stdout: '' }))).stdout;
  for (const line of queue.trim().split('\n')) {
    const [jobId, state] = line.split('|');
    const m = /^\d+_(\d+)$/.exec(jobId ?? '');
    // squeue knows a task only while it is queued or running: its word wins over a stale accounting row
    if (m && state && isActive(mapSlurmState(state))) states.set(Number(m[1]), { state, exit: '0:0' });
  }
  return states;
}

/**
 * A task that neither squeue nor sacct reports (no accounting storage: sacct fails; squeue forgets a
 * job once it ends): `scontrol show job -o A_i` while the controller still knows it (MinJobAge),
 * read as the single-job executor reads it, else unknown.
 */
async function controllerState(taskId: string, scontrol: string): Promise<{ state: string; exit: string } | undefined> {
  const job = parseScontrolJob((await pexec(scontrol, ['show', 'job', '-o', taskId]).catch(() => ({ stdout: '' }))).stdout);
  return job && { state: job.state, exit: job.exitCode };
}

/**
 * What SLURM says of each task's last job: one `squeue` / `sacct` query per array job, `scontrol` for a
 * task neither reports; undefined when none knows it.
 */
async function currentStates(tasks: readonly ArrayTask[], bin: { squeue: string; sacct: string; scontrol: string }): Promise<Map<ArrayTask, { state: string; exit: string } | undefined>> {
  const seen = new Map<ArrayTask, { state: string; exit: string } | undefined>();
  for (const base of new Set(tasks.map((t) => t.jobs.at(-1)!.split('_')[0]!))) {
    const states = await taskStates(base, bin);
    for (const t of tasks.filter((x) => x.jobs.at(-1)!.startsWith(`${base}_`))) seen.set(t, states.get(t.index) ?? (await controllerState(t.jobs.at(-1)!, bin.scontrol)));
  }
  return seen;
}

/** A task ended without success that may be submitted again (SPECIAL_EXIT is held in the queue by the site: not resubmitted). */
function retryable(t: ArrayTask): boolean {
  return !isActive(t.status.state) && t.status.state !== 'succeeded' && t.status.state !== 'cancelled' && !t.status.raw?.startsWith('SPECIAL_EXIT');
}

/**
 * Runs `spec.command` as one SLURM array job (`--array=<indexes>`, each task reads
 * `SLURM_ARRAY_TASK_ID`), follows every task, and resubmits the tasks that did not succeed (failed,
 * preempted, node failure, timeout, out of memory) as a new array of those indexes alone, up to
 * `retries` times each (per call). Progress is saved in `<runDir>/array.json`; called again on the
 * same run folder with the same script and fingerprint, it keeps the tasks that succeeded, follows
 * those still queued or running, and submits the rest again (failed, cancelled, out of retries), so
 * a killed driver resumes and a rerun finishes what is unfinished. A saved run with another script
 * or fingerprint is replaced once none of its tasks is queued or running. Returns (the tasks of
 * `indexes`) when every one has succeeded or is out of retries, and saved tasks of other indexes that
 * were still queued or running have ended.
 *
 * @throws {LlmIrError} `config-invalid` when the run folder holds a run of another script or
 * fingerprint whose tasks are still queued or running.
 *
 * @throws {LlmIrError} `submit-failed` when sbatch refuses the job.
 * @example
 * ```ts
 * const run = await runSlurmArray({ runDir: 'runs/ocr', command: ['llm-ir', 'ocr', 'dataset', '--shard', 'SLURM_ARRAY_TASK_ID/4', ...] }, { indexes: [0, 1, 2, 3] });
 * const failed = run.tasks.filter((t) => t.status.state !== 'succeeded');
 * ```
 */
export async function runSlurmArray(spec: JobSpec, options: ArrayOptions): Promise<ArrayRun> {
  const bin = { sbatch: options.bin?.sbatch ?? 'sbatch', squeue: options.bin?.squeue ?? 'squeue', sacct: options.bin?.sacct ?? 'sacct', scontrol: options.bin?.scontrol ?? 'scontrol' };
  const runDir = resolve(spec.runDir);
  await mkdir(runDir, { recursive: true });
  const script = join(runDir, 'array.sbatch');
  const text = sbatchScript({ ...spec, runDir }, { array: options.indexes.join(',') });
  // what each task does: the script without its #SBATCH --array line (a rerun may name fewer indexes,
  // those not finished, and still follows the same run) and the caller's fingerprint
  const fingerprint = createHash('sha256').update(sbatchScript({ ...spec, runDir })).update('\0').update(options.fingerprint ?? '').digest('hex');
  const stateFile = join(runDir, 'array.json');
  const saved: ArrayRun | undefined = existsSync(stateFile) ? JSON.parse(await readFile(stateFile, 'utf8')) : undefined;
  const previous = saved?.fingerprint === fingerprint ? saved : undefined;
  if (saved && !previous) {
    // a run of another script or fingerprint is replaced, but never while its tasks may still run:
    // they would write the same outputs as the new run's
    const states = await currentStates(saved.tasks.filter((t) => isActive(t.status.state) && t.jobs.length), bin);
    const live = [...states].filter(([, seen]) => seen && isActive(mapSlurmState(seen.state, seen.exit))).map(([t]) => t.jobs.at(-1)!);
    if (live.length) throw new LlmIrError({ code: 'config-invalid', message: `${runDir} holds a run of another script or input whose tasks are still queued or running (${live.join(', ')}): wait for them or \`scancel\` them, then run again` });
  }
  // written once the saved run may be replaced: a driver of that run still following it resubmits this file
  await writeFileAtomic(script, text);
  const asked = new Set(options.indexes);
  const run: ArrayRun = {
    runDir,
    fingerprint,
    tasks: options.indexes.map((index) => previous?.tasks.find((t) => t.index === index) ?? { index, jobs: [], status: { state: 'pending' } }),
  };
  // the saved tasks of indexes not asked for now (finished ones a caller no longer names) stay in
  // array.json; those saved as queued or running (they were running when the last driver stopped) are
  // followed until they end, never submitted again
  const kept = (previous?.tasks ?? []).filter((t) => !asked.has(t.index));
  // a task saved as succeeded whose outputs the caller found missing (`rerun`) is submitted again
  const rerun = new Set(options.rerun ?? []);
  for (const t of run.tasks) if (rerun.has(t.index) && t.status.state === 'succeeded') t.status = { state: 'failed', reason: 'its outputs are missing: submitted again' };
  // retries count from this call: a rerun gives a task that ran out of them, or was cancelled, a new
  // start (1 + retries submissions); a task still queued or running gets `retries` once it ends
  const atEntry = new Map(run.tasks.map((t) => [t.index, t.jobs.length]));
  const fresh = new Set(run.tasks.filter((t) => t.jobs.length === 0 || retryable(t) || t.status.state === 'cancelled').map((t) => t.index));
  const tell = (t: ArrayTask) => asked.has(t.index) && options.onTask?.(t, run);
  const save = () => writeFileAtomic(stateFile, `${JSON.stringify({ ...run, tasks: [...run.tasks, ...kept].sort((a, b) => a.index - b.index) }, null, 2)}\n`);
  const retries = options.retries ?? 2;
  const pollMs = options.pollMs ?? 2000;
  // the log of task A_i: the script's %x-%A_%a.out, with the job name the script carries
  const jobName = /--job-name=(\S+)/.exec(text)?.[1] ?? 'llm-ir';
  const logOf = (jobId: string) => join(runDir, `${jobName}-${jobId}.out`);
  for (;;) {
    if (options.signal?.aborted) {
      await save();
      return run;
    }
    // (re)submit the tasks that have no live job: never run, or ended without success and retries left
    const due = run.tasks.filter((t) => {
      const used = t.jobs.length - atEntry.get(t.index)!; // submissions made by this call
      if (fresh.has(t.index)) return used === 0 || (retryable(t) && used <= retries);
      return retryable(t) && used < retries;
    });
    if (due.length) {
      const base = await submit({ runDir, script, indexes: due.map((t) => t.index), maxRunning: options.maxRunning, sbatch: bin.sbatch });
      for (const t of due) {
        t.jobs.push(`${base}_${t.index}`);
        t.status = { state: 'pending' };
        options.onTask?.(t, run);
      }
      await save();
    }
    const live = [...run.tasks, ...kept].filter((t) => isActive(t.status.state) && t.jobs.length);
    if (live.length === 0) {
      if (kept.length) await save();
      return run;
    }
    await sleep(pollMs, options.signal);
    let changed = false;
    for (const [t, seen] of await currentStates(live, bin)) {
      if (!seen) {
        t.status = { state: 'failed', reason: `unknown: task ${t.jobs.at(-1)} is neither in squeue, sacct nor scontrol (accounting disabled and purged after MinJobAge?)` };
        changed = true;
        tell(t);
        continue;
      }
      const mapped = mapSlurmState(seen.state, seen.exit);
      if (mapped === t.status.state) continue;
      const code = Number(seen.exit.split(':')[0]);
      t.status = mapped === 'failed' ? { ...failedStatus(code, diagnoseLog(await tailFile(logOf(t.jobs.at(-1)!), 200))), raw: seen.state } : { state: mapped, exitCode: code, raw: seen.state };
      changed = true;
      tell(t);
    }
    if (changed) await save();
  }
}
