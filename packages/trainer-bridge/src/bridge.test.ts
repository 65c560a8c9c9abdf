import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { labelSetOf, type Sample } from '@llm-ir/core';
import { startFakeOpenAI } from '@llm-ir/distill/testing';
import { scoreChallenge, table1 } from '@llm-ir/eval';
import { createServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

// tests that put the fake tools first on PATH give it back
afterEach(() => {
  vi.unstubAllEnvs();
});
import { armFactors, loadArm, PAPER_ARMS, parseArm } from './arm.ts';
import { prepareTraining, runTraining, TrainingRunError } from './bridge.ts';
import { localExecutor, mapSlurmState, slurmExecutor, sshExecutor } from './executors.ts';
import { LLAMAFACTORY_KEYS } from './llamafactory.ts';
import { discoverCheckpoints } from './monitor.ts';
import { predictWithEndpoint, startServer, vllmServeCommand } from './predict.ts';
import { exportSwift } from './swift.ts';
import { installFakeTools } from './testing/index.ts';
import { IMAGES, officialRows } from './__fixtures__/rows.ts';

let rows: Sample[];
beforeAll(async () => {
  ({ rows } = await officialRows());
});

describe('LLaMA-Factory export (dry run of the paper arms)', () => {
  it('writes a valid config set for each of the four arms', async () => {
    for (const [name, arm] of Object.entries(PAPER_ARMS)) {
      const dir = await mkdtemp(join(tmpdir(), `llm-ir-${name}-`));
      const p = await prepareTraining({ backend: 'llamafactory', arm, samples: rows, imagesDir: IMAGES, runDir: dir });
      const cfg = parse(await readFile(join(dir, 'train.yaml'), 'utf8')) as Record<string, unknown>;
      for (const k of Object.keys(cfg)) expect(LLAMAFACTORY_KEYS.has(k), k).toBe(true);
      expect(cfg).toMatchObject({ template: 'qwen2_vl', finetuning_type: 'lora', stage: 'sft', lora_rank: arm.lora.rank, lora_alpha: arm.lora.alpha, num_train_epochs: 7, dataset: 'llm_ir_train' });
      // 16 rows, batch 1 x accumulation 8: 2 steps per epoch, a checkpoint every epoch half
      expect(p.stepsPerEpoch).toBe(2);
      expect(cfg['save_steps']).toBe(1);
      const info = JSON.parse(await readFile(join(dir, 'data', 'dataset_info.json'), 'utf8'));
      expect(info.llm_ir_train).toMatchObject({ formatting: 'sharegpt', columns: { messages: 'messages', images: 'images' } });
      const data = JSON.parse(await readFile(join(dir, 'data', 'llm_ir_train.json'), 'utf8'));
      for (const r of data) expect(r.messages[0].content.split('<image>').length - 1).toBe(r.images.length);
      expect(p.command).toEqual(['llamafactory-cli', 'train', join(dir, 'train.yaml')]);
    }
    expect(PAPER_ARMS['lora-r16-a32-ocr'].lora).toMatchObject({ rank: 16, alpha: 32 });
    expect(() => parseArm({ name: 'x', lora: { rank: 600, alpha: 24, dropout: 0, target: 'all' } })).toThrow(/lora\.rank/);
    expect(parseArm({ name: 'x', lora: { rank: 12, alpha: 24, dropout: 0, target: 'all' } }).lora.rank).toBe(12);
  });

  it('exports ms-swift JSONL and current swift sft arguments, with a sequence-classification option', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-swift-'));
    const intent = rows.filter((s) => s.task === 'intent');
    const e = await exportSwift(intent, PAPER_ARMS['lora-r16-a32-ocr'], { runDir: dir, imagesDir: IMAGES, seqCls: true });
    expect(e.command.slice(0, 2)).toEqual(['swift', 'sft']);
    expect(e.command).toEqual(expect.arrayContaining(['--tuner_type', 'lora', '--use_hf', 'true', '--lora_rank', '16', '--lora_alpha', '32', '--task_type', 'seq_cls', '--num_labels', '23']));
    const first = JSON.parse((await readFile(e.dataset, 'utf8')).split('\n')[0]!);
    expect(first.label).toBe(labelSetOf('intent').indexOf(intent[0]!.label!));
    expect(first.messages.every((m: { role: string }) => m.role !== 'assistant')).toBe(true);
    const old = await exportSwift(intent, PAPER_ARMS.baseline, { runDir: dir, imagesDir: IMAGES, swiftVersion: '4.0' });
    expect(old.command).toContain('--train_type');
  });
});

describe('fake-driven end to end', () => {
  async function fakeEnv() {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-e2e-'));
    const tools = await installFakeTools(dir);
    vi.stubEnv('PATH', tools.env['PATH']);
    vi.stubEnv('FAKE_SLURM_DIR', tools.env['FAKE_SLURM_DIR']);
    return dir;
  }

  for (const kind of ['local', 'slurm'] as const) {
    it(`${kind}: export -> submit -> monitor -> checkpoints -> predict -> eval table`, async () => {
      const dir = await fakeEnv();
      const arm = PAPER_ARMS['ocr-train-infer'];
      const prepared = await prepareTraining({ backend: 'llamafactory', arm, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'run') });
      const events: number[] = [];
      const executor = kind === 'local' ? localExecutor() : slurmExecutor();
      const result = await runTraining(prepared, executor, { pollMs: 100, onProgress: (e) => e.type === 'stage-progress' && events.push(e.completed) });
      expect(result.status.state).toBe('succeeded');
      expect(result.entries.at(-1)).toMatchObject({ step: 14, totalSteps: 14 });
      expect(events.at(-1)).toBe(14);
      expect(result.checkpoints.map((c) => c.epoch)).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]);
      expect(existsSync(join(prepared.outputDir, 'adapter_model.safetensors'))).toBe(true);
      // serve the checkpoints (vLLM command) and evaluate each one against a fake server
      const loras = result.checkpoints.filter((c) => c.epoch >= 3.5).map((c) => ({ name: `ckpt-${c.step}`, path: c.path }));
      const serve = vllmServeCommand({ model: arm.model, loras, loraRank: arm.lora.rank, maxImages: 4, imageMaxPixels: arm.train.imageMaxPixels });
      expect(serve).toEqual(expect.arrayContaining(['--enable-lora', '--lora-modules']));
      const fake = await startFakeOpenAI({ answer: (req) => ({ text: req.text.includes('你是一个电商客服专家') ? '商品材质' : `「${'退货页面'}」` }) });
      try {
        const runs = [];
        for (const l of loras.slice(0, 3)) {
          const { predictions, unmatched } = await predictWithEndpoint(rows, { baseURL: fake.url, model: l.name, imagesDir: IMAGES, concurrency: 4 });
          expect(unmatched).toEqual([]);
          const s = scoreChallenge(rows.map((r) => ({ id: r.id, task: r.task, label: r.label! })), predictions, { resamples: 0 });
          runs.push({ epoch: result.checkpoints.find((c) => c.path === l.path)!.epoch, scene: s.scene.weightedF1, intent: s.intent.weightedF1, average: s.average });
        }
        expect(fake.requests[0]!.body['structured_outputs']).toBeDefined();
        const t = table1([{ arm: arm.name, scene: { weightedF1: runs[0]!.scene }, intent: { weightedF1: runs[0]!.intent }, average: runs[0]!.average, checkpoints: runs }]);
        expect(t.rows.map((r) => r[1])).toEqual([3.5, 4, 4.5]);
      } finally {
        await fake.close();
      }
    }, 60_000);
  }

  it('surfaces CUDA out of memory and SLURM terminal states as typed errors with the log tail', async () => {
    const dir = await fakeEnv();
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'oom') });
    prepared.env['FAKE_LMF_FAIL'] = 'oom@5';
    const oom = await runTraining(prepared, localExecutor(), { pollMs: 100 }).catch((e) => e);
    expect(TrainingRunError.isInstance(oom)).toBe(true);
    expect(oom).toMatchObject({ code: 'cuda-oom', state: 'out-of-memory' });
    expect(oom.logTail).toContain('CUDA out of memory');
    const nan = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'nan') });
    nan.env['FAKE_LMF_FAIL'] = 'nan@3';
    await expect(runTraining(nan, localExecutor(), { pollMs: 100 })).rejects.toMatchObject({ code: 'nan-loss' });
    process.env['FAKE_SLURM_FINAL'] = 'TIMEOUT';
    try {
      const slow = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'timeout') });
      await expect(runTraining(slow, slurmExecutor(), { pollMs: 100 })).rejects.toMatchObject({ state: 'timeout', code: 'training-timeout' });
    } finally {
      delete process.env['FAKE_SLURM_FINAL'];
    }
    for (const [raw, state] of [['OUT_OF_MEMORY', 'out-of-memory'], ['PREEMPTED', 'preempted'], ['NODE_FAIL', 'node-fail'], ['CANCELLED by 1000', 'cancelled'], ['COMPLETED', 'succeeded'], ['PENDING', 'pending'], ['COMPLETING', 'running']] as const) {
      expect(mapSlurmState(raw)).toBe(state);
    }
    expect(mapSlurmState('COMPLETED', '1:0')).toBe('failed');
    const bad = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'badkey') });
    await writeFile(bad.command[2]!, `${await readFile(bad.command[2]!, 'utf8')}image_resolution: 512\n`);
    await expect(runTraining(bad, localExecutor(), { pollMs: 100 })).rejects.toMatchObject({ message: expect.stringContaining('unknown-config-key') });
  }, 60_000);

  it('cancels gracefully (the model is still saved) and runs over ssh', async () => {
    const dir = await fakeEnv();
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'cancel') });
    prepared.env['FAKE_LMF_STEP_MS'] = '200';
    const ex = localExecutor();
    const handle = await ex.submit({ runDir: prepared.runDir, command: prepared.command, env: prepared.env, gpus: prepared.gpus, ...(prepared.saveSignal ? { saveSignal: prepared.saveSignal } : {}) });
    // the trainer has its signal handlers once it prints the training banner (fake-llamafactory.mjs)
    for (let i = 0; i < 300 && !(await ex.logs(handle)).includes('***** Running training *****'); i++) await new Promise((r) => setTimeout(r, 100));
    expect((await ex.status(handle)).state).toBe('running');
    await ex.cancel(handle, { graceMs: 10_000 });
    expect((await ex.status(handle)).state).toBe('cancelled');
    expect(existsSync(join(prepared.outputDir, 'adapter_model.safetensors'))).toBe(true);
    expect(await ex.logs(handle)).toContain('aborted by the user; model saved');

    const remote = join(dir, 'remote');
    const ssh = sshExecutor({ host: 'gpu-box', remoteDir: remote });
    const p2 = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'viassh') });
    const h = await ssh.submit({ runDir: p2.runDir, command: p2.command, env: p2.env });
    let st = await ssh.status(h);
    for (let i = 0; i < 100 && (st.state === 'running' || st.state === 'pending'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      st = await ssh.status(h);
    }
    expect(st.state).toBe('succeeded');
    await ssh.fetch(h);
    expect((await discoverCheckpoints(p2.outputDir)).length).toBe(14);
  }, 60_000);

  it('vllm serve: every checkpoint as a LoRA module; a missing adapter stops the server at start', async () => {
    const dir = await fakeEnv();
    const prepared = await prepareTraining({ backend: 'llamafactory', arm: PAPER_ARMS.baseline, samples: rows, imagesDir: IMAGES, runDir: join(dir, 'serve') });
    const { checkpoints } = await runTraining(prepared, localExecutor(), { pollMs: 100 });
    const loras = checkpoints.slice(-2).map((c) => ({ name: `epoch-${c.epoch}`, path: c.path }));
    const port = await new Promise<number>((ok) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => ok(p));
      });
    });
    const baseURL = `http://127.0.0.1:${port}/v1`;
    const server = await startServer(vllmServeCommand({ model: PAPER_ARMS.baseline.model, loras, loraRank: 8, maxImages: 4, port }), { baseURL, timeoutMs: 30_000 });
    try {
      const models = (await (await fetch(`${baseURL}/models`)).json()) as { data: Array<{ id: string; parent: string | null }> };
      expect(models.data.map((m) => m.id)).toEqual([PAPER_ARMS.baseline.model, 'epoch-6.5', 'epoch-7']);
      const r = await predictWithEndpoint(rows.slice(0, 4), { baseURL, model: 'epoch-7', imagesDir: IMAGES });
      expect(r.predictions).toHaveLength(4);
      expect(r.failed).toEqual([]);
      const missing = await predictWithEndpoint(rows.slice(0, 1), { baseURL, model: 'epoch-99', imagesDir: IMAGES, maxRetries: 0 });
      expect(missing.failed[0]?.reason).toMatch(/does not exist/);
    } finally {
      await server.stop();
    }
    // stop() resolves once the process is gone: nothing answers on the port any more
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
    await expect(fetch(`${baseURL}/models`)).rejects.toThrow();
    await server.stop(); // a second stop is a no-op
    const log = join(dir, 'vllm-bad.log');
    await expect(startServer(vllmServeCommand({ model: PAPER_ARMS.baseline.model, loras: [{ name: 'gone', path: join(dir, 'nowhere') }], loraRank: 8, maxImages: 4, port }), { baseURL, timeoutMs: 30_000, logFile: log })).rejects.toMatchObject({ code: 'server-failed' });
    expect(await readFile(log, 'utf8')).toContain('No adapter found');
  }, 60_000);
});

describe('arm schema', () => {
  it('fills a file from its preset, checks every field, and names the file and field of a mistake', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-arm-'));
    const arm = parseArm({ name: 'mine', preset: 'lora-r16-a32-ocr', train: { gpus: 2 }, rag: {} });
    expect(arm.lora).toMatchObject({ rank: 16, alpha: 32 });
    expect(arm.ocr).toEqual({ train: true, infer: true });
    expect(arm.train).toMatchObject({ gpus: 2, epochs: 7, seed: 42 });
    expect(arm.rag).toEqual({ k: 10, weight: 0.3 });
    // a typo is an error, not a stage silently off
    expect(() => parseArm({ name: 'x', gpuPreset: 'baseline' }, 'x.json')).toThrow(/x\.json.*gpuPreset/);
    expect(() => parseArm({ name: 'x', ocr: { train: false, infer: true } })).toThrow(/inference only/);
    expect(() => parseArm({ name: 'x', augment: { factor: 0.5 } })).toThrow(/augment\.factor/);
    await writeFile(join(dir, 'a.yaml'), 'name: y\npreset: ocr-train\naugment: { factor: 3 }\n');
    expect(await loadArm(join(dir, 'a.yaml'))).toMatchObject({ name: 'y', ocr: { train: true, infer: false }, augment: { factor: 3 } });
    await writeFile(join(dir, 'bad.json'), '{"name": "z", "ocr": {"train": "yes", "infer": false}}');
    await expect(loadArm(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'config-invalid', message: expect.stringMatching(/bad\.json.*ocr\.train/) });
    await writeFile(join(dir, 'full.json'), '{"name": "full", "preset": "baseline"}');
    expect((await loadArm('+full', { armsDir: dir })).name).toBe('full');
    expect((await loadArm('baseline', { armsDir: dir })).lora.rank).toBe(8);
    await expect(loadArm('nope', { armsDir: dir })).rejects.toMatchObject({ code: 'config-invalid' });
    expect(armFactors(arm)).toEqual({ ocrTrain: true, ocrInfer: true, augment: false, rag: true, distill: false });
  });

});
