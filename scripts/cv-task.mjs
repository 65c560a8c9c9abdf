// One task of `npm run cv -- --executor slurm`: runs entry $SLURM_ARRAY_TASK_ID of the task list that
// cv.ts wrote (an `llm-ir run` of one configuration on one fold), unless that run already finished
// (its run.json says succeeded: a task resubmitted after it finished, or a run done before locally);
// it exits as `llm-ir run` does (2 for a partial run: rows or images skipped).
//   node scripts/cv-task.mjs <tasks.json>
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { runFinished } from './cv-finished.mjs';

const [file] = process.argv.slice(2);
const index = process.env.SLURM_ARRAY_TASK_ID;
if (!file || index === undefined) {
  console.error('usage: SLURM_ARRAY_TASK_ID=<i> node scripts/cv-task.mjs <tasks.json> (run by a SLURM array task)');
  process.exit(2);
}
const task = JSON.parse(readFileSync(file, 'utf8')).tasks[Number(index)];
if (!task) {
  console.error(`${file}: no task ${index}`);
  process.exit(2);
}
// finished as cv.ts counts it (a partial run is run again)
if (runFinished(task.dir)) {
  console.error(`${task.label}: already finished (${task.dir})`);
  process.exit(0);
}
console.error(`${task.label}: ${task.argv.join(' ')}`);
const r = spawnSync(process.execPath, task.argv, { stdio: 'inherit' });
process.exit(r.status ?? 1);
