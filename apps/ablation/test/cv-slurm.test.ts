// `npm run cv -- --executor slurm` through the fake SLURM (sbatch / squeue / sacct / scontrol of
// @llm-ir/trainer-bridge/testing): 2 configurations x 3 folds of official rows as array tasks, one task
// killed part-way (preempted) and resubmitted alone, the driver killed and rerun, and the pooled
// tables the same as a local run's.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installFakeTools } from '@llm-ir/trainer-bridge/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { root } from './workspace-clone.ts';

const MIRE = join(root, '..', 'shared', 'datasets', 'www2025-mire');
const ARMS = 'baseline,grid-noocr-augment';
let dir: string;

/** The CV driver as `npm run cv` starts it. */
function cv(args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, ['--conditions=@llm-ir/source', '--import', 'tsx', join(root, 'scripts', 'cv.ts'), '--data', join(dir, 'data'), '--k', '3', '--arms', ARMS, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  return { child, done: new Promise((ok) => child.on('close', (code) => ok({ code, stderr }))) };
}

interface ArrayState {
  tasks: Array<{ index: number; jobs: string[]; status: { state: string } }>;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-ir-cv-slurm-'));
  // every ninth official row: both tasks (scene and intent), 89 rows
  const rows = (JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8')) as Array<{ image: string[] }>).filter((_, i) => i % 9 === 0);
  await mkdir(join(dir, 'data', 'images'), { recursive: true });
  for (const r of rows) for (const img of r.image) await copyFile(join(MIRE, 'images', img), join(dir, 'data', 'images', img));
  await writeFile(join(dir, 'data', 'train.json'), JSON.stringify(rows));
});

describe('npm run cv -- --executor slurm', () => {
  it('runs 2 configurations x 3 folds as array tasks, resubmits a killed task alone, resumes after the driver is killed, and pools the same tables as a local run', async () => {
    const local = await cv(['--out', join(dir, 'local'), '--cache', join(dir, 'cache-local')]).done;
    expect(local.code, local.stderr).toBe(0);

    const tools = await installFakeTools(dir);
    // task 2 (fold 1 of baseline) is killed 2 s after it starts, as a preempted job is
    const env = { ...process.env, ...tools.env, FAKE_SLURM_DIR: join(dir, 'slurm-state'), FAKE_SLURM_PENDING_MS: '100', FAKE_SLURM_TASK_FINAL: '2:PREEMPTED@2000' };
    // one task at a time (%1): the six take far longer than a driver's start, whatever the machine's load
    const args = ['--out', join(dir, 'slurm'), '--cache', join(dir, 'cache-slurm'), '--executor', 'slurm', '--max-running', '1'];
    const state = join(dir, 'slurm', 'slurm', 'array.json');
    const first = cv(args, env);
    // the driver is killed once it has submitted the array: the tasks go on running on the "cluster"
    for (;;) {
      const s = existsSync(state) ? (JSON.parse(await readFile(state, 'utf8')) as ArrayState) : undefined;
      if (s?.tasks.length === 6 && s.tasks.every((t) => t.jobs.length === 1)) break;
      if (first.child.exitCode !== null) throw new Error(`the driver ended early:\n${(await first.done).stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.stderr).toMatch(/2 distinct configurations x 3 folds = 6 runs, 0 nested inner runs \(0 already done\)/);
    const atKill = (JSON.parse(await readFile(state, 'utf8')) as ArrayState).tasks;
    expect(atKill.filter((t) => t.status.state !== 'succeeded').length).toBeGreaterThan(0);

    const second = await cv(args, env).done;
    expect(second.code, second.stderr).toBe(0);
    const doneAtRerun = Number(/\((\d+) already done\)/.exec(second.stderr)![1]);
    expect(doneAtRerun).toBeLessThan(6);
    // every task ran once, followed across the two drivers, but task 2: killed, then resubmitted alone;
    // array.json keeps the tasks that had finished before the rerun
    const all = (JSON.parse(await readFile(state, 'utf8')) as ArrayState).tasks;
    expect(all.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(all.every((t) => t.status.state === 'succeeded')).toBe(true);
    expect(`${killed.stderr}${second.stderr}`).toMatch(/fold 1 baseline: preempted/);
    expect(`${killed.stderr}${second.stderr}`).toMatch(/fold 1 baseline: pending \[\d+_2\] \(resubmitted, attempt 2\)/);
    for (const t of all) expect(t.jobs.length, `task ${t.index}: ${t.jobs.join(', ')}`).toBe(t.index === 2 ? 2 : 1);
    // what the first driver had submitted was followed, not submitted again
    for (const t of atKill) expect(all.find((x) => x.index === t.index)!.jobs[0]).toBe(t.jobs[0]);
    const task2 = all.find((t) => t.index === 2)!;
    const base = task2.jobs[1]!.split('_')[0];
    expect(all.filter((t) => t.jobs.some((j) => j.startsWith(`${base}_`))).map((t) => t.index)).toEqual([2]);
    // each attempt has its own log (%x-%A_%a.out): the killed one stopped before the run's result line,
    // the resubmitted one has it
    const log = (job: string) => readFile(join(dir, 'slurm', 'slurm', `llm-ir-cv-${job}.out`), 'utf8');
    expect(await log(task2.jobs[0]!)).toMatch(/^fold 1 baseline: /);
    expect(await log(task2.jobs[0]!)).not.toMatch(/baseline +average/);
    expect(await log(task2.jobs[1]!)).toMatch(/baseline +average \d+\.\d+/);

    // the pooled tables are those of the local run, byte for byte
    expect(await readFile(join(dir, 'slurm', 'cv.md'), 'utf8')).toBe(await readFile(join(dir, 'local', 'cv.md'), 'utf8'));
    for (let f = 0; f < 3; f++) {
      for (const arm of ARMS.split(',')) {
        expect(await readFile(join(dir, 'slurm', `fold-${f}`, arm, 'predictions.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'local', `fold-${f}`, arm, 'predictions.jsonl'), 'utf8'));
      }
    }

    // a third call finds every run finished: nothing submitted, the same report made again
    const saved = await readFile(state, 'utf8');
    const third = await cv(args, env).done;
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/\(6 already done\)/);
    expect(third.stderr).not.toMatch(/pending|SLURM array/);
    expect(await readFile(state, 'utf8')).toBe(saved);
    expect(await readFile(join(dir, 'slurm', 'cv.md'), 'utf8')).toBe(await readFile(join(dir, 'local', 'cv.md'), 'utf8'));
  }, 300_000);
});
