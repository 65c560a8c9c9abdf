import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startFakeOpenAI } from '@llm-ir/distill/testing';
import { installFakeTools } from '@llm-ir/trainer-bridge/testing';
import { LLAMAFACTORY_KEYS } from '@llm-ir/trainer-bridge';
import { cli, MIRE } from './__fixtures__/cli.ts';
import { describe, expect, it } from 'vitest';

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
    }
  }, 120_000);

  it('runs the baseline on the local executor with the fake trainer, then status, logs and predict', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-trainrun-'));
    const tools = await installFakeTools(dir);
    process.env['PATH'] = tools.env['PATH'];
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
