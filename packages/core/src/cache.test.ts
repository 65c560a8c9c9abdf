import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openArtifactCache } from './cache.ts';
import type { LlmIrError } from './errors.ts';

const pexec = promisify(execFile);

describe('artifact cache', () => {
  it('keys on stage, version, options (any key order) and input bytes', async () => {
    const cache = openArtifactCache({ dir: await mkdtemp(join(tmpdir(), 'llm-ir-cache-')) });
    const base = { stage: 'ocr', version: 1, options: { a: 1, b: [1, 2] }, inputs: [new Uint8Array([1, 2, 3])] };
    expect(cache.key(base)).toBe(cache.key({ ...base, options: { b: [1, 2], a: 1 } }));
    expect(cache.key(base)).not.toBe(cache.key({ ...base, version: 2 }));
    expect(cache.key(base)).not.toBe(cache.key({ ...base, stage: 'aug' }));
    expect(cache.key(base)).not.toBe(cache.key({ ...base, options: { a: 2, b: [1, 2] } }));
    expect(cache.key(base)).not.toBe(cache.key({ ...base, inputs: [new Uint8Array([1, 2, 4])] }));
  });

  it('computes once, then hits; counts hits, misses and writes', async () => {
    const cache = openArtifactCache({ dir: await mkdtemp(join(tmpdir(), 'llm-ir-cache-')) });
    let calls = 0;
    const parts = { stage: 'embed', version: 'v1', inputs: ['abc'] };
    const compute = async () => {
      calls++;
      return { vector: [0.5, 0.25] };
    };
    const [a, b] = await Promise.all([cache.getOrComputeJson(parts, compute), cache.getOrComputeJson(parts, compute)]);
    expect(a).toEqual({ vector: [0.5, 0.25] });
    expect(b).toEqual(a);
    expect(await cache.getOrComputeJson(parts, compute)).toEqual(a);
    expect(calls).toBe(1);
    expect(cache.stats()).toEqual({ hits: 2, misses: 1, writes: 1, corrupt: 0 });
    expect(await cache.get({ ...parts, inputs: ['other'] })).toBeUndefined();
    expect(cache.stats().misses).toBe(2);
    // a second handle on the same folder (a later run) hits without computing
    const again = openArtifactCache({ dir: cache.dir });
    expect(await again.getOrComputeJson(parts, compute)).toEqual(a);
    expect(again.stats()).toEqual({ hits: 1, misses: 0, writes: 0, corrupt: 0 });
  });

  it('discards a damaged entry (a truncated file), names it, and computes it again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-cache-torn-'));
    const told: LlmIrError[] = [];
    const cache = openArtifactCache({ dir, onCorrupt: (e) => told.push(e) });
    const parts = { stage: 'ocr', version: 'v1', inputs: ['img'] };
    const value = { lines: [{ text: '订单详情', box: [0, 0, 1, 1] }] };
    await cache.getOrComputeJson(parts, async () => value);
    const file = join(dir, 'ocr', cache.key(parts).slice(0, 2), cache.key(parts));
    const whole = await readFile(file);
    await writeFile(file, whole.subarray(0, 17));
    let calls = 0;
    const again = openArtifactCache({ dir, onCorrupt: (e) => told.push(e) });
    expect(await again.getOrComputeJson(parts, async () => (calls++, value))).toEqual(value);
    expect(calls).toBe(1);
    expect(again.stats()).toMatchObject({ corrupt: 1, misses: 1, writes: 1 });
    expect(told.map((e) => [e.code, e.file])).toEqual([['cache-corrupt', file]]);
    expect(await readFile(file)).toEqual(whole);
    // the repaired entry is served from then on
    expect(await openArtifactCache({ dir }).getOrComputeJson(parts, async () => (calls++, value))).toEqual(value);
    expect(calls).toBe(1);
  });

  it('is safe when two processes write the same keys at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-cache-'));
    const script = join(dir, 'writer.mts');
    const cacheModule = new URL('./cache.ts', import.meta.url).pathname;
    await writeFile(
      script,
      `import { openArtifactCache } from ${JSON.stringify(cacheModule)};
const cache = openArtifactCache({ dir: ${JSON.stringify(join(dir, 'store'))} });
const big = 'x'.repeat(1 << 20);
await Promise.all(Array.from({ length: 40 }, (_, i) => cache.put({ stage: 's', version: 1, inputs: [String(i % 10)] }, big + (i % 10))));
`,
    );
    const tsx = new URL('../../../node_modules/.bin/tsx', import.meta.url).pathname;
    await Promise.all([pexec(tsx, [script]), pexec(tsx, [script]), pexec(tsx, [script])]);
    const cache = openArtifactCache({ dir: join(dir, 'store') });
    for (let i = 0; i < 10; i++) {
      const data = await cache.get({ stage: 's', version: 1, inputs: [String(i)] });
      expect(data?.length).toBe((1 << 20) + 1);
      expect(data?.toString('utf8').endsWith(String(i))).toBe(true);
    }
    const shards = await readdir(join(dir, 'store', 's'));
    const files = (await Promise.all(shards.map((s) => readdir(join(dir, 'store', 's', s))))).flat();
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files).toHaveLength(10);
    expect((await readFile(join(dir, 'store', 's', shards[0]!, (await readdir(join(dir, 'store', 's', shards[0]!)))[0]!))).length).toBe((1 << 20) + 1);
  });

  it('computes an artifact once across processes: the others wait on its lock file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-cache-lock-'));
    const script = join(dir, 'worker.mts');
    const cacheModule = new URL('./cache.ts', import.meta.url).pathname;
    await writeFile(
      script,
      `import { appendFileSync } from 'node:fs';
import { openArtifactCache } from ${JSON.stringify(cacheModule)};
const cache = openArtifactCache({ dir: ${JSON.stringify(join(dir, 'store'))} });
const out = await cache.getOrCompute({ stage: 'slow', version: 1, inputs: ['k'] }, async () => {
  appendFileSync(${JSON.stringify(join(dir, 'computed.log'))}, process.pid + '\\n');
  await new Promise((r) => setTimeout(r, 1500));
  return 'made by ' + process.pid;
});
process.stdout.write(out.toString());
`,
    );
    const tsx = new URL('../../../node_modules/.bin/tsx', import.meta.url).pathname;
    const outs = await Promise.all([pexec(tsx, [script]), pexec(tsx, [script]), pexec(tsx, [script])]);
    expect((await readFile(join(dir, 'computed.log'), 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(new Set(outs.map((o) => o.stdout)).size).toBe(1);
    const left = await readdir(join(dir, 'store', 'slow'), { recursive: true });
    expect(left.filter((f) => f.endsWith('.lock'))).toEqual([]);
  }, 60_000);

  it('takes over a lock left by a killed process once it is stale, and keeps a live holder\'s lock', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-cache-stale-'));
    const cache = openArtifactCache({ dir, staleLockMs: 300 });
    const parts = { stage: 's', version: 1, inputs: ['x'] };
    const lock = `${join(dir, 's', cache.key(parts).slice(0, 2), cache.key(parts))}.lock`;
    await mkdir(join(dir, 's', cache.key(parts).slice(0, 2)), { recursive: true });
    await writeFile(lock, 'killed holder');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    expect((await cache.getOrCompute(parts, async () => 'fresh')).toString()).toBe('fresh');
    expect(existsSync(lock)).toBe(false);

    // a live holder (another cache instance, i.e. another process) keeps its lock fresh: the waiter gets its result
    const other = openArtifactCache({ dir, staleLockMs: 300 });
    const parts2 = { stage: 's', version: 1, inputs: ['y'] };
    let computed = 0;
    const slow = other.getOrCompute(parts2, async () => {
      computed++;
      await new Promise((r) => setTimeout(r, 1200));
      return 'from the holder';
    });
    // the waiter starts once the holder has its lock (no time guessed)
    const lock2 = `${join(dir, 's', cache.key(parts2).slice(0, 2), cache.key(parts2))}.lock`;
    while (!existsSync(lock2)) await new Promise((r) => setTimeout(r, 10));
    const waited = cache.getOrCompute(parts2, async () => {
      computed++;
      return 'from the waiter';
    });
    expect((await waited).toString()).toBe('from the holder');
    expect((await slow).toString()).toBe('from the holder');
    expect(computed).toBe(1);
  });
});
