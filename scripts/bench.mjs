// `npm run bench`: runs every workspace's `bench` script (each writes benchmarks/results/<name>.json),
// then renders all results into BENCHMARKS.md. Pass workspace names to run only those:
//   npm run bench -- @llm-ir/core
import { spawnSync } from 'node:child_process';

const only = process.argv.slice(2);
const args = ['run', 'bench', '--if-present', ...(only.length ? only.flatMap((w) => ['-w', w]) : ['--workspaces'])];
const env = { ...process.env, DOTENV_CONFIG_QUIET: 'true', TURBO_TELEMETRY_DISABLED: '1', OMP_THREAD_LIMIT: '1' };
const run = spawnSync('npm', args, { stdio: 'inherit', env });
const report = spawnSync(process.execPath, [new URL('./bench-report.mjs', import.meta.url).pathname], { stdio: 'inherit' });
process.exit(run.status || report.status || 0);
