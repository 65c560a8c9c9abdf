// Augmentation bench: image throughput on the shared challenge images against bare sharp doing the
// same operations with the same parameters in the same run, and text operations per second (zh, en).
// Run: npm run bench -w @llm-ir/augmentation   (LLM_IR_BENCH_IMAGES=100 for a quick run)
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadSamples } from '@llm-ir/core';
import { createRng } from '@llm-ir/core/run';
import { augmentImage, augmentText, DEFAULT_TEXT_POLICY } from '@llm-ir/augmentation';
// @ts-expect-error plain ESM helper without types
import { writeResult } from '../../../scripts/bench-lib.mjs';

const MIRE = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/', import.meta.url));
const LIMIT = Number(process.env['LLM_IR_BENCH_IMAGES'] ?? 0);
let files = readdirSync(`${MIRE}images`).sort();
if (LIMIT > 0) files = files.slice(0, LIMIT);
const inputs = files.map((f) => readFileSync(`${MIRE}images/${f}`));
const policy = { kind: 'list' as const, ops: [{ op: 'crop' as const }, { op: 'color' as const }, { op: 'blur' as const }, { op: 'scale' as const }] };
const concurrency = 4;

async function pool<T>(items: T[], work: (x: T, i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) { const i = next++; await work(items[i]!, i); }
  }));
  return (performance.now() - t0) / 1000;
}

// ours first, recording the parameters it drew, so the reference does exactly the same work
const params: Array<Record<string, Record<string, number | string>>> = [];
const oursSeconds = await pool(inputs, async (buf, i) => {
  const r = await augmentImage(buf, policy, createRng(`bench-${i}`));
  params[i] = Object.fromEntries(r.applied.map((a) => [a.op, a.params]));
});
const bareSeconds = await pool(inputs, async (buf, i) => {
  const p = params[i]!;
  const meta = await sharp(buf).metadata();
  const W = meta.autoOrient?.width ?? meta.width!;
  const H = meta.autoOrient?.height ?? meta.height!;
  const c = p['crop']!;
  const col = p['color']!;
  const f = Number(p['scale']!['factor']);
  // the same operations as one sharp chain per step that sharp cannot fuse (resize happens once per pipeline)
  const cropped = await sharp(buf).autoOrient().flatten({ background: '#ffffff' })
    .extract({ left: Number(c['left']), top: Number(c['top']), width: Number(c['width']), height: Number(c['height']) })
    .resize({ width: W, height: H, fit: 'fill' })
    .modulate({ brightness: Number(col['brightness']), saturation: Number(col['saturation']), hue: Number(col['hue']) })
    .linear(Number(col['contrast']), 128 * (1 - Number(col['contrast'])))
    .blur(Number(p['blur']!['sigma']))
    .raw().toBuffer({ resolveWithObject: true });
  const small = await sharp(cropped.data, { raw: cropped.info }).resize({ width: Math.max(8, Math.round(W * f)), height: Math.max(8, Math.round(H * f)), fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  await sharp(small.data, { raw: small.info }).resize({ width: W, height: H, fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
});

// text ops per second
const { samples } = await loadSamples(`${MIRE}train.json`);
const zh = samples.filter((s) => s.task === 'intent').flatMap((s) => s.turns.map((t) => t.text)).filter((t) => t.length > 4);
const enRows = readFileSync(`${MIRE}../banking77/train.csv`, 'utf8').split('\n').slice(1, 2001).map((l) => l.replace(/,[a-z_]+$/, '').replace(/^"|"$/g, ''));
async function textRate(texts: string[]): Promise<number> {
  await augmentText(texts[0]!, DEFAULT_TEXT_POLICY, createRng(0)); // load jieba / WordNet once
  const t0 = performance.now();
  for (const [i, t] of texts.entries()) await augmentText(t, DEFAULT_TEXT_POLICY, createRng(i));
  return texts.length / ((performance.now() - t0) / 1000);
}
const zhRate = await textRate(zh);
const enRate = await textRate(enRows);

const rows = [
  {
    name: `image policy crop+color+blur+scale on ${files.length} challenge images (4 at a time)`,
    value: +(files.length / oursSeconds).toFixed(1),
    unit: 'img/s',
    reference: 'bare sharp: the same operations and parameters, fused into as few pipelines as sharp allows',
    referenceValue: +(files.length / bareSeconds).toFixed(1),
    ratio: +(bareSeconds / oursSeconds).toFixed(2),
  },
  { name: `Chinese text ops (default policy) on ${zh.length} dialogue turns`, value: Math.round(zhRate), unit: 'texts/s', note: 'jieba + lexicon synonyms, EDA, reordering' },
  { name: `English text ops (default policy) on ${enRows.length} Banking77 queries`, value: Math.round(enRate), unit: 'texts/s', note: 'WordNet synonyms with Brill POS filter, EDA' },
];
const result = writeResult('augmentation', '@llm-ir/augmentation', rows);
console.log(JSON.stringify(result.rows, null, 2));
