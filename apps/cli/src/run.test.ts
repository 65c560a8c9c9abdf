import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, MIRE } from './__fixtures__/cli.ts';
import { describe, expect, it } from 'vitest';

import { gridArms, loadArm } from './commands/run.ts';

const IMAGES = join(MIRE, 'images');

describe('llm-ir run', () => {
  it('runs an arm end to end, and test labels change no prediction (they are used for scoring only)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-run-'));
    const rows = JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8'));
    const intent = rows.filter((r: { instruction: string }) => !r.instruction.startsWith('Picture'));
    const train = [...rows.filter((r: { instruction: string }) => r.instruction.startsWith('Picture')).slice(0, 60), ...intent.slice(0, 150)];
    const test = intent.slice(150, 190);
    await writeFile(join(dir, 'train.json'), JSON.stringify(train));
    await writeFile(join(dir, 'test.json'), JSON.stringify(test));
    await writeFile(join(dir, 'test-blank.json'), JSON.stringify(test.map((r: Record<string, unknown>) => ({ ...r, output: '' }))));
    const base = ['run', '--arm', 'distill', '--train', join(dir, 'train.json'), '--train-images', IMAGES, '--test-images', IMAGES, '--cache', join(dir, 'cache')];
    const labelled = await cli(...base, '--test', join(dir, 'test.json'), '--out', join(dir, 'a'));
    expect(labelled.code, labelled.stderr).toBe(0);
    expect(labelled.stdout).toMatch(/\+distill\s+average \d+\.\d\d/);
    const blank = await cli(...base, '--test', join(dir, 'test-blank.json'), '--out', join(dir, 'b'));
    expect(blank.code, blank.stderr).toBe(0);
    expect(await readFile(join(dir, 'b', 'predictions.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'a', 'predictions.jsonl'), 'utf8'));
    const csv = (await readFile(join(dir, 'b', 'submission.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('id,predict');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(test.map((r: { id: string }) => r.id));
    const summary = JSON.parse(await readFile(join(dir, 'a', 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ arm: '+distill', factors: { ocrTrain: true, distill: true } });
    expect(await readFile(join(dir, 'a', 'report.html'), 'utf8')).toContain('<svg');
    expect(JSON.parse(await readFile(join(dir, 'a', 'run.json'), 'utf8')).status).toBe('succeeded');
  }, 240_000);

  it('has the checked-in arms and a 16-run factorial grid', async () => {
    for (const a of ['baseline', 'ocr-train', 'ocr-train-infer', 'lora-r16-a32-ocr', 'augment', 'rag', 'distill', 'full']) expect((await loadArm(a)).ocr).toBeDefined();
    const grid = gridArms();
    expect(grid).toHaveLength(16);
    expect(new Set(grid.map((g) => g.name)).size).toBe(16);
    await expect(loadArm('nope')).rejects.toMatchObject({ code: 'config-invalid' });
  });
});
