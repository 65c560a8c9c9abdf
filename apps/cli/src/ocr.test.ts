import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installFakeTools } from '@llm-ir/trainer-bridge/testing';
import { cli, MIRE, officialSubset } from './__fixtures__/cli.ts';
import { describe, expect, it } from 'vitest';

describe('llm-ir ocr', () => {
  it('prints one JSON object per image, an error object for a bad one, and exits 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-ocrcli-'));
    await writeFile(join(dir, 'broken.jpg'), 'not an image');
    const shot = join(MIRE, 'images', '689968bd-fa60-4fae-b279-811831e9b7be-253-0.jpg');
    const r = await cli('ocr', shot, join(dir, 'broken.jpg'), '--json', '--workers', '1');
    expect(r.code).toBe(2);
    const [good, bad] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(good).toMatchObject({ image: shot, ok: true });
    expect(good.lines.map((l: { text: string }) => l.text).join('')).toContain('立即购买');
    // where the time went, in whole milliseconds per stage of the engine's pipeline
    expect(Object.keys(good.stages)).toContain('recognize-model');
    expect(Object.values(good.stages).every((v) => Number.isInteger(v))).toBe(true);
    expect(bad).toMatchObject({ ok: false, error: { code: 'image-corrupt' } });
  }, 60_000);

  it('OCRs a dataset, records failed images, and reruns from the cache', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-ocrds-'));
    const rows = await officialSubset(dir, (_, i) => i < 6);
    await writeFile(join(dir, 'images', rows[5]!.image[0]!), Buffer.alloc(0)); // one empty image
    const args = ['ocr', 'dataset', '--in', join(dir, 'rows.json'), '--images', join(dir, 'images'), '--out', join(dir, 'ocr.jsonl'), '--cache', join(dir, 'cache'), '--workers', '2'];
    const first = await cli(...args);
    expect(first.code).toBe(2);
    expect(first.stderr).toMatch(/6 rows written .* 0 image\(s\) from the cache; 1 failed/);
    expect(first.stderr).toContain('[image-empty]');
    const errors = (await readFile(join(dir, 'ocr.jsonl.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(errors).toEqual([{ image: rows[5]!.image[0], rows: [rows[5]!.id], code: 'image-empty', message: 'image ' + JSON.stringify(rows[5]!.image[0]) + ': file is empty (0 bytes)' }]);
    const samples = (await readFile(join(dir, 'ocr.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(samples).toHaveLength(6);
    expect(Object.keys(samples[0].ocr)).toHaveLength(1);
    expect(samples[5].ocr).toBeUndefined();
    const firstOutput = await readFile(join(dir, 'ocr.jsonl'), 'utf8');
    const second = await cli(...args);
    expect(second.stderr).toMatch(/from the cache/);
    const cached = Number(/; (\d+) image\(s\) from the cache/.exec(second.stderr)![1]);
    expect(cached).toBe(new Set(rows.slice(0, 5).flatMap((r) => r.image)).size);
    expect(await readFile(join(dir, 'ocr.jsonl'), 'utf8')).toBe(firstOutput);
    const shard = await cli(...args.map((a) => (a.endsWith('ocr.jsonl') ? join(dir, 'shard.jsonl') : a)), '--shard', '1/2');
    expect((await readFile(join(dir, 'shard.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).id)).toEqual([rows[1]!.id, rows[3]!.id, rows[5]!.id]);
    expect(shard.code).toBe(2);
  }, 120_000);

  it('runs as a SLURM array job (fake SLURM): shards merged byte-identical to a local run, a preempted shard resubmitted alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-ocr-slurm-'));
    const rows = await officialSubset(dir, (_, i) => i < 10);
    await writeFile(join(dir, 'images', rows[6]!.image[0]!), Buffer.alloc(0)); // one empty image
    const base = ['ocr', 'dataset', '--in', join(dir, 'rows.json'), '--images', join(dir, 'images'), '--workers', '1'];
    const local = await cli(...base, '--out', join(dir, 'local.jsonl'), '--no-cache');
    expect(local.code).toBe(2);
    const tools = await installFakeTools(dir);
    const saved = { ...process.env };
    Object.assign(process.env, tools.env, { FAKE_SLURM_PENDING_MS: '100', FAKE_SLURM_TASK_FINAL: '1:PREEMPTED' });
    try {
      const slurm = await cli(...base, '--out', join(dir, 'slurm.jsonl'), '--cache', join(dir, 'cache'), '--executor', 'slurm', '--shards', '4');
      expect(slurm.stderr).toMatch(/shard 1\/4: preempted/);
      expect(slurm.stderr).toMatch(/shard 1\/4: pending \[\d+_1\] \(resubmitted, attempt 2\)/);
      expect(slurm.stderr).toMatch(/10 rows written to .* from 4 SLURM array task\(s\) \(1 resubmitted\); 1 failed image/);
      expect(slurm.code).toBe(2);
      expect(await readFile(join(dir, 'slurm.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'local.jsonl'), 'utf8'));
      expect(await readFile(join(dir, 'slurm.jsonl.errors.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'local.jsonl.errors.jsonl'), 'utf8'));
      // each task wrote its own shard, named by its index
      const shard2 = (await readFile(join(dir, 'slurm.jsonl.slurm', 'shard-2.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).id);
      expect(shard2).toEqual([rows[2]!.id, rows[6]!.id]);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }, 180_000);
});
