// `npm run demo`: the main job on the embedded default data. Generates the demo dataset on first
// use (seeded, deterministic; see datasets/generate-demo.ts), checks it and summarises it.
//   npm run demo                       # embedded demo data
//   npm run demo -- --data <dir>       # any folder with train.json and images/ (e.g. ../shared/datasets/www2025-mire)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({ options: { data: { type: 'string' } } });
const env = { ...process.env, DOTENV_CONFIG_QUIET: 'true', TURBO_TELEMETRY_DISABLED: '1' };
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env });
  return r.status ?? 1;
};

let data = values.data;
if (data === undefined) {
  data = join(root, 'datasets', 'demo');
  const generator = join(root, 'datasets', 'generate-demo.ts');
  const stamp = join(data, '.generator-sha256');
  const want = createHash('sha256').update(readFileSync(generator)).digest('hex');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    console.error('generating the demo dataset (first run only)...');
    const code = run(process.execPath, ['--conditions=@llm-ir/source', '--import', 'tsx', generator, '--out', data]);
    if (code !== 0) process.exit(code);
    writeFileSync(stamp, want);
  }
}
const bin = join(root, 'apps', 'cli', 'bin', 'llm-ir.js');
const train = join(data, 'train.json');
const images = join(data, 'images');
let code = run(process.execPath, [bin, 'data', 'validate', train, '--images', images]);
code = run(process.execPath, [bin, 'data', 'inspect', train, '--images', images]) || code;
process.exit(code);
