// `npm run demo`: the main job. On the embedded demo dataset (generated on first use, seeded and
// deterministic; see datasets/generate-demo.ts) or on `--data <dir>` (a folder with train.json and
// images/, e.g. ../shared/datasets/www2025-mire): validate, split into train and test (seeded,
// stratified), then run the ablation arms and the factorial grid as turbo tasks (each cached on its
// own) and print the ablation table and the path of report.html.
//   npm run demo
//   npm run demo -- --data ../shared/datasets/www2025-mire
//   npm run demo -- --summarize   (turbo's run summary: which arms came from the local or remote cache)
// With TURBO_API, TURBO_TOKEN and TURBO_TEAM set, arm results are shared through a turbo remote cache
// (README: "Sharing results between machines").
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dataHash } from '../apps/ablation/scripts/data-hash.mjs';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({ options: { data: { type: 'string' }, seed: { type: 'string', default: '0' }, summarize: { type: 'boolean', default: false } } });
const env = { ...process.env, DOTENV_CONFIG_QUIET: 'true', TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
const run = (cmd, args, extra = {}) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...env, ...extra } }).status ?? 1;
const t0 = performance.now();

let data = values.data ? resolve(values.data) : undefined;
if (data === undefined) {
  data = join(root, 'datasets', 'demo');
  const generator = join(root, 'datasets', 'generate-demo.ts');
  const stamp = join(data, '.generator-sha256');
  const want = createHash('sha256').update(readFileSync(generator)).digest('hex');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    console.error('generating the demo dataset (first run only)...');
    if (run(process.execPath, ['--conditions=@llm-ir/source', '--import', 'tsx', generator, '--out', data]) !== 0) process.exit(1);
    writeFileSync(stamp, want);
  }
}
const bin = join(root, 'apps', 'cli', 'bin', 'llm-ir.js');
const images = join(data, 'images');
if (run(process.execPath, [bin, 'data', 'validate', join(data, 'train.json'), '--images', images, '--allow-warnings']) !== 0) {
  console.error('the data has problems (listed above); fix them or run `llm-ir data validate` for details');
  process.exit(1);
}
const split = join(root, '.llm-ir-cache', 'demo-split', createHash('sha256').update(readFileSync(join(data, 'train.json'))).update(`\0seed ${values.seed}`).digest('hex').slice(0, 16));
if (!existsSync(join(split, 'test.json'))) {
  if (run(process.execPath, [bin, 'data', 'split', join(data, 'train.json'), '--out', split, '--test-fraction', '0.3', '--seed', values.seed]) !== 0) process.exit(1);
}
// the arms' turbo key: the data's bytes, not its paths (clones on other machines share cached arms)
const fingerprint = dataHash({ train: join(split, 'train.json'), test: join(split, 'test.json'), trainImages: images, testImages: images });
const dataEnv = { LLM_IR_TRAIN: join(split, 'train.json'), LLM_IR_TEST: join(split, 'test.json'), LLM_IR_TRAIN_IMAGES: images, LLM_IR_TEST_IMAGES: images, LLM_IR_SEED: values.seed, LLM_IR_DATA_HASH: fingerprint };
const turbo = join(root, 'node_modules', '.bin', 'turbo');
const code = run(turbo, ['run', 'ablation', '--filter=@llm-ir-app/ablation', '--output-logs=errors-only', '--log-prefix=none', ...(values.summarize ? ['--summarize'] : [])], dataEnv);
if (code !== 0) process.exit(code);
if (values.summarize) {
  // turbo's run summary (.turbo/runs/<id>.json): where each task's result came from
  const runs = join(root, '.turbo', 'runs');
  const latest = readdirSync(runs).filter((f) => f.endsWith('.json')).map((f) => join(runs, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  // the tasks turbo may cache (not check-data, which runs every time)
  const tasks = JSON.parse(readFileSync(latest, 'utf8')).tasks.filter((t) => t.resolvedTaskDefinition?.cache !== false);
  const hits = tasks.filter((t) => t.cache.status === 'HIT');
  console.error(`turbo: ${tasks.length} cacheable tasks, ${hits.length} from cache (${hits.filter((t) => t.cache.source === 'REMOTE').length} remote, ${hits.filter((t) => t.cache.source === 'LOCAL').length} local); run summary ${latest}`);
}
const results = join(root, 'apps', 'ablation', 'results');
console.log(readFileSync(join(results, 'ablation.md'), 'utf8').replace(/\nreport: .*\n?$/, ''));
console.log(`report: ${join(results, 'report.html')}`);
console.error(`demo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
