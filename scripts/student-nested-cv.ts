// Nested cross-validation of the CPU student (the project's traditional baseline), one task per run:
// every choice (feature blocks, their weights, min_df, C) is made by an inner k-fold CV on the outer
// training folds only, and the outer fold is scored by the model refitted with that choice. The score
// is therefore the score of the selection *procedure*; the same procedure on all rows gives the
// configuration the student ships with (STUDENT_TASK_DEFAULTS in packages/distill/src/student.ts).
//   llm-ir ocr dataset --in <train.json> --images <images> --out rows.jsonl       (OCR attached)
//   npx tsx scripts/student-nested-cv.ts --rows rows.jsonl --images <images> --task scene \
//     --grid benchmarks/student-grid.json --out benchmarks/results/student-nested-cv.scene.json
// Candidates are a task's `base` settings with each candidate's changes merged on top (families and
// block weights key by key), written in full so a change of the student's defaults does not change
// what a candidate means. Ties go to the candidate listed first.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSamples, stratifiedKFold, type Sample, type Task } from '@llm-ir/core';
import { ecommerceLexicon, importRationales } from '@llm-ir/augmentation';
import { createStudent, type StudentTaskOptions } from '@llm-ir/distill';
import { scoreChallenge } from '@llm-ir/eval';
import type { Prediction } from '@llm-ir/core';

const { values } = parseArgs({
  options: {
    rows: { type: 'string' },
    images: { type: 'string' },
    task: { type: 'string' },
    grid: { type: 'string', default: 'benchmarks/student-grid.json' },
    k: { type: 'string', default: '5' },
    inner: { type: 'string', default: '4' },
    seed: { type: 'string', default: '0' },
    lexicon: { type: 'boolean', default: true },
    rationales: { type: 'string' },
    out: { type: 'string' },
  },
});
if (!values.rows || (values.task !== 'scene' && values.task !== 'intent')) {
  console.error('usage: npx tsx scripts/student-nested-cv.ts --rows <samples.jsonl> --task scene|intent [--images <dir>] [--grid <json>] [--k 5] [--inner 4] [--seed 0] [--no-lexicon] [--rationales <jsonl>] [--out <json>]');
  process.exit(2);
}
const task: Task = values.task;
const k = Number(values.k);
const innerK = Number(values.inner);
const seed = Number(values.seed);
// `rationales: true`: the training rows' LLM rationales (`--rationales`, importRationales) are
// trained on as extra rows; only rows of the training side of a split bring theirs
type Settings = Required<Pick<StudentTaskOptions, 'C'>> & { features: NonNullable<StudentTaskOptions['features']>; rationales?: boolean };
const grid = JSON.parse(readFileSync(values.grid!, 'utf8')) as Record<Task, { base: Settings; candidates: Record<string, Partial<Settings>> }>;
const merge = (base: Settings, change: Partial<Settings>): Settings => ({
  C: change.C ?? base.C,
  ...((change.rationales ?? base.rationales) ? { rationales: true } : {}),
  features: { ...base.features, ...change.features, families: { ...base.features.families, ...change.features?.families }, blockWeights: { ...base.features.blockWeights, ...change.features?.blockWeights } },
});
const candidates = Object.entries(grid[task].candidates).map(([name, change]) => ({ name, settings: merge(grid[task].base, change) }));
const rows = (await loadSamples(values.rows)).samples.filter((s) => s.task === task && s.label !== undefined);
const rationales = values.rationales ? await importRationales(rows, values.rationales) : undefined;
if (candidates.some((c) => c.settings.rationales) && !rationales) {
  console.error('a candidate trains on rationales: pass --rationales <jsonl>');
  process.exit(2);
}
const shared = { ...(values.images ? { imagesDir: values.images } : {}), ...(values.lexicon ? { lexicon: ecommerceLexicon() } : {}) };

async function fitPredict(settings: Settings, train: readonly Sample[], test: readonly Sample[]): Promise<Prediction[]> {
  // the training side's rationale rows always go in; the student's own `rationales` setting, said
  // explicitly so a task's default (intent on, scene off) cannot decide over the candidate, keeps or drops them
  const student = createStudent({ features: shared, tasks: { [task]: { ...settings, rationales: settings.rationales === true } } });
  const ids = new Set(train.map((r) => r.id));
  await student.fit([...train, ...(rationales?.samples.filter((r) => ids.has(r.parentId!)) ?? [])]);
  return student.predictProba(test);
}
const gold = (rs: readonly Sample[]) => rs.map((r) => ({ id: r.id, task: r.task, label: r.label! }));
const f1 = (rs: readonly Sample[], preds: readonly Prediction[]) => scoreChallenge(gold(rs), preds)[task].weightedF1;

/** Inner CV on `train`: each candidate's pooled out-of-fold weighted F1; the best (first of ties). */
async function select(train: readonly Sample[], innerSeed: string) {
  const folds = stratifiedKFold(train, { k: innerK, seed: innerSeed });
  const scores: Record<string, number> = {};
  for (const c of candidates) {
    const t = performance.now();
    const preds: Prediction[] = [];
    for (let f = 0; f < innerK; f++) preds.push(...(await fitPredict(c.settings, train.filter((_, i) => folds[i] !== f), train.filter((_, i) => folds[i] === f))));
    scores[c.name] = f1(train, preds);
    process.stderr.write(`  ${innerSeed} ${c.name}: ${(100 * scores[c.name]!).toFixed(2)} (${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
  }
  const best = candidates.reduce((a, c) => (scores[c.name]! > scores[a.name]! ? c : a));
  return { best, scores };
}

const t0 = performance.now();
const outer = stratifiedKFold(rows, { k, seed });
const outerPreds: Prediction[] = [];
const folds = [];
for (let f = 0; f < k; f++) {
  const train = rows.filter((_, i) => outer[i] !== f);
  const test = rows.filter((_, i) => outer[i] === f);
  const { best, scores } = await select(train, `${seed}:inner:${f}`);
  const preds = await fitPredict(best.settings, train, test);
  outerPreds.push(...preds);
  folds.push({ fold: f, chosen: best.name, innerScores: scores, outerF1: f1(test, preds) });
  process.stderr.write(`fold ${f}: ${best.name} -> ${(100 * folds.at(-1)!.outerF1).toFixed(2)}\n`);
}
const nested = scoreChallenge(gold(rows), outerPreds, { resamples: 1000, seed })[task];
// the same procedure on all rows: the configuration the student ships with
const final = await select(rows, `${seed}:all`);
// every candidate scored on the outer folds directly (same-fold, optimistic): what the selection saw
const flat: Record<string, { f1: number; ci95: [number, number] | null | undefined }> = {};
for (const c of candidates) {
  const preds: Prediction[] = [];
  for (let f = 0; f < k; f++) preds.push(...(await fitPredict(c.settings, rows.filter((_, i) => outer[i] !== f), rows.filter((_, i) => outer[i] === f))));
  const s = scoreChallenge(gold(rows), preds, { resamples: 1000, seed })[task];
  flat[c.name] = { f1: s.weightedF1, ci95: s.ci95 };
}
const result = {
  task,
  rows: rows.length,
  k,
  innerK,
  seed,
  lexicon: values.lexicon,
  ...(values.rationales ? { rationales: { file: basename(values.rationales), rows: rationales!.samples.length } } : {}),
  date: new Date().toISOString(),
  seconds: Math.round((performance.now() - t0) / 1000),
  candidates: Object.fromEntries(candidates.map((c) => [c.name, c.settings])),
  nested: { weightedF1: nested.weightedF1, ci95: nested.ci95, folds },
  shipped: { chosen: final.best.name, innerScores: final.scores },
  sameFold: flat,
};
const json = JSON.stringify(result, null, 2);
if (values.out) writeFileSync(values.out, `${json}\n`);
else console.log(json);
console.error(`${task}: nested ${(100 * nested.weightedF1).toFixed(2)} [${nested.ci95?.map((x) => (100 * x).toFixed(2)).join(', ')}]; ships ${final.best.name}; ${result.seconds} s`);
