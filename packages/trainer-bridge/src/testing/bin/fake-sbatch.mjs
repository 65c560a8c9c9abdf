#!/usr/bin/env node
// Fakes of sbatch / squeue / sacct / scancel (one script, dispatched on its file name) that walk
// jobs through SLURM's real state sequence PENDING -> RUNNING -> COMPLETED | FAILED, running the
// batch script with bash on this machine. State lives in $FAKE_SLURM_DIR (default /tmp/fake-slurm).
// $FAKE_SLURM_FINAL forces a terminal state (TIMEOUT, OUT_OF_MEMORY, PREEMPTED, NODE_FAIL) after the
// script runs; $FAKE_SLURM_PENDING_MS sets the time in the queue (default 300).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const dir = process.env.FAKE_SLURM_DIR ?? '/tmp/fake-slurm';
mkdirSync(dir, { recursive: true });
const tool = process.env.FAKE_TOOL ?? basename(process.argv[1]).replace(/\.mjs$/, '');
const args = process.argv.slice(2);
const stateFile = (id) => join(dir, `${id}.json`);
const read = (id) => (existsSync(stateFile(id)) ? JSON.parse(readFileSync(stateFile(id), 'utf8')) : undefined);
const write = (id, s) => writeFileSync(stateFile(id), JSON.stringify(s));
const arg = (name) => {
  const a = args.find((x) => x.startsWith(`${name}=`));
  if (a) return a.slice(name.length + 1);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

if (args[0] === '__run') {
  await runJob();
} else if (tool === 'sbatch') {
  const script = args[args.length - 1];
  const chdir = arg('--chdir') ?? process.cwd();
  const exported = Object.fromEntries((arg('--export') ?? '').split(',').filter((x) => x.includes('=')).map((x) => x.split('=')));
  const counter = join(dir, 'next-id');
  const id = existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 4242;
  writeFileSync(counter, String(id + 1));
  const name = /#SBATCH --job-name=(\S+)/.exec(readFileSync(script, 'utf8'))?.[1] ?? 'job';
  write(id, { state: 'PENDING', exit: '0:0', start: Date.now() });
  const log = openSync(join(chdir, `${name}-${id}.out`), 'a');
  const runner = spawn(process.execPath, [process.argv[1], '__run', String(id), script, chdir], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...exported, FAKE_TOOL: '', SLURM_JOB_ID: String(id), SLURM_JOB_NAME: name, SLURM_NNODES: '1', SLURM_NODEID: '0', SLURM_JOB_NODELIST: 'localhost' },
  });
  write(id, { state: 'PENDING', exit: '0:0', start: Date.now(), pid: runner.pid });
  runner.unref();
  console.log(args.includes('--parsable') ? `${id}` : `Submitted batch job ${id}`);
}

async function runJob() {
  const [, id, script, chdir] = args;
  await new Promise((r) => setTimeout(r, Number(process.env.FAKE_SLURM_PENDING_MS ?? 300)));
  const s = read(id);
  if (s.state === 'CANCELLED') process.exit(0);
  write(id, { ...s, state: 'RUNNING', pid: process.pid });
  const child = spawn('bash', [script], { cwd: chdir, stdio: 'inherit' });
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGABRT', () => child.kill('SIGABRT'));
  child.on('exit', (code) => {
    const now = read(id);
    if (now.state === 'CANCELLED') return process.exit(0);
    const forced = process.env.FAKE_SLURM_FINAL;
    write(id, { ...now, state: forced ?? (code === 0 ? 'COMPLETED' : 'FAILED'), exit: `${code ?? 1}:0`, end: Date.now() });
    process.exit(0);
  });
}

if (tool === 'squeue') {
  const s = read(arg('-j'));
  if (s && ['PENDING', 'RUNNING', 'COMPLETING'].includes(s.state)) console.log(s.state);
} else if (tool === 'sacct') {
  const id = arg('-j');
  const s = read(id);
  if (s) {
    const secs = Math.round(((s.end ?? Date.now()) - s.start) / 1000);
    console.log(`${id}|${s.state === 'CANCELLED' ? 'CANCELLED by 0' : s.state}|${s.exit}|00:00:${String(secs).padStart(2, '0')}`);
  }
} else if (tool === 'scancel') {
  const id = args.find((a) => /^\d+$/.test(a));
  const s = read(id);
  const signal = (arg('--signal') ?? '').replace(/^SIG/, '');
  if (s && s.pid) {
    try {
      process.kill(s.pid, signal ? `SIG${signal}` : 'SIGTERM');
    } catch {
      // gone
    }
  }
  if (s && !signal) write(id, { ...s, state: 'CANCELLED', exit: '0:15', end: Date.now() });
}
