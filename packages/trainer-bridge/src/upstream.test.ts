// The GPU path as the real tools behave (issue 13): one test per point, each against the fakes rebuilt
// from upstream source (see src/testing/bin/*.mjs for the upstream file and symbol of each behaviour).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { type Sample } from '@llm-ir/core';
import { createRunRecord } from '@llm-ir/core/run';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_ARMS, parseArm, type ArmConfig } from './arm.ts';
import { prepareTraining, runTraining, TrainingRunError } from './bridge.ts';
import { diagnoseLog, isActive, jobProcesses, loadHandle, localExecutor, mapSlurmState, sbatchScript, slurmExecutor, type Executor, type JobHandle } from './executors.ts';
import { discoverCheckpoints, parseDuration, parseTrainLogLine } from './monitor.ts';
import { constraintForVllm, maxImagesPerRow, predictWithEndpoint, startServer, vllmServeCommand } from './predict.ts';
import { exportSwift } from './swift.ts';
import { installFakeTools } from './testing/index.ts';
import { IMAGES, officialRows } from './__fixtures__/rows.ts';

let samples: Sample[];
let rows: Sample[];
beforeAll(async () => {
  ({ samples, rows } = await officialRows());
});

// every test sets the fakes' environment; it is put back afterwards
const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

async function fakeEnv(extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-ir-upstream-'));
  const tools = await installFakeTools(dir);
  Object.assign(process.env, tools.env, extra);
  return dir;
}

const arm = (gpus: number, base: ArmConfig = PAPER_ARMS.baseline) => parseArm({ ...base, train: { ...base.train, gpus } });

async function until(what: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** The machine dies: every process of a local job, torchrun's workers in their own sessions included. */
function killJob(handle: JobHandle): void {
  for (const pid of [Number(handle.id), ...jobProcesses(handle)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

async function waitForEnd(executor: Executor, handle: JobHandle): Promise<void> {
  await until(async () => !isActive((await executor.status(handle)).state));
}

describe('1. one GPU count, honoured everywhere', () => {
  it('pins a 1-GPU arm on a 4-GPU machine: LLaMA-Factory would otherwise run torchrun on all 4 and checkpoint every 2 epochs', async () => {
    const dir = await fakeEnv({ FAKE_GPUS: '4' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
    expect(prepared.env).toMatchObject({ NPROC_PER_NODE: '1', NNODES: '1' });
    const r = await runTraining(prepared, localExecutor(), { pollMs: 50 });
    expect(r.checkpoints.map((c) => c.epoch)).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]);
    const log = await readFile(join(dir, 'run', 'train.log'), 'utf8');
    expect(log).toContain('World size = 1');
    expect(log).toContain('CUDA devices = 0\n');
  }, 60_000);

  it('computes the half-epoch steps for the world size of a multi-GPU arm, and the trainer runs that many processes', async () => {
    const dir = await fakeEnv({ FAKE_GPUS: '4' });
    const two = arm(2);
    const data = [...rows, ...rows.map((r) => ({ ...r, id: `${r.id}-b` }))];
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: two, samples: data, imagesDir: IMAGES, runDir: join(dir, 'run') });
    // 32 rows, batch 1, accumulation 8, 2 processes: 16 batches each, 2 optimiser steps per epoch
    expect(prepared.stepsPerEpoch).toBe(2);
    expect(prepared.env).toMatchObject({ NPROC_PER_NODE: '2', FORCE_TORCHRUN: '1' });
    const r = await runTraining(prepared, localExecutor(), { pollMs: 50 });
    expect(r.checkpoints.map((c) => c.epoch)).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]);
    const log = await readFile(join(dir, 'run', 'train.log'), 'utf8');
    expect(log).toContain('Initializing 2 distributed tasks');
    expect(log).toContain('World size = 2');
    expect(log).toContain('CUDA devices = 0,1\n');
    // ms-swift gets the same count
    const swift = await exportSwift(data, two, { runDir: join(dir, 'swift'), imagesDir: IMAGES });
    expect(swift.env).toMatchObject({ NPROC_PER_NODE: '2' });
    expect(swift.stepsPerEpoch).toBe(2);
  }, 60_000);

  it('SLURM asks for the arm\'s GPUs and pins CUDA_VISIBLE_DEVICES to them (on a site whose jobs see every GPU of the node too)', async () => {
    const dir = await fakeEnv({ FAKE_GPUS: '8', FAKE_SLURM_NODE_CUDA: '0,1,2,3,4,5,6,7' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: arm(2), samples: [...rows, ...rows.map((r) => ({ ...r, id: `${r.id}-b` }))], imagesDir: IMAGES, runDir: join(dir, 'run') });
    const r = await runTraining(prepared, slurmExecutor(), { pollMs: 50 });
    const script = await readFile(join(dir, 'run', 'train.sbatch'), 'utf8');
    expect(script).toContain('#SBATCH --gres=gpu:2');
    expect(r.checkpoints).toHaveLength(14);
    const log = await readFile(join(dir, 'run', `run-${r.handle.id}.out`), 'utf8');
    expect(log).toContain('World size = 2');
    expect(log).toContain('CUDA devices = 0,1\n');
  }, 60_000);

  it('refuses to start when the GPUs are not there (CUDA_VISIBLE_DEVICES too short or empty; torchrun past the visible devices fails)', async () => {
    const dir = await fakeEnv({ CUDA_VISIBLE_DEVICES: '' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
    await expect(runTraining(prepared, localExecutor(), { pollMs: 50 })).rejects.toMatchObject({ message: expect.stringContaining('gpus-unavailable') });
    process.env['CUDA_VISIBLE_DEVICES'] = '3';
    const two = await prepareTraining({ backend: 'llamafactory', arm: arm(2), samples: rows, imagesDir: IMAGES, runDir: join(dir, 'two') });
    const e = await runTraining(two, localExecutor(), { pollMs: 50 }).catch((x: unknown) => x as TrainingRunError);
    expect(e).toMatchObject({ message: expect.stringContaining('gpus-unavailable') });
    expect((e as TrainingRunError).logTail).toContain('needs 2 GPUs but CUDA_VISIBLE_DEVICES="3" gives 1');
  }, 60_000);

  it('refuses a LLaMA-Factory run folder with white space (the launcher splits the config path)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-space-'));
    await expect(prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'my run') })).rejects.toMatchObject({ code: 'config-invalid', message: expect.stringContaining('white space') });
  });
});

describe('2. failures detected as the real tools report them', () => {
  it('an unknown YAML key fails in HfArgumentParser.parse_dict and is named', async () => {
    const dir = await fakeEnv();
    const bad = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'badkey') });
    await writeFile(bad.configPath!, `${await readFile(bad.configPath!, 'utf8')}image_resolution: 512\n`);
    const e = await runTraining(bad, localExecutor(), { pollMs: 50 }).catch((x: unknown) => x);
    expect(TrainingRunError.isInstance(e)).toBe(true);
    expect((e as TrainingRunError).message).toContain('(unknown-config-key)');
    expect((e as TrainingRunError).logTail).toContain("Some keys are not used by the HfArgumentParser: ['image_resolution']");
  }, 60_000);

  it('a NaN loss reaches the log (logging_nan_inf_filter off) and fails the run; with the filter on it would be hidden', async () => {
    const dir = await fakeEnv({ FAKE_LMF_FAIL: 'nan@3' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'nan') });
    expect(parse(await readFile(prepared.configPath!, 'utf8'))).toMatchObject({ logging_nan_inf_filter: false });
    await expect(runTraining(prepared, localExecutor(), { pollMs: 50 })).rejects.toMatchObject({ code: 'nan-loss' });
    // the same run with transformers' default (filter on): every logged loss is finite
    const hidden = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'hidden') });
    const cfg = parse(await readFile(hidden.configPath!, 'utf8')) as Record<string, unknown>;
    delete cfg['logging_nan_inf_filter'];
    await writeFile(hidden.configPath!, JSON.stringify(cfg));
    const r = await runTraining(hidden, localExecutor(), { pollMs: 50 });
    expect(r.entries.every((e) => e.loss === undefined || Number.isFinite(e.loss))).toBe(true);
  }, 60_000);
});

describe('2b. every non-finite loss, and the refusal of a used output folder', () => {
  it('an inf loss (logged as Infinity by Python) fails the run like NaN', async () => {
    const dir = await fakeEnv({ FAKE_LMF_FAIL: 'inf@3' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'inf') });
    await expect(runTraining(prepared, localExecutor(), { pollMs: 50 })).rejects.toMatchObject({ code: 'nan-loss' });
    expect(await readFile(prepared.logFile, 'utf8')).toContain('"loss":Infinity');
  }, 60_000);

  it('names LLaMA-Factory\'s refusal of an output folder that holds a model but no checkpoint', () => {
    expect(diagnoseLog('ValueError: Output directory already exists and is not empty. Please set `overwrite_output_dir`.')).toBe('output-dir-not-empty');
  });
});

describe('3. a rerun resumes, it does not restart', () => {
  it('after a crash, resumes from the last complete checkpoint (the log goes on, no epoch is trained twice)', async () => {
    const dir = await fakeEnv({ FAKE_LMF_STEP_MS: '60' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
    const ex = localExecutor();
    const stop = new AbortController();
    const { handle: first } = await runTraining(prepared, ex, { pollMs: 50, signal: stop.signal, onProgress: (e) => e.type === 'stage-progress' && e.completed >= 5 && stop.abort() });
    killJob(first); // the machine dies
    await until(async () => (await ex.status(first)).state === 'failed');
    const done = (await discoverCheckpoints(prepared.outputDir)).map((c) => c.step);
    const again = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
    const r = await runTraining(again, ex, { pollMs: 50 });
    expect(r.resumedFrom?.step).toBeGreaterThanOrEqual(Math.max(...done) - 1);
    expect(parse(await readFile(again.configPath!, 'utf8'))).toMatchObject({ resume_from_checkpoint: r.resumedFrom!.path });
    expect(await readFile(join(dir, 'run', 'train.log'), 'utf8')).toContain(`Continuing training from global step ${r.resumedFrom!.step}`);
    const steps = (await readFile(prepared.logFile, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l.replace(/NaN/g, 'null')) as { current_steps: number }).current_steps);
    // the first run's lines are kept and the second run starts after the checkpoint
    expect(steps[0]).toBe(1);
    expect(steps.at(-1)).toBe(14);
    expect(r.checkpoints.map((c) => c.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  }, 60_000);

  it('re-attaches to a job that is still running instead of submitting a second one', async () => {
    const dir = await fakeEnv({ FAKE_LMF_STEP_MS: '250', FAKE_SLURM_PENDING_MS: '100' });
    for (const ex of [localExecutor(), slurmExecutor()]) {
      const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, ex.kind) });
      const stop = new AbortController();
      const following = runTraining(prepared, ex, { pollMs: 50, signal: stop.signal, onProgress: (e) => e.type === 'stage-progress' && e.completed >= 2 && stop.abort() });
      const first = await following; // following stopped; the job goes on
      expect(isActive(first.status.state)).toBe(true);
      const lines: string[] = [];
      const r = await runTraining(prepared, ex, { pollMs: 50, log: (l) => lines.push(l) });
      expect(r.reattached).toBe(true);
      expect(r.handle.id).toBe(first.handle.id);
      expect(lines.join('\n')).toContain(`re-attached to ${ex.kind} job ${first.handle.id}`);
      expect(r.status.state).toBe('succeeded');
      expect(r.checkpoints).toHaveLength(14);
      // a third call finds the training finished and runs nothing
      const third = await runTraining(prepared, ex, { pollMs: 50 });
      expect(third.handle.id).toBe(first.handle.id);
    }
    expect((await readdir(join(dir, 'slurm-state'))).filter((f) => /^\d+\.json$/.test(f))).toHaveLength(1);
  }, 90_000);

  it('a SLURM TIMEOUT is resumed on rerun; another configuration in the folder is moved aside', async () => {
    const dir = await fakeEnv({ FAKE_LMF_STEP_MS: '5' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
    process.env['FAKE_SLURM_FINAL'] = 'TIMEOUT';
    await expect(runTraining(prepared, slurmExecutor(), { pollMs: 50 })).rejects.toMatchObject({ state: 'timeout' });
    delete process.env['FAKE_SLURM_FINAL'];
    const r = await runTraining(prepared, slurmExecutor(), { pollMs: 50 });
    expect(r.resumedFrom?.step).toBe(14);
    const other = await prepareTraining({ backend: 'llamafactory', arm: parseArm({ ...PAPER_ARMS.baseline, train: { ...PAPER_ARMS.baseline.train, learningRate: 5e-5 } }), samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
    const lines: string[] = [];
    const o = await runTraining(other, slurmExecutor(), { pollMs: 50, log: (l) => lines.push(l) });
    expect(o.resumedFrom).toBeUndefined();
    expect(lines.join('\n')).toMatch(/another configuration trained here; its output moved to .*out\.previous-/);
    expect(o.checkpoints).toHaveLength(14);
  }, 60_000);
});

describe('3b. reruns leave a running job alone', () => {
  it('does not rewrite the inputs of a job still queued, refuses another configuration, and re-attaches to a job.json without a fingerprint', async () => {
    const dir = await fakeEnv({ FAKE_LMF_STEP_MS: '60', FAKE_SLURM_PENDING_MS: '4000' });
    const runDir = join(dir, 'run');
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir });
    const ex = slurmExecutor();
    const handle = await ex.submit({ runDir, command: prepared.command, env: prepared.env, gpus: 1, saveSignal: 'SIGABRT' }); // an older version: no fingerprint
    expect((await ex.status(handle)).state).toBe('pending');
    const yaml = await readFile(prepared.configPath!, 'utf8');
    const other = await prepareTraining({ backend: 'llamafactory', arm: parseArm({ ...PAPER_ARMS.baseline, train: { ...PAPER_ARMS.baseline.train, learningRate: 5e-5 } }), samples: rows, imagesDir: IMAGES, runDir });
    expect(await readFile(prepared.configPath!, 'utf8')).toBe(yaml);
    const lines: string[] = [];
    const r = await runTraining(other, ex, { pollMs: 50, log: (l) => lines.push(l) });
    // no fingerprint recorded: taken as this training, re-attached to instead of a second job
    expect(r.reattached).toBe(true);
    expect(r.handle.id).toBe(handle.id);
    expect(r.status.state).toBe('succeeded');
    // now a job of a recorded configuration runs, and another configuration is refused without touching its files
    process.env['FAKE_SLURM_PENDING_MS'] = '3000';
    const again = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run2') });
    const stop = new AbortController();
    stop.abort();
    await runTraining(again, ex, { pollMs: 50, signal: stop.signal });
    const before = await readFile(again.configPath!, 'utf8');
    const third = await prepareTraining({ backend: 'llamafactory', arm: parseArm({ ...PAPER_ARMS.baseline, train: { ...PAPER_ARMS.baseline.train, learningRate: 5e-5 } }), samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run2') });
    await expect(runTraining(third, ex, { pollMs: 50 })).rejects.toMatchObject({ code: 'job-conflict' });
    expect(await readFile(again.configPath!, 'utf8')).toBe(before);
    await ex.cancel(await loadHandle(join(dir, 'run2')), { graceMs: 5000, pollMs: 100 });
  }, 60_000);

  it('a rerun that re-reads the trainer\'s log adds no metric twice', async () => {
    const dir = await fakeEnv();
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
    const run = await createRunRecord({ runsDir: dir, id: 'run', config: {}, resume: true });
    await runTraining(prepared, localExecutor(), { pollMs: 50, run });
    const count = async () => (await readFile(join(dir, 'run', 'metrics.jsonl'), 'utf8')).trim().split('\n').length;
    const n = await count();
    expect(n).toBeGreaterThan(0);
    await run.finish('succeeded');
    const again = await runTraining(prepared, localExecutor(), { pollMs: 50, run: await createRunRecord({ runsDir: dir, id: 'run', config: {}, resume: true }) });
    expect(again.entries.length).toBeGreaterThan(0);
    expect(await count()).toBe(n);
  }, 60_000);
});

describe('4. cancel saves', () => {
  it('local, under torchrun: waits for the workers to save, not for the launcher', async () => {
    const dir = await fakeEnv({ FAKE_GPUS: '2', FAKE_LMF_STEP_MS: '100', FAKE_LMF_SAVE_MS: '1500' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: arm(2), samples: [...rows, ...rows.map((r) => ({ ...r, id: `${r.id}-b` }))], imagesDir: IMAGES, runDir: join(dir, 'run') });
    const ex = localExecutor();
    const handle = await ex.submit({ runDir: prepared.runDir, command: prepared.command, env: prepared.env, gpus: 2, saveSignal: 'SIGABRT' });
    await until(async () => existsSync(prepared.logFile));
    await ex.cancel(handle, { graceMs: 20_000 });
    expect(existsSync(join(prepared.outputDir, 'adapter_model.safetensors'))).toBe(true);
    expect(existsSync(join(prepared.outputDir, 'trainer_state.json'))).toBe(true);
    expect((await ex.status(handle)).state).toBe('cancelled');
    expect(await ex.logs(handle)).toContain('aborted by the user; model saved');
  }, 60_000);

  it('SLURM: the signal reaches the trainer as a job step, and the hard cancel waits for the save', async () => {
    const dir = await fakeEnv({ FAKE_LMF_STEP_MS: '100', FAKE_LMF_SAVE_MS: '1500', FAKE_SLURM_PENDING_MS: '100' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
    const ex = slurmExecutor();
    const handle = await ex.submit({ runDir: prepared.runDir, command: prepared.command, env: prepared.env, gpus: 1, saveSignal: 'SIGABRT' });
    await until(async () => existsSync(prepared.logFile));
    await ex.cancel(handle, { graceMs: 20_000, pollMs: 100 });
    expect(existsSync(join(prepared.outputDir, 'adapter_model.safetensors'))).toBe(true);
    expect((await ex.status(handle)).state).toBe('cancelled');
    expect(await ex.logs(handle)).toContain('aborted by the user; model saved');
  }, 60_000);
});

describe('4b. cancel of jobs that are not running', () => {
  it('leaves a finished job as it ended, and cancels a SLURM job still pending at once', async () => {
    const dir = await fakeEnv({ FAKE_SLURM_PENDING_MS: '5000' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'done') });
    const r = await runTraining(prepared, localExecutor(), { pollMs: 50 });
    await localExecutor().cancel(r.handle);
    expect((await localExecutor().status(r.handle)).state).toBe('succeeded');
    const ex = slurmExecutor();
    const queued = await ex.submit({ runDir: join(dir, 'queued'), command: ['true'], saveSignal: 'SIGABRT' });
    // a pending job takes no save signal: it is cancelled at once (a wait for the grace period would outlast the test)
    await ex.cancel(queued, { graceMs: 600_000, pollMs: 100 });
    expect(await ex.status(queued)).toMatchObject({ state: 'cancelled', raw: 'CANCELLED by 0' });
  }, 60_000);
});

describe('5. ms-swift runs end cleanly', () => {
  it('no checkpoint symlink, the arm\'s LoRA dropout, NaN logged, one label space per seq_cls run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-swift5-'));
    const e = await exportSwift(rows, PAPER_ARMS['lora-r16-a32-ocr'], { runDir: dir, imagesDir: IMAGES });
    expect(e.command).not.toContain('--create_checkpoint_symlink');
    expect(e.command.join(' ')).toContain('--lora_dropout 0');
    expect(e.command.join(' ')).toContain('--logging_nan_inf_filter false');
    await expect(exportSwift(rows, PAPER_ARMS.baseline, { runDir: dir, imagesDir: IMAGES, seqCls: true })).rejects.toMatchObject({ code: 'config-invalid', message: expect.stringContaining('one label space') });
    const scene = await exportSwift(rows.filter((r) => r.task === 'scene'), PAPER_ARMS.baseline, { runDir: dir, imagesDir: IMAGES, seqCls: true });
    expect(scene.command.join(' ')).toContain('--num_labels 25');
  });
});

describe('6. vLLM, current and older', () => {
  it('derives --max-lora-rank from the arm and --limit-mm-per-prompt from the data; vLLM refuses other ranks', async () => {
    expect(maxImagesPerRow(samples)).toBe(4);
    const cmd = (rank: number) => vllmServeCommand({ model: 'm', loras: [{ name: 'a', path: '/a' }], loraRank: rank, maxImages: maxImagesPerRow(rows) });
    const value = (c: string[], flag: string) => c[c.indexOf(flag) + 1];
    expect(value(cmd(16), '--max-lora-rank')).toBe('16');
    expect(value(cmd(12), '--max-lora-rank')).toBe('16');
    expect(value(cmd(300), '--max-lora-rank')).toBe('320');
    expect(value(cmd(8), '--limit-mm-per-prompt')).toBe(JSON.stringify({ image: maxImagesPerRow(rows) }));
    const dir = await fakeEnv();
    const r = spawnSync('vllm', ['serve', 'm', '--max-lora-rank', '12'], { encoding: 'utf8', env: process.env });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid choice: 12');
    void dir;
  });

  it('reads /version: structured_outputs on current vLLM, guided_choice below 0.10.2; guided_choice on 0.12 comes back unconstrained', async () => {
    expect(constraintForVllm('0.12.0')).toBe('structured_outputs');
    expect(constraintForVllm('0.10.2')).toBe('structured_outputs');
    expect(constraintForVllm('0.10.1.1')).toBe('guided_choice');
    expect(constraintForVllm('0.9.2')).toBe('guided_choice');
    const dir = await fakeEnv({ VLLM_LOGGING_LEVEL: 'DEBUG' });
    const ckpt = join(dir, 'ckpt');
    await mkdir(ckpt);
    await writeFile(join(ckpt, 'adapter_config.json'), JSON.stringify({ r: 8 }));
    for (const [version, expected] of [['0.12.0', 'structured_outputs'], ['0.9.2', 'guided_choice']] as const) {
      const port = await freePort();
      const baseURL = `http://127.0.0.1:${port}/v1`;
      process.env['FAKE_VLLM_VERSION'] = version;
      const server = await startServer(vllmServeCommand({ model: 'base', loras: [{ name: 'ck', path: ckpt }], loraRank: 8, maxImages: 4, port }), { baseURL, timeoutMs: 30_000, logFile: join(dir, `vllm-${version}.log`) });
      try {
        const auto = await predictWithEndpoint(rows, { baseURL, model: 'ck', imagesDir: IMAGES, concurrency: 4 });
        expect(auto).toMatchObject({ constraint: expected, serverVersion: version, unmatched: [], failed: [] });
        expect(auto.predictions).toHaveLength(rows.length);
        if (version === '0.12.0') {
          // the removed field: 200, an unconstrained answer that is no label, a line in the debug log
          const legacy = await predictWithEndpoint(rows.slice(0, 2), { baseURL, model: 'ck', imagesDir: IMAGES, constraint: 'guided_choice' });
          expect(legacy.unmatched).toHaveLength(2);
          expect(await readFile(join(dir, `vllm-${version}.log`), 'utf8')).toContain("present in the request but ignored: {'guided_choice'}");
        }
      } finally {
        await server.stop();
      }
    }
  }, 60_000);
});

describe('7. SLURM details', () => {
  it('falls back to scontrol where sacct has no accounting storage', async () => {
    const dir = await fakeEnv({ FAKE_SLURM_NO_ACCOUNTING: '1' });
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
    const r = await runTraining(prepared, slurmExecutor(), { pollMs: 50 });
    expect(r.status).toMatchObject({ state: 'succeeded', raw: 'COMPLETED' });
  }, 60_000);

  it('knows every state word, derives the rendezvous port from the job id, and quotes names and paths', async () => {
    for (const [raw, state] of [['EXPEDITING', 'pending'], ['REVOKED', 'failed'], ['SPECIAL_EXIT', 'failed'], ['LAUNCH_FAILED', 'node-fail'], ['BOOT_FAIL', 'node-fail'], ['DEADLINE', 'timeout'], ['REQUEUE_HOLD', 'pending'], ['SIGNALING', 'running']] as const) {
      expect(mapSlurmState(raw), raw).toBe(state);
    }
    const script = sbatchScript({ runDir: '/x/a b,c', command: ['true'], name: 'arm one, two' });
    expect(script).not.toContain('29500');
    expect(script).toContain('MASTER_PORT=${MASTER_PORT:-$((15000 + SLURM_JOB_ID % 15000))}');
    expect(script).toContain('#SBATCH --job-name=arm-one-two\n');
    expect(script).toContain("cd '/x/a b,c'");
    // end to end: a folder with a space and a comma
    const dir = await fakeEnv({ FAKE_SLURM_PENDING_MS: '50' });
    const runDir = join(dir, 'a b,c');
    const ex = slurmExecutor();
    const handle = await ex.submit({ runDir, command: ['sh', '-c', 'echo "port=$MASTER_PORT dir=$(pwd)"'], name: 'arm one, two' });
    await waitForEnd(ex, handle);
    expect((await ex.status(handle)).state).toBe('succeeded');
    expect(await ex.logs(handle)).toContain(`port=${15000 + (Number(handle.id) % 15000)} dir=${runDir}`);
    expect((await loadHandle(runDir)).id).toBe(handle.id);
  }, 60_000);
});

describe('8. monitoring', () => {
  it('parses LLaMA-Factory\'s str(timedelta) and ms-swift\'s format_time remaining times', () => {
    expect(parseDuration('0:05:07')).toBe(307);
    expect(parseDuration('1 day, 1:01:01')).toBe(90_061);
    expect(parseDuration('3 days, 0:00:05')).toBe(259_205);
    expect(parseDuration('1h 2m 3s')).toBe(3723);
    expect(parseDuration('2m 3s')).toBe(123);
    expect(parseDuration('45s')).toBe(45);
    expect(parseDuration('1d 0h 0m 5s')).toBe(86_405);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseTrainLogLine({ 'global_step/max_steps': '10/375', loss: 1.2, learning_rate: 1e-4, epoch: 0.2, elapsed_time: '1m 4s', remaining_time: '1h 2m 3s' })).toMatchObject({ step: 10, totalSteps: 375, etaSeconds: 3723 });
  });

  it('follows a day-long run and finds the final checkpoint-<max_steps> the Trainer saves', async () => {
    const dir = await fakeEnv({ FAKE_LMF_STEP_SECONDS: '9000' });
    // 24 rows: 3 optimiser steps per epoch, save_steps 2, 21 steps: checkpoints 2, 4, ..., 20 and 21
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: [...rows, ...rows.slice(0, 8).map((r) => ({ ...r, id: `${r.id}-b` }))], imagesDir: IMAGES, runDir: join(dir, 'run') });
    expect(prepared.stepsPerEpoch).toBe(3);
    const r = await runTraining(prepared, localExecutor(), { pollMs: 50 });
    expect(r.entries[0]!.etaSeconds).toBeGreaterThan(86_400);
    expect(r.checkpoints.at(-1)).toMatchObject({ step: 21, epoch: 7 });
    expect(r.checkpoints.map((c) => c.step)).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 21]);
  }, 60_000);
});

describe('5. ms-swift end to end (fake swift sft)', () => {
  it('trains, resumes after a crash, and ends cleanly; the old --create_checkpoint_symlink fails at the end as upstream does', async () => {
    const dir = await fakeEnv({ FAKE_SWIFT_STEP_MS: '40' });
    const prepared = await prepareTraining({ backend: 'swift', arm: PAPER_ARMS['lora-r16-a32-ocr'], samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
    const ex = localExecutor();
    const stop = new AbortController();
    const first = await runTraining(prepared, ex, { pollMs: 50, signal: stop.signal, onProgress: (e) => e.type === 'stage-progress' && e.completed >= 5 && stop.abort() });
    killJob(first.handle);
    await until(async () => (await ex.status(first.handle)).state === 'failed');
    const r = await runTraining(prepared, ex, { pollMs: 50 });
    expect(r.resumedFrom?.step).toBeGreaterThanOrEqual(5);
    expect(r.status.state).toBe('succeeded');
    expect(r.checkpoints.map((c) => c.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(r.entries.at(-1)).toMatchObject({ step: 14, totalSteps: 14 });
    expect(JSON.parse(await readFile(join(prepared.outputDir, 'checkpoint-14', 'adapter_config.json'), 'utf8'))).toMatchObject({ r: 16, lora_alpha: 32, lora_dropout: 0 });
    // what the exporter passed before: the run trains, then fails in _handle_trainer_state
    const old = await prepareTraining({ backend: 'swift', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'old') });
    old.command.push('--create_checkpoint_symlink', 'true');
    const e = await runTraining(old, ex, { pollMs: 50 }).catch((x: unknown) => x);
    expect((e as TrainingRunError).logTail).toContain('TypeError: symlink: src should be string, bytes or os.PathLike, not NoneType');
  }, 60_000);
});
