// When a run of `npm run cv` counts as finished, for the driver (scripts/cv.ts) and its SLURM array
// tasks (scripts/cv-task.mjs) alike: `llm-ir run` wrote its summary and recorded the run as succeeded
// (a partial run, with rows or images skipped, is not finished).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @param {string} dir the run's `--out` folder
 * @returns {boolean}
 */
export function runFinished(dir) {
  return existsSync(join(dir, 'summary.json')) && existsSync(join(dir, 'run.json')) && JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).status === 'succeeded';
}
