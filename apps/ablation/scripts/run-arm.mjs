// Runs one arm (or the factorial grid) of the ablation with the llm-ir CLI on the data named by the
// environment (set by `npm run demo`, or by hand):
//   LLM_IR_TRAIN, LLM_IR_TRAIN_IMAGES, LLM_IR_TEST, LLM_IR_TEST_IMAGES, LLM_IR_SEED (default 0),
//   LLM_IR_DATA_HASH (apps/ablation/scripts/data-hash.mjs of those files: turbo's key for the data,
//   checked by the check-data task that runs before every arm),
//   LLM_IR_CACHE (artifact cache, default <repo>/.llm-ir-cache)
// Results go to results/<arm>/ (the turbo task's outputs).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const need = (k) => {
  const v = process.env[k];
  if (!v) {
    console.error(`${k} is not set: run \`npm run demo\` from the repository root, or set LLM_IR_TRAIN, LLM_IR_TRAIN_IMAGES, LLM_IR_TEST, LLM_IR_TEST_IMAGES and LLM_IR_DATA_HASH`);
    process.exit(2);
  }
  return v;
};
const arm = process.argv[2];
const grid = arm === '--grid';
const out = `${here}results/${grid ? 'grid' : arm}`;
rmSync(out, { recursive: true, force: true });
const args = [
  `${root}apps/cli/bin/llm-ir.js`, 'run',
  ...(grid ? ['--grid'] : ['--arm', arm]),
  '--train', need('LLM_IR_TRAIN'), '--train-images', need('LLM_IR_TRAIN_IMAGES'),
  '--test', need('LLM_IR_TEST'), '--test-images', need('LLM_IR_TEST_IMAGES'),
  '--out', out, '--seed', process.env.LLM_IR_SEED ?? '0', '--cache', process.env.LLM_IR_CACHE ?? `${root}.llm-ir-cache`,
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
