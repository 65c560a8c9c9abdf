// K-fold cross-validation of every arm through `llm-ir run` (CPU backend): splits the data into k
// stratified, lineage-aware folds (`llm-ir data split --k`), runs each arm of apps/ablation/arms and
// each cell of the factorial grid on every fold (train on k-1 folds, predict the held-out one; test
// labels used for scoring only), pools the held-out predictions so every row is predicted once, and
// writes Table 1 / Table 2 shapes, per-fold means, component effects with bootstrap intervals, and a
// report. Arms with the same switches run once. A killed run resumes: finished arm-folds are kept.
// With --nested (on by default with the grid), the configuration of the `full` arm is also chosen by
// nested CV among the OCR grid cells: for each held-out fold f, every candidate is scored by an inner
// CV over the other k-1 folds (trained without f and g, scored on g), the best is taken, and fold f is
// scored by that candidate's ordinary run (trained on every fold but f). One inner run trained without
// {f, g} serves both (f, g) and (g, f): k(k-1)/2 inner runs per candidate.
// --arms a,b runs only those configurations (arm names of apps/ablation/arms or grid cells such as
// grid-noocr-augment; no grid effects, no nested choice). --executor slurm submits every
// (configuration, fold) run not yet finished as one task of a SLURM array job (scripts/cv-task.mjs runs
// task i), follows it, resubmits a failed, preempted or killed task alone, and pools the report when
// all are done; a rerun (after the driver was killed) follows the same array. A run counts as finished
// when its run.json says succeeded (a partial run, rows or images skipped, does not). The nodes must see this
// checkout, the data, --out and --cache on a shared filesystem. --rationales <jsonl> gives every run
// the LLM rationales of its training rows as extra student rows (`llm-ir run --rationales`; finished
// runs are not redone for it: use a new --out).
//   npm run cv -- --data ../shared/datasets/www2025-mire [--k 5] [--jobs 2] [--out runs/cv] [--seed 0] [--no-nested] [--arms a,b] [--rationales <jsonl>]
//   npm run cv -- --data ... --executor slurm [--partition p] [--time 1:00:00] [--cpus-per-task 2] [--max-running N] [--retries 2]
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { estimateEffects, loadGold, loadPredictions, scoreChallenge, table1, table2, tableToMarkdown, toRunSummary, writeReport, type CheckpointScore, type FactorialRun, type RunResult } from '@llm-ir/eval';
import type { PredictedRow } from '@llm-ir/eval';
import { LlmIrError } from '@llm-ir/core';
import { writeFileAtomic } from '@llm-ir/core/io';
import { armFactors, loadArm, runSlurmArray, type ArmConfig } from '@llm-ir/trainer-bridge';
import { gridArms } from '../apps/cli/src/commands/run.ts';
// finished: `llm-ir run` recorded it as succeeded (a partial run, with rows or images skipped, is not)
import { runFinished as finished } from './cv-finished.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const { values } = parseArgs({ options: { data: { type: 'string' }, k: { type: 'string', default: '5' }, jobs: { type: 'string', default: '2' }, out: { type: 'string', default: 'runs/cv' }, seed: { type: 'string', default: '0' }, 'no-grid': { type: 'boolean', default: false }, 'no-nested': { type: 'boolean', default: false }, cache: { type: 'string', default: join(root, '.llm-ir-cache') }, arms: { type: 'string' }, executor: { type: 'string', default: 'local' }, partition: { type: 'string' }, time: { type: 'string' }, 'cpus-per-task': { type: 'string' }, 'max-running': { type: 'string' }, retries: { type: 'string', default: '2' }, rationales: { type: 'string' } } });
const usage = 'usage: npm run cv -- --data <dir with train.json and images/> [--k 5] [--jobs 2] [--out runs/cv] [--seed 0] [--no-grid] [--no-nested] [--arms a,b] [--rationales <jsonl>] [--executor local|slurm [--partition p] [--time t] [--cpus-per-task n] [--max-running n] [--retries 2]]';
if (!values.data || !['local', 'slurm'].includes(values.executor!)) {
  console.error(values.data ? `--executor ${values.executor}: expected local or slurm\n${usage}` : usage);
  process.exit(2);
}
const data = resolve(values.data);
const out = resolve(values.out!);
// counts: whole numbers (k >= 2, jobs and the SLURM ones >= 1, retries >= 0)
const count = (name: keyof typeof values, min: number): number | undefined => {
  const text = values[name] as string | undefined;
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} ${text}: expected a whole number >= ${min}\n${usage}`);
    process.exit(2);
  }
  return n;
};
const k = count('k', 2)!;
const parallel = count('jobs', 1)!;
const retries = count('retries', 0)!;
const maxRunning = count('max-running', 1);
const cpusPerTask = count('cpus-per-task', 1);
const seed = values.seed!;
const bin = join(root, 'apps', 'cli', 'bin', 'llm-ir.js');
const images = join(data, 'images');
const t0 = performance.now();

// 1. folds
const folds = join(out, 'folds');
if (!existsSync(join(folds, `fold-${k - 1}`, 'test.json'))) {
  const r = spawnSync(process.execPath, [bin, 'data', 'split', join(data, 'train.json'), '--out', folds, '--k', String(k), '--seed', seed], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// 2. arms: the checked-in ones and the grid cells, each distinct configuration once
const checkedIn = await Promise.all((await readdir(join(root, 'apps', 'ablation', 'arms'))).filter((f) => f.endsWith('.json') && f !== 'arm.schema.json').sort().map((f) => loadArm(join(root, 'apps', 'ablation', 'arms', f))));
// --arms: only these configurations (checked-in arms or grid cells, by name), as named arms
const cells = gridArms();
const byName = new Map([...checkedIn, ...cells].map((a) => [a.name, a]));
const picked = values.arms?.split(',').map((n) => n.trim()).filter(Boolean);
const unknown = picked?.filter((n) => !byName.has(n)) ?? [];
if (unknown.length || picked?.length === 0) {
  console.error(`--arms: ${unknown.length ? `no arm or grid cell named ${unknown.join(', ')}` : 'no name given'}; arms: ${checkedIn.map((a) => a.name).join(', ')}; grid cells: ${cells.map((a) => a.name).join(', ')}`);
  process.exit(2);
}
const named = picked ? picked.map((n) => byName.get(n)!) : checkedIn;
const grid = values['no-grid'] || picked ? [] : cells;
const keyOf = (a: ArmConfig) => JSON.stringify({ ocr: a.ocr, augment: a.augment?.factor ?? 1, rag: a.rag ?? null, distill: a.distill ?? null, student: a.student ?? null });
const configs = new Map<string, { arm: ArmConfig; names: string[] }>();
for (const a of [...grid, ...named]) {
  const key = keyOf(a);
  const c = configs.get(key);
  if (c) c.names.push(a.name);
  else configs.set(key, { arm: a, names: [a.name] });
}
const slug = (name: string) => name.replace(/^\+/, 'plus-');
// files the runs read (arm files, the SLURM task list) are replaced only when their text changes, and
// then atomically: on a rerun, array tasks of the previous driver may be reading them
const writeIfChanged = async (path: string, text: string) => {
  if ((await readFile(path, 'utf8').catch(() => undefined)) !== text) await writeFileAtomic(path, text);
};
await mkdir(join(out, 'arms'), { recursive: true });
const jobs: Array<{ fold: number; arm: ArmConfig; dir: string; file: string; split?: string }> = [];
for (const { arm } of configs.values()) {
  const file = join(out, 'arms', `${slug(arm.name)}.json`);
  await writeIfChanged(file, `${JSON.stringify(arm)}\n`);
  for (let f = 0; f < k; f++) jobs.push({ fold: f, arm, dir: join(out, `fold-${f}`, slug(arm.name)), file });
}
// nested selection of `full`: the OCR cells of the grid, each trained on every fold but a pair {f, g}
const nestedCandidates = values['no-nested'] ? [] : grid.filter((a) => a.ocr?.infer);
const pairs: Array<[number, number]> = [];
for (let f = 0; f < k; f++) for (let g = f + 1; g < k; g++) pairs.push([f, g]);
const pairDir = (f: number, g: number) => join(out, 'nested', `folds-${f}-${g}`);
for (const [f, g] of nestedCandidates.length ? pairs : []) {
  if (existsSync(join(pairDir(f, g), 'test.json'))) continue;
  // the rows of the other folds train, folds f and g are predicted (challenge JSON arrays, concatenated)
  const rowsOf = async (i: number) => JSON.parse(await readFile(join(folds, `fold-${i}`, 'test.json'), 'utf8')) as unknown[];
  const train = (await Promise.all(Array.from({ length: k }, (_, i) => i).filter((i) => i !== f && i !== g).map(rowsOf))).flat();
  await mkdir(pairDir(f, g), { recursive: true });
  await writeFile(join(pairDir(f, g), 'train.json'), JSON.stringify(train));
  await writeFile(join(pairDir(f, g), 'test.json'), JSON.stringify([...(await rowsOf(f)), ...(await rowsOf(g))]));
}
const nestedJobs = nestedCandidates.flatMap((arm) => pairs.map(([f, g]) => ({ fold: -1, arm, split: pairDir(f, g), dir: join(pairDir(f, g), slug(arm.name)), file: join(out, 'arms', `${slug(arm.name)}.json`) })));
// students are cached and shared (an arm with rag or distill starts from the student of the same arm
// without them): every fold's plain students first, then distillation, then retrieval, so parallel
// jobs rarely wait on one another's lock
const level = (a: ArmConfig) => (a.rag ? 2 : a.distill ? 1 : 0);
jobs.sort((a, b) => level(a.arm) - level(b.arm) || a.fold - b.fold);

// 3. run every (arm, fold) not already finished: `--jobs` at a time here (the nested inner runs last),
// or as the tasks of one SLURM array job
const all = [...jobs, ...nestedJobs];
const label = (j: (typeof all)[number]) => `${j.split ? `inner ${j.split.split('folds-')[1]}` : `fold ${j.fold}`} ${j.arm.name}`;
const runArgs = (j: (typeof all)[number]) => {
  const fold = j.split ?? join(folds, `fold-${j.fold}`);
  return [bin, 'run', '--arm', j.file, '--train', join(fold, 'train.json'), '--train-images', images, '--test', join(fold, 'test.json'), '--test-images', images, '--out', j.dir, '--seed', seed, '--cache', values.cache!, ...(values.rationales ? ['--rationales', resolve(values.rationales)] : [])];
};
const todo = all.filter((j) => !finished(j.dir));
const total = todo.length;
console.error(`${configs.size} distinct configurations x ${k} folds = ${jobs.length} runs, ${nestedJobs.length} nested inner runs (${all.length - todo.length} already done)`);
if (todo.length && values.executor === 'slurm') await onSlurm();
else if (todo.length) await locally();

async function locally(): Promise<void> {
  let done = 0;
  let failed = 0;
  async function worker(): Promise<void> {
    for (let j = todo.shift(); j; j = todo.shift()) {
      const started = performance.now();
      const code = await new Promise<number>((ok) => {
        const child = spawn(process.execPath, runArgs(j), { stdio: ['ignore', 'pipe', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
        child.stdout.resume();
        child.on('close', (c) => {
          if (c !== 0) console.error(err);
          ok(c ?? 1);
        });
      });
      done++;
      if (code !== 0) failed++;
      console.error(`[${done}/${total}] ${label(j)}: ${code === 0 ? 'ok' : `FAILED (${code})`} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker));
  if (failed) {
    console.error(`${failed} runs failed (above; a partial run, with rows or images skipped, counts as failed: see its errors.jsonl); rerun the same command to retry them`);
    process.exit(1);
  }
}

/**
 * Every run not yet finished as a task of one SLURM array job: task i runs entry i of
 * <out>/slurm/tasks-<fingerprint>.json (the list of all runs, in a fixed order, so a rerun's indexes
 * name the same runs), and a task that fails or is preempted is resubmitted alone (runSlurmArray).
 */
async function onSlurm(): Promise<void> {
  const runDir = join(out, 'slurm');
  const list = `${JSON.stringify({ tasks: all.map((j) => ({ label: label(j), dir: j.dir, argv: runArgs(j) })) }, null, 1)}\n`;
  // what a task's result depends on: the list, the configurations (arm files) and the folds. The list
  // is named by it, so tasks of an earlier array still queued read the list they were submitted with,
  // and another list is another script (runSlurmArray will not replace a run whose tasks still run)
  const hash = createHash('sha256').update(list);
  for (const { arm } of configs.values()) hash.update(await readFile(join(out, 'arms', `${slug(arm.name)}.json`)));
  for (let f = 0; f < k; f++) hash.update(await readFile(join(folds, `fold-${f}`, 'test.json')));
  const fingerprint = hash.digest('hex');
  const tasksFile = join(runDir, `tasks-${fingerprint.slice(0, 16)}.json`);
  await mkdir(runDir, { recursive: true });
  await writeIfChanged(tasksFile, list);
  const started = performance.now();
  let done = 0;
  const indexes = all.flatMap((j, i) => (todo.includes(j) ? [i] : []));
  const run = await runSlurmArray(
    {
      runDir,
      name: 'llm-ir-cv',
      command: [process.execPath, join(root, 'scripts', 'cv-task.mjs'), tasksFile],
      env: { DOTENV_CONFIG_QUIET: 'true' },
      slurm: { ...(values.partition ? { partition: values.partition } : {}), ...(values.time ? { time: values.time } : {}), ...(cpusPerTask ? { cpusPerTask } : {}) },
    },
    {
      indexes,
      // a run not finished whose task was saved as succeeded (its folder deleted since) runs again
      rerun: indexes,
      retries,
      ...(maxRunning ? { maxRunning } : {}),
      fingerprint,
      onTask: (t) => {
        if (t.status.state === 'succeeded') done++;
        const again = t.jobs.length > 1 && t.status.state === 'pending' ? ` (resubmitted, attempt ${t.jobs.length})` : '';
        console.error(`[${done}/${total}] ${label(all[t.index]!)}: ${t.status.state}${t.status.reason ? ` (${t.status.reason})` : ''} [${t.jobs.at(-1)}]${again}`);
      },
    },
  ).catch((error: unknown) => {
    // sbatch refused, or the folder holds another array whose tasks still run: said plainly
    if (!LlmIrError.isInstance(error)) throw error;
    console.error(`${error.message}`);
    process.exit(1);
  });
  // a task that SLURM saw succeed has a finished run (cv-task.mjs exits as `llm-ir run` did); checked anyway
  const failed = run.tasks.filter((t) => t.status.state !== 'succeeded' || !finished(all[t.index]!.dir));
  if (failed.length) {
    for (const t of failed) console.error(`${label(all[t.index]!)} did not succeed after ${t.jobs.length} attempt(s): ${t.status.state === 'succeeded' ? `no succeeded run in ${all[t.index]!.dir}` : `${t.status.state}${t.status.reason ? ` (${t.status.reason})` : ''}`}; log: ${join(runDir, `llm-ir-cv-${t.jobs.at(-1)}.out`)}`);
    console.error(`${failed.length} runs failed (above); rerun the same command to submit them again (finished runs are kept)`);
    process.exit(1);
  }
  console.error(`${run.tasks.length} runs as SLURM array tasks (${run.tasks.filter((t) => t.jobs.length > 1).length} resubmitted) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

// 4. pool the held-out predictions of each configuration and score them
const { gold } = await loadGold(join(data, 'train.json'));
const pooled = new Map<string, PredictedRow[]>();
const runs: RunResult[] = [];
const perFold: Record<string, CheckpointScore[]> = {};
for (const { arm, names } of configs.values()) {
  const preds: PredictedRow[] = [];
  const scores: CheckpointScore[] = [];
  for (let f = 0; f < k; f++) {
    const p = await loadPredictions(join(out, `fold-${f}`, slug(arm.name), 'predictions.jsonl'));
    preds.push(...p);
    const { gold: g } = await loadGold(join(folds, `fold-${f}`, 'test.json'));
    const s = scoreChallenge(g, p, { resamples: 0 });
    scores.push({ epoch: f, scene: s.scene.weightedF1, intent: s.intent.weightedF1, average: s.average });
  }
  const score = scoreChallenge(gold, preds, { resamples: 1000, seed });
  for (const name of names) {
    pooled.set(name, preds);
    perFold[name] = scores;
    runs.push({ ...toRunSummary(name, score, { factors: armFactors(arm) }), dir: join(out, `fold-0`, slug(arm.name)) });
  }
}
// nested selection of `full`: per held-out fold, the candidate with the best inner score
let nested;
if (nestedCandidates.length) {
  const goldOf = async (i: number) => (await loadGold(join(folds, `fold-${i}`, 'test.json'))).gold;
  const foldGold = await Promise.all(Array.from({ length: k }, (_, i) => goldOf(i)));
  const inPair = new Map<string, PredictedRow[]>();
  for (const a of nestedCandidates) for (const [f, g] of pairs) inPair.set(`${a.name}:${f}-${g}`, await loadPredictions(join(pairDir(f, g), slug(a.name), 'predictions.jsonl')));
  const chosen: Array<{ fold: number; chosen: string; inner: Record<string, number>; outer: number }> = [];
  const outerPreds: PredictedRow[] = [];
  for (let f = 0; f < k; f++) {
    const inner: Record<string, number> = {};
    for (const a of nestedCandidates) {
      // pooled over the inner folds g != f: predictions of the run trained without {f, g}, on g's rows
      const gold = foldGold.filter((_, g) => g !== f).flat();
      const ids = new Set(gold.map((r) => r.id));
      const preds = pairs.filter(([x, y]) => x === f || y === f).flatMap(([x, y]) => inPair.get(`${a.name}:${x}-${y}`)!).filter((p) => ids.has(p.id));
      inner[a.name] = scoreChallenge(gold, preds, { resamples: 0 }).average;
    }
    const best = nestedCandidates.reduce((b, a) => (inner[a.name]! > inner[b.name]! ? a : b));
    const p = await loadPredictions(join(out, `fold-${f}`, slug(best.name), 'predictions.jsonl'));
    outerPreds.push(...p);
    chosen.push({ fold: f, chosen: best.name, inner, outer: scoreChallenge(foldGold[f]!, p, { resamples: 0 }).average });
  }
  // the same selection on all rows (every fold a held-out fold once): what `full` should be
  const all: Record<string, number> = Object.fromEntries(nestedCandidates.map((a) => [a.name, runs.find((r) => r.arm === a.name)!.average]));
  const score = scoreChallenge(gold, outerPreds, { resamples: 1000, seed });
  nested = { candidates: nestedCandidates.map((a) => a.name), folds: chosen, score: { intent: score.intent.weightedF1, scene: score.scene.weightedF1, average: score.average, averageCi95: score.averageCi95, intentCi95: score.intent.ci95, sceneCi95: score.scene.ci95 }, allRows: all, winner: Object.entries(all).sort((a, b) => b[1] - a[1])[0]![0] };
  console.error(`nested selection of full: ${(100 * score.average).toFixed(2)}; choices ${chosen.map((c) => c.chosen).join(', ')}; on all rows: ${nested.winner}`);
}
const namedRuns = named.map((a) => runs.find((r) => r.arm === a.name)!);
const order = ['baseline', 'ocr-train', 'ocr-train-infer', 'lora-r16-a32-ocr', '+augment', '+rag', '+distill', 'full'];
namedRuns.sort((a, b) => (order.indexOf(a.arm) + 100) % 100 - ((order.indexOf(b.arm) + 100) % 100));
// the improvement column's reference: the baseline arm, or the first configuration picked by --arms
const baselineName = namedRuns.some((r) => r.arm === 'baseline') ? 'baseline' : namedRuns[0]!.arm;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
const foldTable = {
  title: `Mean and standard deviation over the ${k} folds (weighted F1 x 100)`,
  columns: ['Configuration', 'Intent', 'Scene', 'Average'],
  rows: namedRuns.map((r) => {
    const s = perFold[r.arm]!;
    const f = (pick: (c: CheckpointScore) => number) => `${(100 * mean(s.map(pick))).toFixed(2)} ± ${(100 * sd(s.map(pick))).toFixed(2)}`;
    return [r.arm, f((c) => c.intent), f((c) => c.scene), f((c) => c.average)];
  }),
};
const foldRuns = namedRuns.map((r) => ({ ...r, checkpoints: perFold[r.arm]!.map((c, i) => ({ ...c, epoch: i })) }));
const t1 = { ...table1(foldRuns), title: 'Scores per configuration and held-out fold (weighted F1 x 100; "Epoch" is the fold)' };
const t2 = { ...table2(namedRuns, { baseline: baselineName }), title: 'Pooled out-of-fold score per configuration and improvement over baseline (x 100; every row predicted once)' };
let effects;
if (grid.length) {
  const factorial: FactorialRun[] = grid.map((a) => {
    const f = armFactors(a);
    return { name: a.name, factors: { ocr: f['ocrTrain']!, augment: f['augment']!, rag: f['rag']!, distill: f['distill']! }, predictions: pooled.get(a.name)! };
  });
  effects = estimateEffects(gold, factorial, { resamples: 500, seed });
}
const ci = (c: [number, number] | null | undefined) => (c ? `[${(100 * c[0]).toFixed(2)}, ${(100 * c[1]).toFixed(2)}]` : '');
const pooledTable = {
  title: 'Pooled out-of-fold headline with its 95% bootstrap interval (x 100)',
  columns: ['Configuration', 'Average', '95% interval'],
  rows: namedRuns.map((r) => [r.arm, (100 * r.average).toFixed(2), ci(r.averageCi95)]),
};
const effectsTable = effects && {
  title: 'Component effects from the 2^4 factorial (pooled out-of-fold, x 100; contrast = mean(on) - mean(off))',
  columns: ['Term', 'Kind', 'Estimate', '95% interval'],
  rows: effects.effects.map((e) => [e.term, e.kind, (100 * e.estimate).toFixed(2), ci(e.ci95)]),
};
const gridTable = grid.length && {
  title: 'Every grid cell (pooled out-of-fold, x 100)',
  columns: ['Cell', 'Intent', 'Scene', 'Average'],
  rows: grid.map((a) => runs.find((r) => r.arm === a.name)!).sort((a, b) => b.average - a.average).map((r) => [r.arm, (100 * r.intent.weightedF1).toFixed(2), (100 * r.scene.weightedF1).toFixed(2), (100 * r.average).toFixed(2)]),
};
const nestedTable = nested && {
  title: `Nested choice of the \`full\` configuration among the ${nested.candidates.length} OCR grid cells (inner CV on the other ${k - 1} folds; x 100)`,
  columns: ['Held-out fold', 'Chosen', 'Inner score of the chosen', 'Held-out average'],
  rows: [...nested.folds.map((c) => [String(c.fold), c.chosen, (100 * c.inner[c.chosen]!).toFixed(2), (100 * c.outer).toFixed(2)]), ['pooled', `intent ${(100 * nested.score.intent).toFixed(2)}, scene ${(100 * nested.score.scene).toFixed(2)}`, '', `${(100 * nested.score.average).toFixed(2)} ${ci(nested.score.averageCi95)}`]],
};
const md = [t2, pooledTable, foldTable, t1, ...(effectsTable ? [effectsTable] : []), ...(gridTable ? [gridTable] : []), ...(nestedTable ? [nestedTable] : [])].map((t) => tableToMarkdown(t)).join('\n');
await writeFile(join(out, 'cv.md'), md);
await writeFile(join(out, 'cv.json'), `${JSON.stringify({ k, seed: Number(seed), rows: gold.length, runs: runs.map(({ dir: _d, ...r }) => ({ ...r, folds: perFold[r.arm] })), effects, nested }, null, 1)}\n`);
await writeReport(join(out, 'report.html'), { title: `llm-ir ${k}-fold cross-validation`, subtitle: `${gold.length} rows, ${configs.size} configurations, CPU backend, pooled out-of-fold predictions`, runs: namedRuns, baseline: baselineName, ...(effects ? { effects } : {}) });
console.log(md);
console.log(`report: ${join(out, 'report.html')}\ntables: ${join(out, 'cv.md')}\nall numbers: ${join(out, 'cv.json')}`);
console.error(`cross-validation finished in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
