// A lab's machines share arm results through a self-hosted turbo remote cache: the ducktors
// `turborepo-remote-cache` server (npm, a devDependency) runs on 127.0.0.1 with local storage and a
// token; `npm run demo` on one clone of the repository stores every task there, and on a second
// clone, at another path with an empty local cache, every task is served from it (turbo's run
// summary says "HIT" from "REMOTE") and nothing is computed: its artifact cache stays empty.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneWorkspace, root } from './workspace-clone.ts';

const TOKEN = 'lab-token';
let work: string;
let server: ChildProcess;
let api: string;

/** A clone of the workspace at `<work>/<name>`. */
const clone = (name: string) => cloneWorkspace(join(work, name));

/** `npm run demo -- --summarize` in a clone, with the remote cache configured by environment. */
function demo(dir: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npm', ['run', 'demo', '--silent', '--', '--summarize'], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { PATH: process.env.PATH ?? '', HOME: dir, DOTENV_CONFIG_QUIET: 'true', TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', OMP_THREAD_LIMIT: '1', TURBO_API: api, TURBO_TOKEN: TOKEN, TURBO_TEAM: 'llm-ir-lab' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'llm-ir-remote-cache-'));
  server = spawn(process.execPath, [join(root, 'node_modules', '.bin', 'turborepo-remote-cache')], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', TURBO_TOKEN: TOKEN, STORAGE_PROVIDER: 'local', STORAGE_PATH: join(work, 'store'), STORAGE_PATH_USE_TMP_FOLDER: 'false', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  api = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the remote cache server did not start:\n${log}`)), 30_000);
    server.stdout!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    });
    server.on('exit', (code) => fail(new Error(`the remote cache server exited (${code}):\n${log}`)));
  });
});
afterAll(() => {
  server?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('turbo remote cache (self-hosted turborepo-remote-cache on 127.0.0.1)', () => {
  it('a second clone with an empty local cache gets every demo task from the remote cache', async () => {
    const status = await fetch(`${api}/v8/artifacts/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await status.json()).toEqual(expect.objectContaining({ status: 'enabled' }));
    // another token, no artifact
    expect((await fetch(`${api}/v8/artifacts/0123456789abcdef?slug=llm-ir-lab`, { headers: { authorization: 'Bearer another' } })).status).toBe(401);

    const a = clone('lab-machine-a');
    const first = demo(a);
    expect(first.code, first.stderr).toBe(0);
    const summary = /turbo: (\d+) cacheable tasks, (\d+) from cache \((\d+) remote, (\d+) local\)/;
    const [, tasks, fromCache] = summary.exec(first.stderr)!.map(Number);
    // every task turbo plans for the demo but check-data (8 arms, the grid, the report, the package builds)
    const planned = (JSON.parse(execFileSync(join(root, 'node_modules', '.bin', 'turbo'), ['run', 'ablation', '--filter=@llm-ir-app/ablation', '--dry=json'], { cwd: a, encoding: 'utf8', maxBuffer: 64 << 20, env: { PATH: process.env.PATH ?? '', HOME: a, TURBO_TELEMETRY_DISABLED: '1' } })) as { tasks: { taskId: string }[] }).tasks;
    expect(tasks).toBe(planned.filter((t) => !t.taskId.endsWith('#check-data')).length);
    expect(tasks).toBeGreaterThan(9);
    expect(fromCache).toBe(0);
    // every task's outputs are on the server (local storage: one file per task hash, under the team)
    const stored = readdirSync(join(work, 'store'), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    expect(stored.length).toBe(tasks);

    const b = clone('lab-machine-b');
    const second = demo(b);
    expect(second.code, second.stderr).toBe(0);
    const [, tasksB, fromCacheB, remoteB] = summary.exec(second.stderr)!.map(Number);
    expect(tasksB).toBe(tasks);
    expect(fromCacheB).toBe(tasks);
    expect(remoteB).toBe(tasks);
    // the same table, and nothing computed on machine b: its artifact cache holds only the demo split
    const table = (out: string) => out.split('\n').filter((l) => l.startsWith('|'));
    expect(table(first.stdout).length).toBeGreaterThan(8);
    expect(table(second.stdout)).toEqual(table(first.stdout));
    // turbo's own count: every task cached but check-data, which runs each time
    expect(second.stdout).toMatch(new RegExp(`Cached:\\s+${tasks} cached, ${tasks! + 1} total`));
    expect(readdirSync(join(b, '.llm-ir-cache'))).toEqual(['demo-split']);
    // a hash that is not the data's is refused before any arm is looked up (check-data, never cached)
    const split = join(b, '.llm-ir-cache', 'demo-split', readdirSync(join(b, '.llm-ir-cache', 'demo-split'))[0]!);
    const images = join(b, 'datasets', 'demo', 'images');
    const wrong = spawnSync(join(root, 'node_modules', '.bin', 'turbo'), ['run', 'ablation', '--filter=@llm-ir-app/ablation', '--summarize'], {
      cwd: b,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: b, TURBO_TELEMETRY_DISABLED: '1', TURBO_API: api, TURBO_TOKEN: TOKEN, TURBO_TEAM: 'llm-ir-lab', LLM_IR_TRAIN: join(split, 'train.json'), LLM_IR_TEST: join(split, 'test.json'), LLM_IR_TRAIN_IMAGES: images, LLM_IR_TEST_IMAGES: images, LLM_IR_SEED: '0', LLM_IR_DATA_HASH: 'f'.repeat(64) },
    });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout + wrong.stderr).toMatch(/LLM_IR_DATA_HASH \(f{64}\) is not the hash of the data/);
    // the package builds may be restored beside it; no arm, grid or report is
    expect(wrong.stdout + wrong.stderr).not.toMatch(/@llm-ir-app\/ablation:(arm:[^:]+|grid|ablation): cache hit/);
    expect(existsSync(join(b, 'apps', 'ablation', 'results', 'report.html'))).toBe(true);
  }, 900_000);
});
