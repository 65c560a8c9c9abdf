import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
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

  it('holds the folder while open: a second writer is refused, a dead holder\'s lock is taken over', async () => {
    const runsDir = await mkdtemp(join(tmpdir(), 'llm-ir-runs-lock-'));
    const first = await createRunRecord({ runsDir, id: 'r', config: { a: 1 }, resume: true });
    const holder = JSON.parse(await readFile(join(first.dir, '.lock'), 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, host: hostname() });
    // another process would see a live pid: simulate one with a live child that holds the lock
    await writeFile(join(first.dir, '.lock'), JSON.stringify({ pid: process.ppid, host: hostname(), since: 'then' }));
    await expect(createRunRecord({ runsDir, id: 'r', config: { a: 1 }, resume: true })).rejects.toMatchObject({ code: 'run-locked', message: expect.stringContaining(`process ${process.ppid}`) });
    // a holder that died (kill -9) leaves its lock behind: a rerun takes it over at once
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(first.dir, '.lock'), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), since: 'then' }));
    const second = await createRunRecord({ runsDir, id: 'r', config: { a: 1 }, resume: true });
    await second.finish('succeeded');
    expect(existsSync(join(first.dir, '.lock'))).toBe(false);
  });

  it('resumes the same configuration as a new attempt, refuses another one, replaces it with force', async () => {
    const runsDir = await mkdtemp(join(tmpdir(), 'llm-ir-runs-rerun-'));
    const open = (config: unknown, more: { force?: boolean; outputs?: string[] } = {}) => createRunRecord({ runsDir, id: 'r', config, inputs: { train: MIRE_TRAIN }, resume: true, ...more });
    const first = await open({ arm: 'a' });
    await first.logMetric({ name: 'average', value: 0.5 });
    await first.logError({ code: 'image-corrupt', message: 'bad' });
    await writeFile(join(first.dir, 'predictions.jsonl'), 'old');
    await first.finish('partial');

    const second = await open({ arm: 'a' }, { outputs: ['predictions.jsonl'] });
    expect(second.info.errorCount).toBe(0);
    expect(second.info.attempts).toEqual([expect.objectContaining({ status: 'partial', errorCount: 1 })]);
    for (const f of ['metrics.jsonl', 'errors.jsonl', 'predictions.jsonl']) expect(existsSync(join(second.dir, f))).toBe(false);
    await second.logMetric({ name: 'average', value: 0.5 });
    await second.finish('succeeded');
    expect((await readFile(join(second.dir, 'metrics.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(1);

    await expect(open({ arm: 'b' })).rejects.toMatchObject({ code: 'run-exists', message: expect.stringMatching(/another configuration \(configuration changed\).*--force/) });
    expect((await readRunInfo(second.dir)).status).toBe('succeeded');
    const otherTrain = join(runsDir, 'other.json');
    await writeFile(otherTrain, '[]');
    await expect(createRunRecord({ runsDir, id: 'r', config: { arm: 'a' }, inputs: { train: otherTrain }, resume: true })).rejects.toMatchObject({ code: 'run-exists', message: expect.stringContaining('input train changed') });
    const third = await open({ arm: 'b' }, { force: true });
    expect(third.info.replaced).toMatchObject({ configHash: second.info.configHash, status: 'succeeded' });
    expect(third.info.attempts).toBeUndefined();
    await third.finish('succeeded');
  });
});
