#!/usr/bin/env node
// Fakes of sbatch / srun / squeue / sacct / scontrol / scancel (one script, dispatched on its name)
// that run batch scripts with bash on this machine and walk jobs through SLURM's state sequence
// PENDING -> RUNNING -> COMPLETED | FAILED | CANCELLED. Behaviours follow SLURM 24.11 - 26.11 (the man
// pages doc/man/man1/{sbatch,srun,squeue,sacct,scontrol,scancel}.1 and src/common/slurm_protocol_defs.c,
// SchedMD/slurm): each is cited next to its code. State lives in $FAKE_SLURM_DIR (default /tmp/fake-slurm).
//
// Knobs: FAKE_SLURM_PENDING_MS (time in the queue, default 300); FAKE_SLURM_FINAL forces a terminal
// state after the script ends (TIMEOUT, OUT_OF_MEMORY, PREEMPTED, NODE_FAIL, ...);
// FAKE_SLURM_NO_ACCOUNTING=1 makes sacct fail as on a cluster without accounting storage;
// FAKE_SLURM_KILL_WAIT_MS (KillWait between SIGTERM and SIGKILL of a cancelled job, default 500);
// FAKE_SLURM_TASK_FINAL=<index>:<STATE>[@<ms>][,...] forces that terminal state on that array task of
// the first array job that runs it in this state folder (a preempted or failed task, once: its
// resubmission then runs normally); with @<ms> the task is killed <ms> after it starts running, as
// slurmctld kills a preempted job (SIGCONT + SIGTERM, SIGKILL after KillWait), else the state is
// recorded when its script ends.
//
// Job arrays (sbatch.1 --array): `--array=0-3`, `0,6,16-32`, `0-15:4`, `%N` throttle. The parsable id
// is the array's base job id A; task i is "A_i" to squeue (%i), sacct (JobID) and scancel, runs with
// its own SLURM_JOB_ID and SLURM_ARRAY_JOB_ID=A, SLURM_ARRAY_TASK_ID=i, SLURM_ARRAY_TASK_COUNT /
// _MIN / _MAX, and writes its output where %A / %a / %j of the pattern say.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const dir = process.env.FAKE_SLURM_DIR ?? '/tmp/fake-slurm';
mkdirSync(dir, { recursive: true });
const tool = process.env.FAKE_TOOL || basename(process.argv[1]).replace(/\.mjs$/, '');
const args = process.argv.slice(2);
const stateFile = (id) => join(dir, `${id}.json`);
const read = (id) => (existsSync(stateFile(id)) ? JSON.parse(readFileSync(stateFile(id), 'utf8')) : undefined);
const write = (id, s) => {
  writeFileSync(`${stateFile(id)}.tmp`, JSON.stringify(s));
  renameSync(`${stateFile(id)}.tmp`, stateFile(id));
};
const update = (id, patch) => write(id, { ...read(id), ...patch });
const arg = (...names) => {
  for (const name of names) {
    const a = args.find((x) => x.startsWith(`${name}=`));
    if (a) return a.slice(name.length + 1);
    const i = args.indexOf(name);
    if (i >= 0) return args[i + 1];
  }
  return undefined;
};
const has = (...names) => names.some((n) => args.includes(n));
const signalOf = (name) => `SIG${name.replace(/^SIG/, '')}`;
const kill = (pid, signal) => {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (args[0] === '__run') await runJob();
else if (tool === 'sbatch') sbatch();
else if (tool === 'srun') await srun();
else if (tool === 'squeue') squeue();
else if (tool === 'sacct') sacct();
else if (tool === 'scontrol') scontrol();
else if (tool === 'scancel') await scancel();

/** sbatch.1: `--parsable` prints "jobid[;cluster]"; #SBATCH lines before the first command are options. */
function sbatch() {
  const script = args[args.length - 1];
  const chdir = arg('--chdir', '-D') ?? process.cwd();
  const text = readFileSync(script, 'utf8');
  const opt = (name) => new RegExp(`^#SBATCH\\s+${name}[= ](\\S+)`, 'm').exec(text)?.[1];
  const arraySpec = arg('--array', '-a') ?? opt('--array');
  if (arraySpec) return sbatchArray(script, chdir, text, opt, arraySpec);
  const counter = join(dir, 'next-id');
  const id = existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 4242;
  writeFileSync(counter, String(id + 1));
  const name = opt('--job-name') ?? basename(script);
  const nodes = Number(opt('--nodes') ?? '1');
  const gpus = Number(/^gpu(?::[^:\s]+)?:(\d+)$/.exec(opt('--gres') ?? '')?.[1] ?? '0');
  // --export: ALL plus NAME=value pairs, separated by commas (sbatch.1 --export)
  const exported = Object.fromEntries((arg('--export') ?? '').split(',').filter((x) => x.includes('=')).map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]));
  const output = (opt('--output') ?? 'slurm-%j.out').replace(/%x/g, name).replace(/%j/g, String(id));
  write(id, { state: 'PENDING', exit: '0:0', name, nodes, gpus, start: Date.now(), steps: [] });
  const log = openSync(join(chdir, output), 'a');
  // the environment of the batch step: SLURM_* and, with --gres=gpu:N, CUDA_VISIBLE_DEVICES of the
  // allocated devices (gres/gpu sets it; cgroup-constrained nodes number them from 0).
  // FAKE_SLURM_NODE_CUDA imitates a site whose jobs see every GPU of the node (no gres/gpu plugin).
  const devices = process.env.FAKE_SLURM_NODE_CUDA ?? (gpus ? Array.from({ length: gpus }, (_, i) => i).join(',') : undefined);
  const jobEnv = { ...process.env, ...exported, FAKE_TOOL: '', SLURM_JOB_ID: String(id), SLURM_JOBID: String(id), SLURM_JOB_NAME: name, SLURM_NNODES: String(nodes), SLURM_JOB_NUM_NODES: String(nodes), SLURM_NODEID: '0', SLURM_JOB_NODELIST: 'localhost', SLURM_SUBMIT_DIR: process.cwd(), ...(devices !== undefined ? { CUDA_VISIBLE_DEVICES: devices } : {}) };
  const runner = spawn(process.execPath, [process.argv[1], '__run', String(id), script, chdir], { detached: true, stdio: ['ignore', log, log], env: jobEnv });
  update(id, { runner: runner.pid });
  runner.unref();
  console.log(has('--parsable') ? `${id}` : `Submitted batch job ${id}`);
}

/**
 * sbatch.1 --array=<indexes>: a comma-separated list of values and ranges, a range may have a ":step"
 * suffix, and "%N" limits how many tasks run at once. Indexes are non-negative.
 */
function parseArray(spec) {
  const [list, limit] = spec.split('%');
  const indexes = new Set();
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part);
    if (!m) {
      console.error(`sbatch: error: Invalid job array specification`);
      process.exit(1);
    }
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = Number(m[3] ?? '1');
    if (step < 1 || to < from) {
      console.error(`sbatch: error: Invalid job array specification`);
      process.exit(1);
    }
    for (let i = from; i <= to; i += step) indexes.add(i);
  }
  return { indexes: [...indexes].sort((a, b) => a - b), limit: limit === undefined ? Infinity : Number(limit) };
}

/** A job array: one record per task ("A_i"), each task its own runner, all under the base id A. */
function sbatchArray(script, chdir, text, opt, spec) {
  const { indexes, limit } = parseArray(spec);
  const counter = join(dir, 'next-id');
  const base = existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 4242;
  // the base id, then one job id per task (each task is a job of its own with SLURM_JOB_ID)
  writeFileSync(counter, String(base + indexes.length + 1));
  const name = opt('--job-name') ?? basename(script);
  write(base, { array: indexes, limit, name });
  const exported = Object.fromEntries((arg('--export') ?? '').split(',').filter((x) => x.includes('=')).map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]));
  indexes.forEach((index, k) => {
    const jobId = base + 1 + k;
    const taskId = `${base}_${index}`;
    // sbatch.1 "filename pattern": %A the array's base id, %a the task index, %j the task's own job id
    const output = (opt('--output') ?? 'slurm-%A_%a.out').replace(/%x/g, name).replace(/%A/g, String(base)).replace(/%a/g, String(index)).replace(/%j/g, String(jobId));
    write(taskId, { state: 'PENDING', exit: '0:0', name, nodes: 1, gpus: 0, start: Date.now(), steps: [], base, index, jobId });
    const log = openSync(join(chdir, output), 'a');
    const env = {
      ...process.env, ...exported, FAKE_TOOL: '', SLURM_JOB_ID: String(jobId), SLURM_JOBID: String(jobId), SLURM_JOB_NAME: name, SLURM_NNODES: '1', SLURM_JOB_NUM_NODES: '1', SLURM_NODEID: '0', SLURM_JOB_NODELIST: 'localhost', SLURM_SUBMIT_DIR: process.cwd(),
      SLURM_ARRAY_JOB_ID: String(base), SLURM_ARRAY_TASK_ID: String(index), SLURM_ARRAY_TASK_COUNT: String(indexes.length), SLURM_ARRAY_TASK_MIN: String(indexes[0]), SLURM_ARRAY_TASK_MAX: String(indexes.at(-1)),
    };
    const runner = spawn(process.execPath, [process.argv[1], '__run', taskId, script, chdir], { detached: true, stdio: ['ignore', log, log], env });
    update(taskId, { runner: runner.pid });
    runner.unref();
  });
  console.log(has('--parsable') ? `${base}` : `Submitted batch job ${base}`);
}

/** The task records of array A (base id), in index order. */
function arrayTasks(base) {
  const record = read(String(base));
  return record?.array ? record.array.map((i) => [`${base}_${i}`, read(`${base}_${i}`)]) : [];
}

/** This array task's entry of FAKE_SLURM_TASK_FINAL ({ state, afterMs? }) unless one of its jobs already used it. */
function forcedTaskState(id) {
  const s = read(id);
  if (s?.index === undefined) return undefined;
  const entry = (process.env.FAKE_SLURM_TASK_FINAL ?? '').split(',').map((x) => /^(\d+):([A-Z_]+)(?:@(\d+))?$/.exec(x)).find((m) => m && Number(m[1]) === s.index);
  if (!entry || existsSync(join(dir, `forced-${s.index}`))) return undefined;
  return { index: s.index, state: entry[2], afterMs: entry[3] === undefined ? undefined : Number(entry[3]) };
}

/** Marks a forced state used (once per task index and state folder): the resubmission runs normally. */
function useForced(forced, id) {
  writeFileSync(join(dir, `forced-${forced.index}`), id);
  return forced.state;
}

async function runJob() {
  const [, id, script, chdir] = args;
  await sleep(Number(process.env.FAKE_SLURM_PENDING_MS ?? 300));
  if (read(id).state === 'CANCELLED') process.exit(0);
  // an array's "%N": a task waits in PENDING while N of its siblings run
  const base = read(id).base;
  if (base !== undefined) {
    const limit = read(String(base))?.limit ?? Infinity;
    while (arrayTasks(base).filter(([, t]) => t?.state === 'RUNNING').length >= limit) {
      await sleep(50);
      if (read(id).state === 'CANCELLED') process.exit(0);
    }
  }
  // the batch script in a process group of its own: a kill of the job reaches it and every child
  // (slurmstepd kills all the processes of the job's cgroup)
  const batch = spawn('bash', [script], { cwd: chdir, stdio: 'inherit', detached: true });
  update(id, { state: 'RUNNING', batch: batch.pid, begin: Date.now() });
  const forcedTask = forcedTaskState(id);
  let killing;
  if (forcedTask?.afterMs !== undefined) {
    // slurm.conf.5 GraceTime (default 0): a job selected for preemption has its tasks sent SIGCONT and
    // SIGTERM, then, at its new end time (now, with no grace time), SIGCONT, SIGTERM and SIGKILL on the
    // tasks and the batch script, KillWait apart; the job ends PREEMPTED (or the state asked for).
    // A task that ends before the kill is not preempted and keeps the forced state for a later job.
    // (here the clock starts once the job step runs: on a loaded machine srun may take a while to start it)
    const ended = () => batch.exitCode !== null || batch.signalCode !== null;
    (async () => {
      while (!ended() && !(read(id).steps ?? []).length) await sleep(20);
      await sleep(forcedTask.afterMs);
      if (ended()) return;
      killing = (async () => {
        const state = useForced(forcedTask, id);
        const signalAll = (sig) => {
          for (const pid of read(id).steps ?? []) kill(-pid, sig);
          kill(-batch.pid, sig);
        };
        signalAll('SIGCONT');
        signalAll('SIGTERM');
        await sleep(Number(process.env.FAKE_SLURM_KILL_WAIT_MS ?? 500));
        signalAll('SIGKILL');
        return state;
      })();
    })();
  }
  batch.on('exit', async (code, signal) => {
    // the kill sequence ends before the job is recorded as ended (its steps are gone by then)
    const killedAs = killing && (await killing);
    const now = read(id);
    if (now.state === 'CANCELLED') return process.exit(0);
    const forced = killedAs ?? (forcedTask && forcedTask.afterMs === undefined ? useForced(forcedTask, id) : undefined) ?? process.env.FAKE_SLURM_FINAL;
    write(id, { ...now, state: forced ?? (code === 0 ? 'COMPLETED' : 'FAILED'), exit: `${code ?? 0}:${signal ? 9 : 0}`, end: Date.now(), steps: [] });
    process.exit(0);
  });
}

/**
 * srun inside an allocation starts a job step: one task per node (--ntasks-per-node=1), each in its
 * own process group, registered with the job so that scancel can signal the step. When a task ends,
 * slurmstepd kills what is left of the step (proctrack: every process of the step's container).
 */
async function srun() {
  // an array task's record is "A_i" (its own SLURM_JOB_ID is another number)
  const id = process.env.SLURM_ARRAY_JOB_ID ? `${process.env.SLURM_ARRAY_JOB_ID}_${process.env.SLURM_ARRAY_TASK_ID}` : process.env.SLURM_JOB_ID;
  if (!id || !read(id)) {
    console.error('srun: error: Unable to allocate resources: the fake srun only runs inside a fake sbatch job');
    process.exit(1);
  }
  const argv = args.slice(args.findIndex((x) => !x.startsWith('-')));
  const nodes = Number(process.env.SLURM_NNODES ?? '1');
  const stepId = (read(id).nextStep ?? 0);
  update(id, { nextStep: stepId + 1 });
  const tasks = [];
  for (let node = 0; node < nodes; node++) {
    const t = spawn(argv[0], argv.slice(1), { detached: true, stdio: 'inherit', env: { ...process.env, SLURM_STEP_ID: String(stepId), SLURM_NODEID: String(node), SLURM_PROCID: String(node), SLURM_LOCALID: '0' } });
    tasks.push(t);
  }
  update(id, { steps: [...(read(id).steps ?? []), ...tasks.map((t) => t.pid)] });
  // srun forwards SIGINT / SIGTERM it receives to the tasks (srun.1 SIGNALS AND ESCAPE SEQUENCES)
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => tasks.forEach((t) => kill(-t.pid, sig)));
  const codes = await Promise.all(tasks.map((t) => new Promise((r) => t.on('exit', (code, signal) => {
    kill(-t.pid, 'SIGKILL'); // what is left of the task's processes
    r(code ?? (signal ? 128 : 0));
  }))));
  update(id, { steps: (read(id).steps ?? []).filter((p) => !tasks.some((t) => t.pid === p)) });
  process.exit(Math.max(...codes));
}

/**
 * squeue.1 `-j <id> -h -o <format>` with %i (job id; "A_i" for an array task), %T (state), %K (array
 * index), %F (array base id): one line per live job. For an array's base id, one line per task; with
 * `-r` (--array) every task has its own line, without it pending tasks are combined as "A_[1-3]".
 */
function squeue() {
  const id = arg('-j', '--jobs');
  const format = arg('-o', '--format') ?? '%T';
  const live = (s) => s && ['PENDING', 'RUNNING', 'COMPLETING'].includes(s.state);
  const line = (jobId, s, index, base) => format.replace(/%i/g, jobId).replace(/%T/g, s.state).replace(/%K/g, index ?? 'N/A').replace(/%F/g, base ?? jobId);
  const tasks = arrayTasks(id);
  if (tasks.length === 0) {
    const s = read(id);
    if (live(s)) console.log(line(id, s, s.index === undefined ? undefined : String(s.index), s.base === undefined ? undefined : String(s.base)));
    return;
  }
  const pending = tasks.filter(([, t]) => t?.state === 'PENDING');
  for (const [taskId, t] of tasks) {
    if (!live(t) || (t.state === 'PENDING' && !has('-r', '--array') && pending.length > 1)) continue;
    console.log(line(taskId, t, String(t.index), id));
  }
  if (!has('-r', '--array') && pending.length > 1) console.log(line(`${id}_[${bracket(pending.map(([, t]) => t.index))}]`, { state: 'PENDING' }, bracket(pending.map(([, t]) => t.index)), id));
}

/** "1-3,5": SLURM's bitstring form of a sorted index list. */
function bracket(indexes) {
  const parts = [];
  for (let i = 0; i < indexes.length; i++) {
    let j = i;
    while (j + 1 < indexes.length && indexes[j + 1] === indexes[j] + 1) j++;
    parts.push(i === j ? `${indexes[i]}` : `${indexes[i]}-${indexes[j]}`);
    i = j;
  }
  return parts.join(',');
}

/** sacct.1 with `-X -n -P -o JobID,State,ExitCode,Elapsed`; without accounting storage it fails. */
function sacct() {
  if (process.env.FAKE_SLURM_NO_ACCOUNTING === '1') {
    // src/sacct/options.c parse_command_line: no AccountingStorageType -> this message on stderr, exit(1)
    console.error('Slurm accounting storage is disabled');
    process.exit(1);
  }
  const id = arg('-j', '--jobs');
  const row = (jobId, s) => {
    const secs = Math.round(((s.end ?? Date.now()) - s.start) / 1000);
    // src/sacct/print.c: "CANCELLED by <uid>" for a job someone cancelled
    return `${jobId}|${s.state === 'CANCELLED' ? 'CANCELLED by 0' : s.state}|${s.exit}|00:00:${String(secs).padStart(2, '0')}`;
  };
  const tasks = arrayTasks(id);
  if (tasks.length) {
    // sacct.1 JobID "ArrayJobID_ArrayTaskID"; tasks not started yet share one line "A_[2-3]" unless --array
    const waiting = tasks.filter(([, t]) => t.state === 'PENDING');
    for (const [taskId, t] of tasks) if (t.state !== 'PENDING' || has('--array') || waiting.length === 1) console.log(row(taskId, t));
    if (!has('--array') && waiting.length > 1) console.log(row(`${id}_[${bracket(waiting.map(([, t]) => t.index))}]`, waiting[0][1]));
    return;
  }
  const s = read(id);
  if (!s) return;
  console.log(row(id, s));
}

/**
 * scontrol.1 `show job [-o] <id>` (src/scontrol/info_job.c `_sprint_job_info`: Key=Value lines joined by
 * "\n   ", or by " " with -o; JobState and ExitCode on different lines; a purged job:
 * "slurm_load_jobs error: Invalid job id specified", exit 1) and `show hostnames <list>`.
 */
function scontrol() {
  if (args[0] === 'show' && args[1] === 'hostnames') {
    console.log((args[2] ?? process.env.SLURM_JOB_NODELIST ?? 'localhost').split(',').join('\n'));
    return;
  }
  if (args[0] === 'show' && args[1] === 'job') {
    const id = args.filter((a) => a !== '-o' && a !== '--oneliner')[2];
    const s = read(id);
    if (!s) {
      console.error('slurm_load_jobs error: Invalid job id specified');
      process.exit(1);
    }
    const lines = [`JobId=${id} JobName=${s.name}`, 'UserId=root(0) GroupId=root(0)', `JobState=${s.state} Reason=None Dependency=(null)`, `Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=${s.exit}`, `NumNodes=${s.nodes}`, `WorkDir=${process.cwd()}`];
    console.log(has('-o', '--oneliner') ? lines.join(' ') : lines.join('\n   '));
    return;
  }
  console.error(`scontrol: error: unknown request ${args.join(' ')}`);
  process.exit(1);
}

/**
 * scancel.1: with --signal, the signal goes to the job's steps, not to the batch shell, unless --batch
 * (-b: the batch shell only) or --full (-f: the batch shell, its children and every step) is given; the
 * job is not cancelled, and with no step nothing is signalled (src/slurmctld/job_mgr.c `_signal_job`:
 * KILL_STEPS_ONLY; src/slurmd/slurmd/req.c `_kill_all_active_steps` skips the batch script). Without
 * --signal the job is cancelled: SIGTERM to every process, SIGKILL after KillWait.
 */
async function scancel() {
  const id = args.find((a) => /^\d+(_\d+)?$/.test(a));
  // scancel.1: an array's base id without an index cancels every task; "A_i" only that task
  const tasks = arrayTasks(id);
  if (tasks.length) {
    for (const [taskId] of tasks) spawnSync(process.execPath, [process.argv[1], ...args.map((a) => (a === id ? taskId : a))], { stdio: 'inherit', env: { ...process.env, FAKE_TOOL: 'scancel' } });
    return;
  }
  const s = read(id);
  if (!s) {
    console.error(`scancel: error: Kill job error on job id ${id}: Invalid job id specified`);
    process.exit(1);
  }
  if (['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'PREEMPTED', 'NODE_FAIL'].includes(s.state)) return;
  const signal = arg('--signal', '-s');
  const steps = s.steps ?? [];
  if (signal) {
    // src/slurmctld/job_mgr.c job_signal: a pending job takes no signal but SIGKILL
    // (ESLURM_TRANSITION_STATE_NO_UPDATE, src/common/slurm_errno.c)
    if (s.state === 'PENDING' && signalOf(signal) !== 'SIGKILL') {
      console.error(`scancel: error: Kill job error on job id ${id}: Job can not be altered now, try again later`);
      process.exit(1);
    }
    const sig = signalOf(signal);
    const batch = has('--batch', '-b');
    const full = has('--full', '-f');
    if ((batch || full) && s.batch) kill(s.batch, sig); // the shell (its direct children are steps here)
    if (!batch || full) for (const pid of steps) kill(-pid, sig);
    return;
  }
  update(id, { state: 'CANCELLED', exit: '0:15', end: Date.now(), steps: [] });
  if (s.runner) kill(s.runner, 'SIGTERM');
  for (const pid of steps) kill(-pid, 'SIGTERM');
  if (s.batch) kill(s.batch, 'SIGTERM');
  await sleep(Number(process.env.FAKE_SLURM_KILL_WAIT_MS ?? 500));
  for (const pid of steps) kill(-pid, 'SIGKILL');
  if (s.batch) kill(s.batch, 'SIGKILL');
}
