import { readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runSlurmArray } from './array.ts';
import { installFakeTools } from './testing/index.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['PATH', 'FAKE_SLURM_DIR', 'FAKE_SLURM_TASK_FINAL', 'FAKE_SLURM_PENDING_MS', 'FAKE_SLURM_NO_ACCOUNTING']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

async function cluster() {
  const dir = await mkdtemp(join(tmpdir(), 'llm-ir-array-'));
  const tools = await installFakeTools(dir);
  // the jobs' own srun comes from PATH, as on a cluster
  process.env['PATH'] = tools.env['PATH']!;
  process.env['FAKE_SLURM_DIR'] = tools.env['FAKE_SLURM_DIR']!;
  process.env['FAKE_SLURM_PENDING_MS'] = '100';
  const bin = { sbatch: join(tools.bin, 'sbatch'), squeue: join(tools.bin, 'squeue'), sacct: join(tools.bin, 'sacct'), scontrol: join(tools.bin, 'scontrol') };
  // each task writes its index where the run folder is; the inner shell expands SLURM_ARRAY_TASK_ID
  const spec = { runDir: join(dir, 'run'), name: 'shards', command: ['bash', '-c', 'echo "task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT" > "out-$SLURM_ARRAY_TASK_ID.txt"'] };
  return { dir, bin, spec };
}

describe('SLURM array runs (fake SLURM with array jobs)', () => {
  it('runs every index as a task of one array job, and resubmits a preempted and a node-failed task alone', async () => {
    const { bin, spec } = await cluster();
    process.env['FAKE_SLURM_TASK_FINAL'] = '2:PREEMPTED,3:NODE_FAIL';
    const seen: string[] = [];
    const run = await runSlurmArray(spec, { indexes: [0, 1, 2, 3], pollMs: 100, bin, onTask: (t) => seen.push(`${t.index}:${t.status.state}`) });
    expect(run.tasks.map((t) => t.status.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    // one array job A for all four; tasks 2 and 3 again, alone, in a new array job (one for both, or
    // one each when they ended at different polls)
    const a = run.tasks[0]!.jobs[0]!.split('_')[0]!;
    expect(run.tasks.slice(0, 2).map((t) => t.jobs)).toEqual([[`${a}_0`], [`${a}_1`]]);
    for (const t of run.tasks.slice(2)) {
      expect(t.jobs[0]).toBe(`${a}_${t.index}`);
      expect(t.jobs[1]).toMatch(new RegExp(`^(?!${a}_)\\d+_${t.index}$`));
    }
    const together = run.tasks[2]!.jobs[1]!.split('_')[0] === run.tasks[3]!.jobs[1]!.split('_')[0];
    expect(seen).toContain('2:preempted');
    expect(seen).toContain('3:node-fail');
    for (const i of [0, 1, 2, 3]) expect(await readFile(join(spec.runDir, `out-${i}.txt`), 'utf8')).toBe(`task ${i} of ${i < 2 ? 4 : together ? 2 : 1}\n`);
    // the script asks for the array and names each task's log by %A_%a
    const script = await readFile(join(spec.runDir, 'array.sbatch'), 'utf8');
    expect(script).toContain('#SBATCH --array=0,1,2,3');
    expect(script).toContain('#SBATCH --output=%x-%A_%a.out');
    const saved = JSON.parse(await readFile(join(spec.runDir, 'array.json'), 'utf8'));
    expect(saved.tasks[3].jobs).toHaveLength(2);
  }, 60_000);

  it('gives up on a task after its retries; a driver that stopped following resumes without resubmitting, also when it names fewer indexes; a run of another script waits for the live one', async () => {
    const { bin, spec } = await cluster();
    const failing = { ...spec, command: ['bash', '-c', '[ "$SLURM_ARRAY_TASK_ID" != 1 ] || { echo "CUDA out of memory" >&2; exit 3; }'] };
    const run = await runSlurmArray(failing, { indexes: [0, 1], retries: 1, pollMs: 100, bin });
    expect(run.tasks[0]!.status.state).toBe('succeeded');
    expect(run.tasks[1]!.status).toMatchObject({ state: 'out-of-memory', exitCode: 3, reason: 'cuda-oom' }); // from its log, as for a single job
    expect(run.tasks[1]!.jobs).toHaveLength(2); // the first run and one retry
    // a rerun gives the task that ran out of retries a new start, and leaves the finished one alone
    const rerun = await runSlurmArray(failing, { indexes: [0, 1], retries: 1, pollMs: 100, bin });
    expect(rerun.tasks[0]!.jobs).toEqual(run.tasks[0]!.jobs);
    expect(rerun.tasks[1]!.jobs).toHaveLength(4);
    // another fingerprint (another input): the saved run is replaced, nothing of it is reused
    const other = await runSlurmArray(failing, { indexes: [0, 1], retries: 0, pollMs: 100, bin, fingerprint: 'input-v2' });
    expect(other.tasks.map((t) => t.jobs.length)).toEqual([1, 1]);
    expect(other.tasks[0]!.jobs[0]).not.toBe(run.tasks[0]!.jobs[0]);

    const stop = new AbortController();
    const slow = { ...spec, runDir: `${spec.runDir}-2`, command: ['bash', '-c', 'sleep 1; echo done > "out-$SLURM_ARRAY_TASK_ID.txt"'] };
    const first = await runSlurmArray(slow, { indexes: [0, 1, 2], pollMs: 100, bin, signal: stop.signal, onTask: () => stop.abort() });
    expect(first.tasks.every((t) => t.jobs.length === 1 && ['pending', 'running'].includes(t.status.state))).toBe(true);
    // while they run, a run of another script in the same folder is refused (it would write the same outputs)
    await expect(runSlurmArray({ ...slow, command: ['bash', '-c', 'true'] }, { indexes: [0, 1, 2], pollMs: 100, bin })).rejects.toMatchObject({ code: 'config-invalid' });
    // a rerun naming only some indexes (the others finished, say) follows the same run
    const second = await runSlurmArray(slow, { indexes: [1, 2], pollMs: 100, bin });
    expect(second.tasks.map((t) => t.jobs)).toEqual(first.tasks.slice(1).map((t) => t.jobs)); // followed, not resubmitted
    expect(second.tasks.every((t) => t.status.state === 'succeeded')).toBe(true);
    // array.json keeps task 0, neither followed nor submitted again
    const saved = JSON.parse(await readFile(join(slow.runDir, 'array.json'), 'utf8')) as { tasks: Array<{ index: number; jobs: string[] }> };
    expect(saved.tasks.map((t) => [t.index, t.jobs])).toEqual(first.tasks.map((t) => [t.index, t.jobs]));
    const third = await runSlurmArray(slow, { indexes: [0], pollMs: 100, bin });
    expect(third.tasks[0]!.jobs).toEqual(first.tasks[0]!.jobs);
    expect(third.tasks[0]!.status.state).toBe('succeeded');
    // a caller that found task 0's outputs gone asks for it again: submitted, though saved as succeeded
    const again = await runSlurmArray(slow, { indexes: [0], rerun: [0], pollMs: 100, bin });
    expect(again.tasks[0]!.jobs).toHaveLength(2);
    expect(again.tasks[0]!.status.state).toBe('succeeded');
  }, 60_000);

  it('follows tasks on a cluster without accounting storage (sacct fails) through scontrol', async () => {
    const { bin, spec } = await cluster();
    process.env['FAKE_SLURM_NO_ACCOUNTING'] = '1';
    const run = await runSlurmArray(spec, { indexes: [0, 1], pollMs: 100, bin });
    expect(run.tasks.map((t) => [t.status.state, t.jobs.length])).toEqual([['succeeded', 1], ['succeeded', 1]]);
  }, 60_000);
});
