import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openArtifactCache } from './cache.ts';
import { NAMESPACES, needs } from './testing/system.ts';
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

  // Processes on different nodes of a cluster sharing the cache folder on a shared filesystem: each
  // "host" is a process in its own UTS namespace (its own host name) and PID namespace (its own
  // process tree, pids from 1: the hosts' pids coincide, and none can see or signal another's), on
  // this machine's filesystem.
  const ns = needs(NAMESPACES);
  const onHost = (host: string, script: string, args: string[]) => {
    const tsx = new URL('../../../node_modules/.bin/tsx', import.meta.url).pathname;
    // each host has its own /tmp (TMPDIR): the hosts' pids coincide, and tsx names its IPC pipe by pid there
    const tmp = join(script, '..', `tmp-${host}`);
    mkdirSync(tmp, { recursive: true });
    const child = spawn('unshare', ['--uts', '--pid', '--fork', '--mount-proc', 'sh', '-c', `hostname ${host} && exec "$0" "$@"`, tsx, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, TMPDIR: tmp } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return { child, done: new Promise<{ code: number | null; stdout: string; stderr: string }>((ok) => child.on('close', (code) => ok({ code, stdout, stderr }))) };
  };
  const hostWorker = async (dir: string) => {
    const script = join(dir, 'host-worker.mts');
    const cacheModule = new URL('./cache.ts', import.meta.url).pathname;
    // argv: staleLockMs, then keys; computes each key (logging host and pid); on node-a, the key "hang" never ends
    await writeFile(
      script,
      `import { appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { openArtifactCache } from ${JSON.stringify(cacheModule)};
const [stale, ...keys] = process.argv.slice(2);
const cache = openArtifactCache({ dir: ${JSON.stringify(join(dir, 'store'))}, staleLockMs: Number(stale) });
const out = {};
for (const key of keys) {
  out[key] = (await cache.getOrCompute({ stage: 'shared', version: 1, inputs: [key] }, async () => {
    appendFileSync(${JSON.stringify(join(dir, 'computed.log'))}, hostname() + ' ' + process.pid + ' ' + key + '\\n');
    if (key === 'hang' && hostname() === 'node-a') await new Promise(() => setInterval(() => {}, 1000));
    await new Promise((r) => setTimeout(r, 400));
    return key + ' by ' + hostname();
  })).toString();
}
process.stdout.write(JSON.stringify({ host: hostname(), pid: process.pid, out }));
`,
    );
    return script;
  };

  it.skipIf(ns.skip)(`is shared by processes on different hosts (own host names and process trees): each artifact computed once${ns.note}`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-cache-hosts-'));
    const script = await hostWorker(dir);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    // three hosts, each taking the keys in another order, so that they meet on every lock
    const runs = await Promise.all(['node-1', 'node-2', 'node-3'].map((host, i) => onHost(host, script, ['30000', ...keys.slice(2 * i), ...keys.slice(0, 2 * i)]).done));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const results = runs.map((r) => JSON.parse(r.stdout) as { host: string; pid: number; out: Record<string, string> });
    expect(results.map((r) => r.host)).toEqual(['node-1', 'node-2', 'node-3']);
    // separate process trees: the hosts' pids are small numbers of their own namespaces, the same on each
    expect(new Set(results.map((r) => r.pid)).size).toBe(1);
    const log = (await readFile(join(dir, 'computed.log'), 'utf8')).trim().split('\n').map((l) => l.split(' '));
    expect(log.map((l) => l[2]).sort()).toEqual(keys);
    for (const key of keys) expect(new Set(results.map((r) => r.out[key])).size, key).toBe(1);
    expect(new Set(log.map((l) => l[0])).size).toBeGreaterThan(1);
    const left = await readdir(join(dir, 'store', 'shared'), { recursive: true });
    expect(left.filter((f) => f.endsWith('.lock') || f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it.skipIf(ns.skip)(`never takes over a live host's lock, and takes over a dead host's once it is stale${ns.note}`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-cache-dead-host-'));
    const script = await hostWorker(dir);
    const a = onHost('node-a', script, ['1500', 'hang']);
    const lockDir = join(dir, 'store', 'shared');
    const lockOf = async () => (existsSync(lockDir) ? (await readdir(lockDir, { recursive: true })).find((f) => f.endsWith('.lock')) : undefined);
    while (!(await lockOf())) await new Promise((r) => setTimeout(r, 20));
    const holder = JSON.parse(await readFile(join(lockDir, (await lockOf())!), 'utf8')) as { host: string; pid: number };
    expect(holder.host).toBe('node-a');
    // node-b wants the same artifact: node-a is alive (it touches its lock), so node-b waits, well past
    // the stale time, whatever node-a's pid means in node-b's own process tree
    const b = onHost('node-b', script, ['1500', 'hang']);
    await new Promise((r) => setTimeout(r, 4000));
    expect((await readFile(join(dir, 'computed.log'), 'utf8')).trim().split('\n').map((l) => l.split(' ')[0])).toEqual(['node-a']);
    // node-a dies with its whole process tree (SIGKILL: no cleanup, its lock file stays); node-b takes
    // over once nobody has touched the lock for the stale time, and computes it
    process.kill(-a.child.pid!, 'SIGKILL');
    await a.done;
    const killed = Date.now();
    const rb = await b.done;
    expect(rb.code, rb.stderr).toBe(0);
    expect(Date.now() - killed).toBeGreaterThan(1000);
    const result = JSON.parse(rb.stdout) as { host: string; pid: number; out: Record<string, string> };
    expect(result.out['hang']).toBe('hang by node-b');
    // the two hosts' workers had the same pid, each in its own tree
    expect(result.pid).toBe(holder.pid);
    expect(await lockOf()).toBeUndefined();
  }, 60_000);
});
