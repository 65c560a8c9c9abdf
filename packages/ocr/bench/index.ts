// OCR bench.
// Quality: character error rate of each engine on a ground-truth set the bench renders itself
// (Chinese + English UI text in order / logistics / refund page layouts, Noto Sans Hans from npm,
// then blurred, rotated, JPEG-compressed), overall and for Han characters alone.
// Speed: images per second on the shared challenge images for each engine with a pool of 2, against
// the native tesseract CLI run in the same bench (OMP_THREAD_LIMIT=1, one process per core), and a
// warm-cache rerun of the default engine.
// Run: npm run bench -w @llm-ir/ocr   (LLM_IR_BENCH_IMAGES=100 for a quick run)
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { collect } from '@llm-ir/core/io';
import { createRng, openArtifactCache } from '@llm-ir/core/run';
import { createOcrPool, ocrImages, type OcrEngineName } from '@llm-ir/ocr';
import { useCjkFont } from '../../../scripts/cjk-font.mjs';
// @ts-expect-error plain ESM helper without types
import { writeResult } from '../../../scripts/bench-lib.mjs';

const IMAGES = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/images/', import.meta.url));
const LIMIT = Number(process.env['LLM_IR_BENCH_IMAGES'] ?? 0);
const FONT = useCjkFont();

// ---------- ground truth set ----------
const PAGES: Record<string, string[][]> = {
  order: [
    ['订单详情', '交易成功'],
    ['收货人：王**', '138****5678'],
    ['浙江省杭州市西湖区文三路***号'],
    ['商品：夏季纯棉T恤 男款 L码', '¥89.00'],
    ['订单编号：2024091812345678', '复制'],
    ['下单时间：2024-09-18 20:15:33'],
    ['实付款 ¥128.50', '申请售后'],
  ],
  logistics: [
    ['物流详情', '中通快递'],
    ['运单号 ZT7812345690123', '复制'],
    ['【杭州市】快件已到达杭州转运中心'],
    ['【上海市】您的快件已发出，下一站苏州'],
    ['派送中：快递员正在为您派件'],
    ['预计明天送达', '联系快递员'],
  ],
  refund: [
    ['退款详情', '退款成功'],
    ['退款金额 ¥39.90'],
    ['退回至 支付宝余额'],
    ['退款原因：商品与描述不符'],
    ['Refund ID: RF20240918007', 'OK'],
    ['如有疑问请联系平台客服'],
  ],
};

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function renderPage(kind: string, variant: number): Promise<{ image: Buffer; truth: string }> {
  const rows = PAGES[kind]!;
  const rng = createRng(`${kind}-${variant}`);
  const width = 560;
  const height = 120 + rows.length * 72;
  const size = 22 + rng.int(6);
  let y = 70;
  const parts: string[] = [`<rect width="100%" height="100%" fill="#ffffff"/>`, `<rect y="0" width="100%" height="56" fill="#ff5000"/>`];
  for (const [i, row] of rows.entries()) {
    const colour = i === 0 ? '#ffffff' : '#222222';
    const yy = i === 0 ? 38 : (y += 64);
    parts.push(`<text x="24" y="${yy}" font-size="${size}" font-family="${FONT}" fill="${colour}">${escapeXml(row[0]!)}</text>`);
    if (row[1]) parts.push(`<text x="${width - 24}" y="${yy}" text-anchor="end" font-size="${size - 2}" font-family="${FONT}" fill="${i === 0 ? '#ffffff' : '#ff5000'}">${escapeXml(row[1])}</text>`);
  }
  let img = sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`)).flatten({ background: '#fff' });
  const degrade = variant % 4;
  if (degrade === 1) img = img.blur(0.9);
  if (degrade === 2) img = img.rotate(rng.uniform(-3, 3), { background: '#ffffff' });
  const image = await img.jpeg({ quality: degrade === 3 ? 35 : 85 }).toBuffer();
  return { image, truth: rows.flat().join('') };
}

function levenshtein(a: string[], b: string[]): number {
  const prev = new Array(b.length + 1).fill(0).map((_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

const chars = (s: string) => [...s.normalize('NFKC').replace(/\s+/g, '')];
const han = (s: string) => chars(s).filter((c) => /\p{Script=Han}/u.test(c));

// ---------- speed: native tesseract CLI, one process per core ----------
async function nativeCli(files: string[], procs: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: procs }, async () => {
      while (next < files.length) {
        const f = files[next++]!;
        await new Promise<void>((resolve) => {
          const c = spawn('tesseract', [f, 'stdout', '-l', 'chi_sim+eng'], { env: { ...process.env, OMP_THREAD_LIMIT: '1' }, stdio: ['ignore', 'ignore', 'ignore'] });
          c.on('close', () => resolve());
          c.on('error', () => resolve());
        });
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

const rows: Array<Record<string, unknown>> = [];
const gt = await Promise.all(Object.keys(PAGES).flatMap((kind) => [0, 1, 2, 3, 4, 5, 6, 7].map((v) => renderPage(kind, v))));
const engines: OcrEngineName[] = ['paddle', 'tesseract', 'tesseract-cli'];
const quality: Record<string, { cer: number; han: number }> = {};
for (const engine of engines) {
  const pool = await createOcrPool({ engine, workers: 2 });
  let errAll = 0;
  let totAll = 0;
  let errHan = 0;
  let totHan = 0;
  const results = await Promise.all(gt.map((g) => pool.recognize(g.image)));
  results.forEach((r, i) => {
    const t = gt[i]!.truth;
    errAll += levenshtein(chars(r.lines.map((l) => l.text).join('')), chars(t));
    totAll += chars(t).length;
    errHan += levenshtein(han(r.text), han(t));
    totHan += han(t).length;
  });
  await pool.close();
  quality[engine] = { cer: errAll / totAll, han: errHan / totHan };
  console.error(`${engine}: CER ${(100 * errAll / totAll).toFixed(2)}%, Han CER ${(100 * errHan / totHan).toFixed(2)}%`);
}

let files = readdirSync(IMAGES).sort();
if (LIMIT > 0) files = files.slice(0, LIMIT);
const nativeSeconds = await nativeCli(files.map((f) => IMAGES + f), 2);
const nativeRate = files.length / nativeSeconds;
console.error(`native tesseract CLI x2: ${nativeRate.toFixed(2)} img/s`);
const cacheDir = mkdtempSync(join(tmpdir(), 'llm-ir-ocrbench-'));
try {
  for (const engine of engines) {
    const pool = await createOcrPool({ engine, workers: 2 });
    const cache = engine === 'paddle' ? openArtifactCache({ dir: cacheDir }) : undefined;
    const t0 = performance.now();
    const out = await collect(ocrImages(files, { pool, imagesDir: IMAGES, ...(cache ? { cache } : {}) }));
    const seconds = (performance.now() - t0) / 1000;
    const failed = out.filter((r) => !r.ok).length;
    const rate = files.length / seconds;
    console.error(`${engine} x2: ${rate.toFixed(2)} img/s (${failed} failed)`);
    rows.push({
      name: `${engine}: images/s on ${files.length} challenge images (pool of 2); CER on ${gt.length} rendered pages`,
      value: +rate.toFixed(2),
      unit: 'img/s',
      reference: 'native tesseract 5 CLI, OMP_THREAD_LIMIT=1, 2 processes',
      referenceValue: +nativeRate.toFixed(2),
      ratio: +(rate / nativeRate).toFixed(2),
      note: `CER ${(100 * quality[engine]!.cer).toFixed(2)}%, Han-only CER ${(100 * quality[engine]!.han).toFixed(2)}%${failed ? `, ${failed} failed` : ''}`,
    });
    // where an engine's time goes: stage times (wall clock inside recognize) summed over the images OCRed in this run
    const stageSum: Record<string, number> = {};
    for (const r of out) if (r.ok) for (const [k, v] of Object.entries(r.result.stages ?? {})) stageSum[k] = (stageSum[k] ?? 0) + v;
    const engineMs = Object.values(stageSum).reduce((a, b) => a + b, 0);
    // results served from the cache (byte-identical images within the set) carry no stage times
    const ok = out.filter((r) => r.ok && r.result.stages).length;
    const breakdown = Object.entries(stageSum)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${(v / ok).toFixed(1)} ms (${((100 * v) / engineMs).toFixed(1)}%)`)
      .join(', ');
    console.error(`${engine} profile per image: ${breakdown}`);
    if (ok) rows.push({ name: `${engine}: time per image inside recognize, by stage (wall clock; profile of the run above)`, value: +(engineMs / ok).toFixed(1), unit: 'ms', note: breakdown });
    if (cache) {
      const t1 = performance.now();
      const warm = await collect(ocrImages(files, { pool, imagesDir: IMAGES, cache }));
      const warmSeconds = (performance.now() - t1) / 1000;
      rows.push({
        name: `paddle warm-cache rerun on ${files.length} images (image check + hash + cache read)`,
        value: +(files.length / warmSeconds).toFixed(1),
        unit: 'img/s',
        reference: 'the same run cold',
        referenceValue: +rate.toFixed(2),
        ratio: +(seconds / warmSeconds).toFixed(1),
        note: `${warm.filter((r) => r.ok && r.cached).length} of ${files.length} from the cache`,
      });
    }
    await pool.close();
  }
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}
const result = writeResult('ocr', '@llm-ir/ocr', rows, { quality });
console.log(JSON.stringify(result.rows, null, 2));
