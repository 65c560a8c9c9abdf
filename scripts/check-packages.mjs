// Publishing gate for every package: publint --strict and @arethetypeswrong/cli (ESM-only profile)
// on the packed tarball. Run after `npm run build`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
let failed = 0;
for (const name of readdirSync(`${root}packages`).sort()) {
  const cwd = `${root}packages/${name}`;
  for (const [cmd, args] of [['publint', ['--strict']], ['attw', ['--pack', '--profile', 'esm-only', '--format', 'table-flipped']]]) {
    const r = spawnSync(`${root}node_modules/.bin/${cmd}`, args, { cwd, encoding: 'utf8' });
    const ok = r.status === 0;
    if (!ok) failed++;
    console.error(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${cmd}`);
    if (!ok) console.error(r.stdout, r.stderr);
  }
}
process.exit(failed ? 1 : 0);
