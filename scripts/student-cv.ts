// K-fold CV of the CPU student alone (no `llm-ir run` around it), one task, several feature variants:
// the measurement behind the student's per-task default inputs (BENCHMARKS.md, "Student inputs").
// Every variant trains on k-1 folds and predicts the held-out one; the score is the weighted F1 of the
// pooled out-of-fold predictions.
//   llm-ir ocr dataset --in <train.json> --images <images> --out rows.jsonl    (OCR attached)
//   llm-ir data split <train.json> --k 5 --seed 0 --out folds                  (folds/fold-i/test.json)
//   npx tsx scripts/student-cv.ts --rows rows.jsonl --folds folds --images <images> --task intent \
//     --variants '{"default":{},"with OCR":{"families":{"ocrChars":true,"layout":true}}}'
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSamples, type Sample } from '@llm-ir/core';
import { ecommerceLexicon } from '@llm-ir/augmentation';
import { createStudent } from '@llm-ir/distill';
import type { StudentOptions } from '@llm-ir/distill';
import type { FeatureOptions } from '@llm-ir/distill/model';
import { scoreChallenge } from '@llm-ir/eval';

const { values } = parseArgs({ options: { rows: { type: 'string' }, folds: { type: 'string' }, images: { type: 'string' }, task: { type: 'string', default: 'intent' }, lexicon: { type: 'boolean', default: false }, variants: { type: 'string', default: '{"default":{}}' } } });
if (!values.rows || !values.folds) {
  console.error('usage: npx tsx scripts/student-cv.ts --rows <samples.jsonl> --folds <dir of fold-i/test.json> [--images <dir>] [--task intent|scene] [--lexicon] [--variants <json: name -> FeatureOptions>]');
  process.exit(2);
}
const task = values.task as 'intent' | 'scene';
const rows = (await loadSamples(values.rows)).samples.filter((s) => s.task === task);
const folds = await Promise.all(readdirSync(values.folds).filter((d) => d.startsWith('fold-')).sort().map(async (d) => new Set((await loadSamples(join(values.folds!, d, 'test.json'))).samples.map((s) => s.id))));
// a variant is FeatureOptions, or StudentOptions when it has a `features`, `C` or `maxIter` key
const variants = JSON.parse(values.variants!) as Record<string, FeatureOptions | StudentOptions>;
const studentOptions = (v: FeatureOptions | StudentOptions): StudentOptions => ('features' in v || 'C' in v || 'maxIter' in v ? (v as StudentOptions) : { features: v as FeatureOptions });
console.log(`| variant (${task}, ${rows.length} rows, ${folds.length} folds) | weighted F1 | 95% interval | seconds |\n|---|---:|---:|---:|`);
for (const [name, variant] of Object.entries(variants)) {
  const { features, ...rest } = studentOptions(variant);
  const t0 = performance.now();
  const preds = [];
  for (const held of folds) {
    const student = createStudent({ ...rest, features: { ...(values.images ? { imagesDir: values.images } : {}), ...(values.lexicon ? { lexicon: ecommerceLexicon() } : {}), ...features } });
    await student.fit(rows.filter((s: Sample) => !held.has(s.id)));
    preds.push(...(await student.predictProba(rows.filter((s) => held.has(s.id)))));
  }
  const s = scoreChallenge(rows.map((r) => ({ id: r.id, task: r.task, label: r.label! })), preds, { resamples: 1000, seed: 0 })[task];
  const pct = (x: number) => (100 * x).toFixed(2);
  console.log(`| ${name} | ${pct(s.weightedF1)} | ${s.ci95 ? `[${pct(s.ci95[0])}, ${pct(s.ci95[1])}]` : ''} | ${((performance.now() - t0) / 1000).toFixed(1)} |`);
}
