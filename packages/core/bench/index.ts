// Core benches: streaming JSONL reader on a generated 1 GB file (against node:readline + JSON.parse),
// and artifact-cache put/get per second (against bare fs.writeFile/readFile of the same bytes).
// Run: npm run bench -w @llm-ir/core   (LLM_IR_BENCH_GB=0.1 for a quick run)
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { readJsonl } from '@llm-ir/core/io';
import { openArtifactCache } from '@llm-ir/core/run';
// @ts-expect-error plain ESM helper without types
import { writeResult } from '../../../scripts/bench-lib.mjs';

const GB = Number(process.env['LLM_IR_BENCH_GB'] ?? '1');

function sampleLine(i: number): string {
  const turns = [
    { role: 'user', text: '<image>', images: [{ path: `${i}-0.jpg` }] },
    { role: 'agent', text: '亲爱的，请问有什么可以帮您？您可以把商品链接发给客服查看哦~/:068~~' },
    { role: 'user', text: `这款商品什么时候补货？我想买${i % 97}件，颜色要黑色的` },
    { role: 'agent', text: '亲爱的，这个还不太确定，如果觉得合适的话，可以先加个收藏，同时也可以浏览下其他款式，看看有没有中意的~'.repeat(1 + (i % 3)) },
  ].map((t) => ({ images: [], ...t }));
  return JSON.stringify({ id: `row-${i}`, task: 'intent', label: '何时上货', turns });
}

async function makeFile(path: string, bytes: number): Promise<{ lines: number; bytes: number }> {
  const out = createWriteStream(path);
  let written = 0;
  let lines = 0;
  let batch = '';
  while (written < bytes) {
    const line = `${sampleLine(lines)}\n`;
    batch += line;
    written += Buffer.byteLength(line);
    lines++;
    if (batch.length > 1 << 20) {
      if (!out.write(batch)) await once(out, 'drain');
      batch = '';
    }
  }
  out.end(batch);
  await once(out, 'finish');
  return { lines, bytes: (await stat(path)).size };
}

async function measure<T>(fn: () => Promise<T>): Promise<{ ms: number; peakRssMiB: number; value: T }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { ms, peakRssMiB: (peak - base) / 2 ** 20, value };
}

const dir = await mkdtemp(join(tmpdir(), 'llm-ir-bench-'));
try {
  const file = join(dir, 'big.jsonl');
  const made = await makeFile(file, GB * 2 ** 30);
  console.error(`generated ${(made.bytes / 2 ** 30).toFixed(2)} GiB, ${made.lines} lines`);

  const ours = await measure(async () => {
    let n = 0;
    let labelled = 0;
    for await (const r of readJsonl<{ label?: string }>(file)) {
      n++;
      if (r.ok && r.value.label) labelled++;
    }
    return { n, labelled };
  });
  const reference = await measure(async () => {
    let n = 0;
    let labelled = 0;
    const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of rl) {
      if (line === '') continue;
      n++;
      if ((JSON.parse(line) as { label?: string }).label) labelled++;
    }
    return { n, labelled };
  });
  if (ours.value.n !== made.lines || reference.value.n !== made.lines) throw new Error('line counts differ');
  const mbps = (ms: number) => made.bytes / 2 ** 20 / (ms / 1000);
  await rm(file);

  // cache: 2,000 artifacts of 4 KiB
  const cache = openArtifactCache({ dir: join(dir, 'cache') });
  const payload = Buffer.alloc(4096, 7);
  const N = 2000;
  const put = await measure(async () => {
    for (let i = 0; i < N; i++) await cache.put({ stage: 'bench', version: 1, inputs: [String(i)] }, payload);
  });
  const get = await measure(async () => {
    for (let i = 0; i < N; i++) await cache.get({ stage: 'bench', version: 1, inputs: [String(i)] });
  });
  const rawPut = await measure(async () => {
    for (let i = 0; i < N; i++) await writeFile(join(dir, `raw-${i}`), payload);
  });
  const rawGet = await measure(async () => {
    for (let i = 0; i < N; i++) await readFile(join(dir, `raw-${i}`));
  });
  const perSec = (ms: number) => N / (ms / 1000);

  const rows = [
    {
      name: `readJsonl, ${(made.bytes / 2 ** 30).toFixed(2)} GiB JSONL (${made.lines} rows), parse every row`,
      value: +mbps(ours.ms).toFixed(1),
      unit: 'MiB/s',
      reference: 'node:readline + JSON.parse',
      referenceValue: +mbps(reference.ms).toFixed(1),
      ratio: +(reference.ms / ours.ms).toFixed(2),
      note: `peak RSS growth ours ${ours.peakRssMiB.toFixed(0)} MiB, reference ${reference.peakRssMiB.toFixed(0)} MiB`,
    },
    {
      name: 'artifact cache put (4 KiB, atomic temp+rename)',
      value: Math.round(perSec(put.ms)),
      unit: 'ops/s',
      reference: 'bare fs.writeFile',
      referenceValue: Math.round(perSec(rawPut.ms)),
      ratio: +(rawPut.ms / put.ms).toFixed(2),
    },
    {
      name: 'artifact cache get (4 KiB, hashed key)',
      value: Math.round(perSec(get.ms)),
      unit: 'ops/s',
      reference: 'bare fs.readFile',
      referenceValue: Math.round(perSec(rawGet.ms)),
      ratio: +(rawGet.ms / get.ms).toFixed(2),
    },
  ];
  const result = writeResult('core', '@llm-ir/core', rows);
  console.log(JSON.stringify(result.rows, null, 2));
} finally {
  await rm(dir, { recursive: true, force: true });
}
