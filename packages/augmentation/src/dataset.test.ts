import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile, copyFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadSamples, type Sample } from '@llm-ir/core';
import { lineageRoots } from '@llm-ir/core/challenge';
import { createRng, openArtifactCache } from '@llm-ir/core/run';
import { beforeAll, describe, expect, it } from 'vitest';
import { augmentDataset, importParaphrases, importRationales, lineageFile, planTargets } from './dataset.ts';
import { augmentImage, IMAGE_OPS } from './image-ops.ts';
import { contactSheet } from './preview.ts';

const MIRE = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/', import.meta.url));
const SHOT = join(MIRE, 'images', '3fc85b30-3ab3-4cad-a2de-324e2ae6a078-1279-0.jpg');
let official: Sample[];
beforeAll(async () => {
  official = (await loadSamples(join(MIRE, 'train.json'))).samples;
});

async function hashDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, prefix: string) => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) await walk(join(d, e.name), `${prefix}${e.name}/`);
      else out[`${prefix}${e.name}`] = createHash('sha256').update(await readFile(join(d, e.name))).digest('hex');
    }
  };
  await walk(dir, '');
  return out;
}

describe('image operations', () => {
  it('each op is deterministic per seed, changes the image, and keeps it decodable', async () => {
    const bytes = await readFile(SHOT);
    const meta = await sharp(bytes).metadata();
    for (const op of IMAGE_OPS) {
      const policy = { kind: 'list' as const, ops: [{ op, magnitude: 8 }] };
      const a = await augmentImage(bytes, policy, createRng(`op-${op}`));
      const b = await augmentImage(bytes, policy, createRng(`op-${op}`));
      const c = await augmentImage(bytes, policy, createRng(`other-${op}`));
      expect(a.data.equals(b.data), op).toBe(true);
      expect(a.applied).toEqual([{ op, params: expect.any(Object) }]);
      if (op !== 'flip') expect(a.data.equals(c.data), op).toBe(false);
      const m = await sharp(a.data).metadata();
      if (['crop', 'rotate', 'color', 'noise', 'blur', 'jpeg', 'scale', 'flip'].includes(op)) expect([m.width, m.height], op).toEqual([meta.width, meta.height]);
      if (op === 'statusbar') expect(m.height).toBeLessThan(meta.height!);
      if (op === 'letterbox') expect(m.width! >= meta.width! && m.height! >= meta.height!).toBe(true);
    }
  }, 60_000);

  it('RandAugment draws n ops, never flip by default', async () => {
    const bytes = await readFile(SHOT);
    for (let s = 0; s < 20; s++) {
      const r = await augmentImage(bytes, { kind: 'randaugment', n: 3, m: 4 }, createRng(s));
      expect(r.applied).toHaveLength(3);
      expect(r.applied.some((a) => a.op === 'flip')).toBe(false);
    }
  }, 60_000);

  it('makes a contact sheet a person can look at', async () => {
    const png = await contactSheet(SHOT, { kind: 'randaugment', n: 2, m: 6 }, { variants: 7, seed: 1 });
    const m = await sharp(png).metadata();
    expect(m.format).toBe('png');
    expect(m.width).toBe(4 * 240);
    expect(m.height).toBeGreaterThan(2 * 400);
  }, 60_000);
});

describe('label targets', () => {
  it('computes factor, median balance and score-weighted targets', () => {
    const t = planTargets(official, { kind: 'balance', to: 'median' });
    expect(t.get('scene/订单详情页面')).toBe(25); // 12 rows raised to the median of the 23 scene labels' counts
    expect(t.get('scene/商品分类选项')).toBe(31); // above the median: unchanged
    expect(t.get('intent/反馈用后症状')).toBe(10); // the intent median
    expect(planTargets(official, { kind: 'factor', factor: 3 }).get('intent/气泡')).toBe(30);
    const scored = planTargets(official, { kind: 'scores', scores: { 气泡: 0.2, 商品材质: 1 }, maxFactor: 3 });
    expect(scored.get('intent/气泡')).toBe(26);
    expect(scored.get('intent/商品材质')).toBe(11);
  });
});

describe('augmentDataset', () => {
  async function smallSet() {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-aug-'));
    const rows = [...official.filter((s) => s.task === 'scene').slice(0, 6), ...official.filter((s) => s.task === 'intent' && s.turns.some((t) => t.images.length)).slice(0, 6)];
    await mkdir(join(dir, 'images'));
    for (const r of rows) for (const t of r.turns) for (const i of t.images) await copyFile(join(MIRE, 'images', i.path), join(dir, 'images', i.path));
    return { dir, rows };
  }

  it('is byte-identical for the same seed, writes lineage and images, and balances labels', async () => {
    const { dir, rows } = await smallSet();
    const run = (out: string) => augmentDataset(rows, { imagesDir: join(dir, 'images'), outDir: join(dir, out), targets: { kind: 'factor', factor: 3 }, seed: 11, concurrency: 3 });
    const a = await run('a');
    const b = await run('b');
    expect(await hashDir(join(dir, 'a'))).toEqual(await hashDir(join(dir, 'b')));
    expect(a.created).toBe(24);
    expect(a.skipped).toEqual([]);
    const json = JSON.parse(await readFile(a.file, 'utf8'));
    expect(json).toHaveLength(36);
    // the lineage is on disk, not only in memory: the samples JSONL beside train.json reads back with it
    const onDisk = await loadSamples(lineageFile(a.file));
    expect(onDisk.errors).toEqual([]);
    expect(onDisk.samples).toEqual(a.samples);
    const made = onDisk.samples.filter((s) => s.parentId);
    expect(made).toHaveLength(24);
    expect(new Set(lineageRoots(onDisk.samples))).toEqual(new Set(rows.map((r) => r.id)));
    for (const s of made) {
      const parent = rows.find((r) => r.id === s.parentId)!;
      expect(s.label).toBe(parent.label);
      expect(s.id).toMatch(new RegExp(`^${parent.id}#aug[01]$`));
      for (const img of s.turns.flatMap((t) => t.images)) expect((await sharp(join(dir, 'a', 'images', img.path)).metadata()).format).toBe('jpeg');
    }
    expect(Object.values(a.perLabel).every((p) => p.after === 3 * p.before)).toBe(true);
    // a different seed gives different images
    const c = await augmentDataset(rows, { imagesDir: join(dir, 'images'), outDir: join(dir, 'c'), targets: { kind: 'factor', factor: 2 }, seed: 12 });
    expect(c.created).toBe(12);
    expect(b.created).toBe(24);
  }, 120_000);

  it('skips a row with a bad source image, records why, and completes the rest', async () => {
    const { dir, rows } = await smallSet();
    const victim = rows[0]!.turns[0]!.images[0]!.path;
    await writeFile(join(dir, 'images', victim), Buffer.alloc(0));
    const r = await augmentDataset(rows, { imagesDir: join(dir, 'images'), outDir: join(dir, 'out'), targets: { kind: 'factor', factor: 2 }, seed: 1 });
    expect(r.created).toBe(11);
    expect(r.skipped.filter((s) => s.code === 'image-empty').map((s) => s.parentId)).toContain(rows[0]!.id);
    // the source row itself is dropped too: its image is not in the output folder
    expect(r.skipped.find((s) => s.id === rows[0]!.id)?.reason).toMatch(/^row dropped/);
    const written = JSON.parse(await readFile(r.file, 'utf8')) as Array<{ id: string; image: string[] }>;
    expect(written).toHaveLength(22);
    for (const row of written) for (const name of row.image) expect(existsSync(join(dir, 'out', 'images', name))).toBe(true);
  }, 60_000);

  it('reuses cached images on a rerun and handles one shard', async () => {
    const { dir, rows } = await smallSet();
    const cache = openArtifactCache({ dir: join(dir, 'cache') });
    const opts = { imagesDir: join(dir, 'images'), targets: { kind: 'factor' as const, factor: 2 }, seed: 4, cache };
    await augmentDataset(rows, { ...opts, outDir: join(dir, 'x') });
    const misses = cache.stats().misses;
    await augmentDataset(rows, { ...opts, outDir: join(dir, 'y') });
    expect(cache.stats().misses).toBe(misses);
    expect(await hashDir(join(dir, 'x'))).toEqual(await hashDir(join(dir, 'y')));
    const shard = await augmentDataset(rows, { ...opts, outDir: join(dir, 'z'), shard: { index: 0, count: 2 } });
    expect(shard.file).toMatch(/train\.shard-0-of-2\.json$/);
    expect(shard.samples.every((s) => s.parentId)).toBe(true);
    expect(shard.created).toBe(6);
  }, 60_000);
});

describe('LLM paraphrases', () => {
  it('skips the gpt-3.5 "paraphrases", which repeat their source rows, and imports real rewrites with lineage, label and images', async () => {
    const file = join(MIRE, 'paraphrases.gpt-3.5.jsonl');
    const r = await importParaphrases(official, file);
    // every line of the shared file is its source dialogue verbatim: importing them would only
    // count 214 rows four times over
    expect(r.samples).toEqual([]);
    expect(r.skipped).toHaveLength(642);
    expect(new Set(r.skipped.map((k) => k.reason))).toEqual(new Set(['identical to the source row']));
    // the same lines with the customer's question rewritten are imported
    const lines = (await readFile(file, 'utf8')).trim().split('\n').slice(0, 6).map((l) => JSON.parse(l) as { id: string; instruction: string; output: string });
    const rewritten = lines.map((l, k) => (k % 2 === 0 ? { ...l, instruction: l.instruction.replace(/(用户: (?!<)[^\n]*)/, '$1（换个说法）') } : l));
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-para-'));
    try {
      await writeFile(join(dir, 'p.jsonl'), rewritten.map((l) => JSON.stringify(l)).join('\n'));
      const p = await importParaphrases(official, join(dir, 'p.jsonl'));
      expect(p.samples).toHaveLength(3);
      expect(p.skipped.map((k) => k.row)).toEqual([1, 3, 5]);
      for (const s of p.samples) {
        const parent = official.find((o) => o.id === s.parentId)!;
        expect(s.label).toBe(parent.label);
        expect(s.turns.flatMap((t) => t.images.map((i) => i.path))).toEqual(parent.turns.flatMap((t) => t.images.map((i) => i.path)));
        expect(s.turns.map((t) => t.text).join('\n')).toContain('（换个说法）');
        expect(s.id).toMatch(/#para[0-2]$/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('LLM rationales', () => {
  it('imports the gpt-4o rationales as one auxiliary customer turn per labelled row, with lineage, and skips what does not fit', async () => {
    const file = join(MIRE, 'rationales.gpt-4o.jsonl');
    const r = await importRationales(official, file);
    expect(r.skipped).toEqual([]);
    expect(r.unmatched).toBe(0);
    expect(r.samples).toHaveLength(716);
    const byId = new Map(official.map((s) => [s.id, s]));
    for (const s of r.samples) {
      const parent = byId.get(s.parentId!)!;
      expect(s.id).toBe(`${parent.id}#rationale`);
      expect([s.task, s.label]).toEqual([parent.task, parent.label]);
      expect(s.turns).toHaveLength(1);
      expect(s.turns[0]!.role).toBe('user');
      expect(s.turns[0]!.images).toEqual([]);
      expect(s.meta).toEqual({ augmentation: { source: 'llm-rationale' } });
    }
    expect(r.samples.filter((s) => s.task === 'intent')).toHaveLength(214);
    // only rows the caller passes bring theirs (a training fold), and bad lines are skipped with a reason
    const train = official.filter((_, i) => i % 2 === 0);
    const trainIds = new Set(train.map((s) => s.id));
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; label: string; reason: string });
    const known = lines.find((l) => trainIds.has(l.id))!;
    const other = official.find((s) => s.task === byId.get(known.id)!.task && s.label !== known.label)!.label;
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-rat-'));
    try {
      await writeFile(
        join(dir, 'r.jsonl'),
        [JSON.stringify(known), JSON.stringify({ ...known, reason: 'again' }), JSON.stringify({ ...known, label: other }), JSON.stringify({ ...known, reason: ' ' }), '{not json', JSON.stringify({ id: 'nope', label: known.label, reason: 'x' }), ...official.filter((_, i) => i % 2 === 1).slice(0, 2).map((s) => JSON.stringify({ id: s.id, label: s.label, reason: 'held out' }))].join('\n'),
      );
      const sub = await importRationales(train, join(dir, 'r.jsonl'));
      expect(sub.samples.map((s) => s.parentId)).toEqual([known.id]);
      expect(sub.skipped.map((k) => [k.row, k.reason])).toEqual([
        [1, 'a second rationale for this row'],
        [2, expect.stringMatching(/^rationale label/)],
        [3, 'empty reason'],
        [4, expect.any(String)],
      ]);
      // the unknown id and the two rows of the other half
      expect(sub.unmatched).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
