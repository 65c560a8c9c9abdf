// Distill bench.
// 1. Accuracy: 5-fold stratified CV of the CPU student on the 799 official rows, OCR from the
//    default engine (PaddleOCR, cached), per task weighted F1 and their average, and each feature
//    family's contribution (the full student minus that family) as an ablation table.
// 2. Distillation: labelled part A, unlabelled pool B (its gold hidden), test part; a teacher trained
//    on more data (A + B with gold) labels B; the student trained on A gold + B teacher soft labels
//    against the student trained on A gold alone, over 5 folds.
// 3. Speed: student training time on 800 rows, prediction rows/s; the OpenAI teacher client against
//    the local fake server at concurrency 1, 8 and 32.
// Run: npm run bench -w @llm-ir/distill   (LLM_IR_BENCH_MAXITER, LLM_IR_BENCH_FAMILIES to trade time for detail)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSamples, stratifiedKFold, type Sample } from '@llm-ir/core';
import { openArtifactCache } from '@llm-ir/core/run';
import { scoreChallenge, tableToMarkdown, type Table } from '@llm-ir/eval';
import { createOcrPool, ocrDataset } from '@llm-ir/ocr';
import { ecommerceLexicon } from '@llm-ir/augmentation';
import { createStudent, openaiTeacher, type StudentOptions } from '@llm-ir/distill';
import { type FeatureFamilies } from '@llm-ir/distill/model';
import { startFakeOpenAI } from '@llm-ir/distill/testing';
// @ts-expect-error plain ESM helper without types
import { writeResult, RESULTS_DIR } from '../../../scripts/bench-lib.mjs';

const MIRE = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/', import.meta.url));
const CACHE = fileURLToPath(new URL('../../../.llm-ir-cache/', import.meta.url));
const IMAGES = join(MIRE, 'images');
const FOLDS = 5;

const { samples: raw } = await loadSamples(join(MIRE, 'train.json'));
const pool = await createOcrPool({ engine: 'paddle', workers: 2 });
const t0 = performance.now();
const { samples, errors } = await ocrDataset(raw, { pool, imagesDir: IMAGES, cache: openArtifactCache({ dir: CACHE }) });
await pool.close();
console.error(`OCR: ${samples.length} rows, ${errors.length} failed images, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const lexicon = ecommerceLexicon();
const folds = stratifiedKFold(samples, { k: FOLDS, seed: 13 });
const gold = samples.map((s) => ({ id: s.id, task: s.task, label: s.label! }));

async function crossValidate(options: StudentOptions): Promise<{ scene: number; intent: number; average: number; seconds: number }> {
  const preds: Array<{ id: string; label: string }> = [];
  const start = performance.now();
  for (let f = 0; f < FOLDS; f++) {
    const student = createStudent(options);
    await student.fit(samples.filter((_, i) => folds[i] !== f));
    preds.push(...(await student.predictProba(samples.filter((_, i) => folds[i] === f))));
  }
  const s = scoreChallenge(gold, preds, { resamples: 0 });
  return { scene: s.scene.weightedF1, intent: s.intent.weightedF1, average: s.average, seconds: (performance.now() - start) / 1000 };
}

const MAX_ITER = Number(process.env['LLM_IR_BENCH_MAXITER'] ?? 100);
// the student's own per-task defaults (C, blocks), as `llm-ir run` and `llm-ir distill train` use it
const base: StudentOptions = { features: { imagesDir: IMAGES, lexicon }, maxIter: MAX_ITER };
const families: Array<keyof FeatureFamilies> = (process.env['LLM_IR_BENCH_FAMILIES'] ?? 'agentChars,ocrChars,words,layout,image,lexicon').split(',') as Array<keyof FeatureFamilies>;
const full = await crossValidate(base);
console.error('full', full);
const ablation: Table = { title: `Student feature families, ${FOLDS}-fold CV on 799 official rows (weighted F1 x 100)`, columns: ['Configuration', 'Intent', 'Scene', 'Average', 'Gain of the family'], rows: [['full student', 100 * full.intent, 100 * full.scene, 100 * full.average, null]] };
const gains: Record<string, number> = {};
for (const fam of families) {
  const r = await crossValidate({ ...base, features: { ...base.features, families: { [fam]: false } } });
  gains[fam] = full.average - r.average;
  ablation.rows.push([`without ${fam}`, 100 * r.intent, 100 * r.scene, 100 * r.average, 100 * (full.average - r.average)]);
  console.error(fam, r);
}
const plain = await crossValidate({ features: { families: { words: false, layout: false, image: false, lexicon: false } }, maxIter: MAX_ITER });
ablation.rows.push(['plain char TF-IDF (user, agent, OCR)', 100 * plain.intent, 100 * plain.scene, 100 * plain.average, null]);

// ---- distillation ----
let goldOnly = 0;
let withTeacher = 0;
let teacherScore = 0;
const distillRows: Array<{ fold: number; a: number; ab: number; teacher: number }> = [];
for (let f = 0; f < FOLDS; f++) {
  const test = samples.filter((_, i) => folds[i] === f);
  const rest = samples.filter((_, i) => folds[i] !== f);
  const half = stratifiedKFold(rest, { k: 2, seed: f });
  const A = rest.filter((_, i) => half[i] === 0);
  const B = rest.filter((_, i) => half[i] === 1);
  const teacher = createStudent({ ...base, C: 20 });
  await teacher.fit([...A, ...B]);
  const soft = new Map((await teacher.predictProba(B)).map((p) => [p.id, p.probs!]));
  const s1 = createStudent(base);
  await s1.fit(A);
  const s2 = createStudent({ ...base, alpha: 0.5, temperature: 2 });
  await s2.fitWithSoft([...A, ...B.map(({ label: _l, ...s }) => s as Sample)], soft);
  const g = test.map((s) => ({ id: s.id, task: s.task, label: s.label! }));
  const a = scoreChallenge(g, await s1.predictProba(test), { resamples: 0 }).average;
  const ab = scoreChallenge(g, await s2.predictProba(test), { resamples: 0 }).average;
  const tt = scoreChallenge(g, await teacher.predictProba(test), { resamples: 0 }).average;
  distillRows.push({ fold: f, a, ab, teacher: tt });
  goldOnly += a / FOLDS;
  withTeacher += ab / FOLDS;
  teacherScore += tt / FOLDS;
  console.error('distill fold', f, a, ab, tt);
}

// ---- speed ----
const trainStart = performance.now();
const student = createStudent(base);
await student.fit(samples);
const trainSeconds = (performance.now() - trainStart) / 1000;
const predStart = performance.now();
await student.predictProba(samples);
const predRate = samples.length / ((performance.now() - predStart) / 1000);
const fake = await startFakeOpenAI({ slowMs: 20, script: Array(10_000).fill('slow'), answer: () => ({ text: 'A', tokenProbs: { A: 0.9, B: 0.1 } }) });
const clientRates: Record<number, number> = {};
const probe = samples.slice(0, 64);
for (const c of [1, 8, 32]) {
  const t = openaiTeacher({ baseURL: fake.url, model: 'fake', imagesDir: IMAGES, concurrency: c, backoffMs: 1 });
  const s = performance.now();
  await t.label(probe);
  clientRates[c] = probe.length / ((performance.now() - s) / 1000);
}
await fake.close();

const rows = [
  { name: `CPU student, ${FOLDS}-fold CV, average of the tasks' weighted F1 (x100)`, value: +(100 * full.average).toFixed(2), unit: '', note: `scene ${(100 * full.scene).toFixed(2)}, intent ${(100 * full.intent).toFixed(2)}; plain char TF-IDF ${(100 * plain.average).toFixed(2)} (scene ${(100 * plain.scene).toFixed(2)}, intent ${(100 * plain.intent).toFixed(2)})` },
  ...families.map((f) => ({ name: `feature family ${f}: gain in average weighted F1 (x100)`, value: +(100 * gains[f]!).toFixed(2), unit: 'points' })),
  { name: `distillation over ${FOLDS} folds: student on A gold + B teacher soft labels (x100)`, value: +(100 * withTeacher).toFixed(2), unit: '', reference: 'student on A gold alone', referenceValue: +(100 * goldOnly).toFixed(2), note: `teacher (trained on A+B gold) ${(100 * teacherScore).toFixed(2)}` },
  { name: 'student training on 799 rows (both tasks, features + L-BFGS)', value: +trainSeconds.toFixed(1), unit: 's' },
  { name: 'student prediction throughput', value: Math.round(predRate), unit: 'rows/s' },
  ...[1, 8, 32].map((c) => ({ name: `OpenAI teacher client, local fake server with 20 ms latency, concurrency ${c}`, value: +clientRates[c]!.toFixed(1), unit: 'rows/s' })),
];
writeResult('distill', '@llm-ir/distill', rows, { full, plain, gains, distill: distillRows });
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, 'distill-ablation.md'), tableToMarkdown(ablation));
console.log(tableToMarkdown(ablation));
console.log(JSON.stringify(rows, null, 2));
