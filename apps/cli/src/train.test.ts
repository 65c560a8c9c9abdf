import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startFakeOpenAI } from '@llm-ir/distill/testing';
import { installFakeTools } from '@llm-ir/trainer-bridge/testing';
import { LLAMAFACTORY_KEYS } from '@llm-ir/trainer-bridge/export';
import { cli, MIRE } from './__fixtures__/cli.ts';
import { afterEach, describe, expect, it, vi } from 'vitest';

// tests that put the fake tools first on PATH give it back
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('llm-ir train and predict', () => {
  it('--dry-run writes a valid LLaMA-Factory config set for the four paper arms and prints the command', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-traincli-'));
    const rows = JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8')).slice(0, 8);
    await writeFile(join(dir, 'rows.json'), JSON.stringify(rows));
    for (const arm of ['baseline', 'ocr-train', 'ocr-train-infer', 'lora-r16-a32-ocr']) {
      const r = await cli('train', '--backend', 'llamafactory', '--arm', arm, '--train', join(dir, 'rows.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'runs', arm), '--dry-run', '--cache', join(dir, 'cache'));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/command: LLAMABOARD_ENABLED=1 .* llamafactory-cli train .*train\.yaml/);
      const cfg = parse(await readFile(join(dir, 'runs', arm, 'train.yaml'), 'utf8')) as Record<string, unknown>;
      expect(Object.keys(cfg).every((k) => LLAMAFACTORY_KEYS.has(k))).toBe(true);
      const data = JSON.parse(await readFile(join(dir, 'runs', arm, 'data', 'llm_ir_train.json'), 'utf8'));
      const withOcr = data.some((d: { messages: Array<{ content: string }> }) => d.messages[0]!.content.includes('<ocr>'));
      expect(withOcr, arm).toBe(arm !== 'baseline');
      const run = JSON.parse(await readFile(join(dir, 'runs', arm, 'run.json'), 'utf8'));
      expect(run.status).toBe('succeeded');
      // issue 13: a rerun resumes (no overwrite_output_dir), NaN losses are logged, one GPU pinned
      expect(cfg['overwrite_output_dir']).toBeUndefined();
      expect(cfg['logging_nan_inf_filter']).toBe(false);
      expect(r.stdout).toMatch(/command: LLAMABOARD_ENABLED=1 \S+ NPROC_PER_NODE=1 NNODES=1 llamafactory-cli/);
      expect(r.stdout).toContain('1 GPU process(es) (1 per node x 1 node(s))');
    }
    // the GPU count is one setting: --gpus 2 changes the processes and the half-epoch steps
    const two = await cli('train', '--backend', 'llamafactory', '--arm', 'baseline', '--gpus', '2', '--train', join(dir, 'rows.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'runs', 'two'), '--dry-run', '--cache', join(dir, 'cache'));
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toMatch(/NPROC_PER_NODE=2 NNODES=1 FORCE_TORCHRUN=1 llamafactory-cli/);
    expect(two.stdout).toContain('2 GPU process(es)');
    expect((await cli('train', '--arm', 'baseline', '--gpus', 'two', '--train', join(dir, 'rows.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'runs', 'bad'), '--dry-run')).stderr).toMatch(/config-invalid\]: --gpus: "two" is not an integer/);
    // ms-swift: no checkpoint symlink, the arm's dropout, NaN logged
    const swift = await cli('train', '--backend', 'swift', '--arm', 'lora-r16-a32-ocr', '--train', join(dir, 'rows.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'runs', 'swift'), '--dry-run', '--cache', join(dir, 'cache'));
    expect(swift.code, swift.stderr).toBe(0);
    expect(swift.stdout).not.toContain('create_checkpoint_symlink');
    expect(swift.stdout).toMatch(/NPROC_PER_NODE=1 .*swift sft .*--lora_rank 16 --lora_alpha 32 --lora_dropout 0 .*--logging_nan_inf_filter false/);
  }, 120_000);

  it('runs the baseline on the local executor with the fake trainer, then status, logs and predict', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-trainrun-'));
    const tools = await installFakeTools(dir);
    vi.stubEnv('PATH', tools.env['PATH']);
    const rows = JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8')).slice(0, 16);
    await writeFile(join(dir, 'rows.json'), JSON.stringify(rows));
    const run = join(dir, 'runs', 'baseline');
    const r = await cli('train', '--arm', 'baseline', '--train', join(dir, 'rows.json'), '--images', join(MIRE, 'images'), '--out', run);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/succeeded: 14 checkpoints \(epochs 0\.5, 1, 1\.5/);
    expect((await cli('train', 'status', run)).stdout).toMatch(/local job \d+: succeeded, exit 0/);
    expect((await cli('train', 'logs', run)).stdout).toContain('Training completed');
    const metrics = (await readFile(join(run, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.some((m) => m.name === 'loss')).toBe(true);
    const fake = await startFakeOpenAI({ answer: (req, i) => ({ text: i === 0 && req.text.includes('Picture') ? '退款页面' : '说不清' }) });
    try {
      const p = await cli('predict', '--endpoint', fake.url, '--model', 'ckpt-14', '--in', join(dir, 'rows.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'pred'));
      expect(p.code).toBe(2);
      expect(p.stdout).toMatch(/answers matched no label/);
      expect((await readFile(join(dir, 'pred', 'submission.csv'), 'utf8')).split('\n')[0]).toBe('id,predict');
    } finally {
      await fake.close();
    }
  }, 120_000);
});
