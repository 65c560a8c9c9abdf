import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { cli, MIRE, officialSubset } from './__fixtures__/cli.ts';
import { describe, expect, it } from 'vitest';

describe('llm-ir augment', () => {
  it('balances labels to the median and writes train.json with lineage and images', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-augcli-'));
    let pictures = 0; // the first 30 scene rows
    const rows = await officialSubset(dir, (r) => r.instruction.startsWith('Picture') && pictures++ < 30, 'in.json');
    const r = await cli('augment', '--in', join(dir, 'in.json'), '--images', join(dir, 'images'), '--out', join(dir, 'out'), '--balance', 'max', '--ops', 'crop,color', '--seed', '5', '--no-cache');
    expect(r.code).toBe(0);
    const out = JSON.parse(await readFile(join(dir, 'out', 'train.json'), 'utf8'));
    const counts = new Map<string, number>();
    for (const x of out) counts.set(x.output, (counts.get(x.output) ?? 0) + 1);
    expect(new Set(counts.values()).size).toBe(1);
    const added = out.filter((x: { id: string }) => x.id.includes('#aug'));
    expect(added.length).toBeGreaterThan(0);
    for (const a of added.slice(0, 5)) expect((await sharp(join(dir, 'out', 'images', a.image[0])).metadata()).format).toBe('jpeg');
    expect(r.stdout).toMatch(/rows \(\d+ new\) written/);
    // the lineage the challenge format cannot hold, in the samples file the command names
    expect(r.stdout).toContain(`lineage (each variant's parentId): ${join(dir, 'out', 'train.samples.jsonl')}`);
    const lineage = (await readFile(join(dir, 'out', 'train.samples.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; parentId?: string });
    const parents = new Set(rows.map((x) => x.id));
    expect(lineage.filter((x) => x.id.includes('#aug')).every((x) => x.parentId !== undefined && parents.has(x.parentId))).toBe(true);
  }, 60_000);

  it('writes a contact sheet and refuses an unknown op', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-sheet-'));
    const img = join(MIRE, 'images', '689968bd-fa60-4fae-b279-811831e9b7be-253-0.jpg');
    expect((await cli('augment', 'preview', '--image', img, '--out', join(dir, 's.png'), '--variants', '3')).code).toBe(0);
    expect((await sharp(join(dir, 's.png')).metadata()).format).toBe('png');
    const bad = await cli('augment', 'preview', '--image', img, '--out', join(dir, 't.png'), '--ops', 'explode');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown image op "explode"');
  }, 60_000);
});
