// Combines the arms' results into results/ablation.md (Table 2 shape) and results/report.html
// (tables, the baseline-to-best chart, and component effects from the factorial grid).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const order = ['baseline', 'ocr-train', 'ocr-train-infer', 'lora-r16-a32-ocr', 'augment', 'rag', 'distill', 'full'];
const dirs = order.map((a) => `${here}results/${a}`).filter((d) => existsSync(`${d}/summary.json`));
const gridDir = `${here}results/grid`;
const grid = existsSync(gridDir) ? readdirSync(gridDir).filter((d) => existsSync(`${gridDir}/${d}/summary.json`)).map((d) => `${gridDir}/${d}`) : [];
const args = [`${root}apps/cli/bin/llm-ir.js`, 'report', ...dirs, '--out', `${here}results/report.html`, '--baseline', 'baseline', '--resamples', '300'];
if (grid.length && process.env.LLM_IR_TEST) args.push('--gold', process.env.LLM_IR_TEST, '--effects-runs', ...grid);
const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.exit(r.status ?? 1);
}
writeFileSync(`${here}results/ablation.md`, r.stdout);
process.stdout.write(r.stdout);
