// Runs every examples/*.ts with tsx (from source) as a smoke test; fails if any exits non-zero.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
let failed = 0;
for (const f of readdirSync(`${root}examples`).filter((x) => x.endsWith('.ts')).sort()) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--conditions=@llm-ir/source', '--import', 'tsx', `examples/${f}`], { cwd: root, encoding: 'utf8', env: { ...process.env, DOTENV_CONFIG_QUIET: 'true' } });
  const ok = r.status === 0;
  if (!ok) failed++;
  console.error(`${ok ? 'ok  ' : 'FAIL'} examples/${f} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  if (!ok) console.error(r.stdout.slice(-2000), r.stderr.slice(-2000));
}
process.exit(failed ? 1 : 0);
