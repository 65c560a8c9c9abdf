import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIRE_TRAIN } from './__fixtures__/shared-data.ts';
import { sha256File } from './hash.ts';
import { createRunRecord, readRunInfo } from './run-record.ts';

describe('run records', () => {
  it('writes run.json, metrics.jsonl, errors.jsonl and summary.json', async () => {
    const runsDir = await mkdtemp(join(tmpdir(), 'llm-ir-runs-'));
    const config = { arm: 'baseline', ocr: { train: false } };
    const run = await createRunRecord({ runsDir, config, resolvedConfig: { ...config, seed: 0 }, inputs: { train: MIRE_TRAIN }, packages: { '@llm-ir/eval': '0.1.0' } });
    expect(run.id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    const started = await readRunInfo(run.dir);
    expect(started.status).toBe('running');
    expect(started.inputs['train']!.sha256).toBe(await sha256File(MIRE_TRAIN));
    expect(started.packages['@llm-ir/core']).toBe('0.1.0');
    expect(started.packages['@llm-ir/eval']).toBe('0.1.0');
    expect(started.configHash).toMatch(/^[0-9a-f]{64}$/);
    await run.logMetric({ name: 'loss', value: 1.5, step: 1, epoch: 0.5 });
    await run.logMetric({ name: 'loss', value: 0.9, step: 2, epoch: 1 });
    await run.logError({ code: 'image-corrupt', message: 'bad', file: 'x.json', row: 3 });
    await run.writeSummary({ average: 0.8 });
    const ended = await run.finish('partial', { why: 'one row failed' });
    expect(ended).toMatchObject({ status: 'partial', errorCount: 1, notes: { why: 'one row failed' } });
    const metrics = (await readFile(join(run.dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.value)).toEqual([1.5, 0.9]);
    expect(metrics[0].time).toMatch(/^\d{4}-/);
    expect(JSON.parse(await readFile(join(run.dir, 'summary.json'), 'utf8'))).toEqual({ average: 0.8 });
    expect((await readRunInfo(run.dir)).endedAt).toBeDefined();
  });

  it('hashes equal configs equally whatever their key order', async () => {
    const runsDir = await mkdtemp(join(tmpdir(), 'llm-ir-runs-'));
    const a = await createRunRecord({ runsDir, id: 'a', config: { x: 1, y: { b: 2, a: 1 } } });
    const b = await createRunRecord({ runsDir, id: 'b', config: { y: { a: 1, b: 2 }, x: 1 } });
    expect(a.info.configHash).toBe(b.info.configHash);
    await expect(createRunRecord({ runsDir, id: '../evil', config: {} })).rejects.toThrow(/run id/);
  });
});
