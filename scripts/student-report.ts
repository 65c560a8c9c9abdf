// Renders benchmarks/results/student-nested-cv.md from the JSON of scripts/student-nested-cv.ts and
// scripts/sklearn-baselines.ts (one file per task each):
//   npx tsx scripts/student-report.ts [--dir benchmarks/results/student]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { dir: { type: 'string', default: 'benchmarks/results/student' }, out: { type: 'string', default: 'benchmarks/results/student-nested-cv.md' } } });
type Ci = [number, number] | null | undefined;
interface Nested {
  task: string;
  rows: number;
  k: number;
  innerK: number;
  seconds: number;
  date: string;
  nested: { weightedF1: number; ci95: Ci; folds: Array<{ fold: number; chosen: string; outerF1: number }> };
  shipped: { chosen: string; innerScores: Record<string, number> };
  sameFold: Record<string, { f1: number; ci95: Ci }>;
}
interface Sk {
  sklearn: string;
  models: Record<string, { weightedF1: number; ci95: Ci; chosen: Array<Record<string, unknown>>; seconds: number }>;
}
const read = <T>(f: string) => JSON.parse(readFileSync(join(values.dir!, f), 'utf8')) as T;
const tasks = ['scene', 'intent'] as const;
const nested = Object.fromEntries(tasks.map((t) => [t, read<Nested>(`nested.${t}.json`)])) as Record<(typeof tasks)[number], Nested>;
const sk = Object.fromEntries(tasks.map((t) => [t, read<Sk>(`sklearn.${t}.json`)])) as Record<(typeof tasks)[number], Sk>;
const pct = (x: number) => (100 * x).toFixed(2);
const ci = (c: Ci) => (c ? `[${pct(c[0])}, ${pct(c[1])}]` : '');
const avg = (nested.scene.nested.weightedF1 + nested.intent.nested.weightedF1) / 2;

const out: string[] = [];
out.push('## The traditional baseline under nested CV (issue 16)', '');
out.push(
  `\`npx tsx scripts/student-nested-cv.ts --task scene|intent\` and \`npx tsx scripts/sklearn-baselines.ts --task scene|intent\` on ${nested.scene.date.slice(0, 10)} (2 cores):`,
  `the CPU student alone on the ${nested.scene.rows + nested.intent.rows} official rows (OCR attached by \`llm-ir ocr dataset\`, the e-commerce lexicon on),`,
  `${nested.scene.k} outer stratified folds per task (seed 0); every choice (feature blocks and their weights, min_df, C) made by a`,
  `${nested.scene.innerK}-fold inner CV on the outer training rows only; the outer fold scored by the model refitted with the chosen`,
  'configuration. Weighted F1 x 100 of the pooled outer predictions, 1,000-resample bootstrap intervals. Candidates and every',
  `score: \`benchmarks/student-grid.json\`, \`benchmarks/results/student/\`. Time: scene ${nested.scene.seconds} s, intent ${nested.intent.seconds} s.`,
  '',
);
out.push('| Student, nested CV | Weighted F1 | 95% interval | Chosen per outer fold | Shipped (same selection on all rows) |', '|---|---:|---:|---|---|');
for (const t of tasks) {
  const n = nested[t];
  const counts = new Map<string, number>();
  for (const f of n.nested.folds) counts.set(f.chosen, (counts.get(f.chosen) ?? 0) + 1);
  out.push(`| ${t} (${n.rows} rows) | ${pct(n.nested.weightedF1)} | ${ci(n.nested.ci95)} | ${[...counts].map(([c, m]) => `${c} x${m}`).join('; ')} | ${n.shipped.chosen} |`);
}
out.push(`| **average** | **${pct(avg)}** | | | |`, '');

if (existsSync(join(values.dir!, 'nested.intent.first-grid.json'))) {
  // the intent grid was run twice: the first run showed that the lexicon shares, which both entry
  // points turn on, were not among its candidates; both runs are reported
  const first = read<Nested>('nested.intent.first-grid.json');
  out.push(
    `The intent grid above is the second one run. The first (${Object.keys(first.sameFold).join('; ')}; all with the lexicon shares on, as \`llm-ir run\` and \`llm-ir distill train\` had them) gave **${pct(first.nested.weightedF1)}** ${ci(first.nested.ci95)} under the same nested CV and would have shipped "${first.shipped.chosen}". The lexicon shares turned out to cost intent ${pct(nested.intent.sameFold['dialogue, no lexicon']!.f1 - nested.intent.sameFold['dialogue']!.f1)} points same-fold, so the second grid adds candidates without them. Choosing the grid after seeing the first run's folds is itself a choice made on these rows: read the second number as slightly optimistic.`,
    '',
  );
}
out.push('Every candidate scored on the outer folds directly (same-fold: what a reader would pick by eye, optimistic by construction):', '');
out.push('| Task | Candidate | Weighted F1 | 95% interval | Inner score on all rows |', '|---|---|---:|---:|---:|');
for (const t of tasks) for (const [name, s] of Object.entries(nested[t].sameFold)) out.push(`| ${t} | ${name} | ${pct(s.f1)} | ${ci(s.ci95)} | ${pct(nested[t].shipped.innerScores[name]!)} |`);
out.push('');

out.push(`Side by side with scikit-learn ${sk.scene.sklearn} on the same text blocks and the same outer folds (one char 1-3-gram \`TfidfVectorizer(sublinear_tf=True)\` per block in a \`ColumnTransformer\`, intent's agent block at 0.5; C / alpha and min_df chosen by \`GridSearchCV\` inside each outer training fold, scored with our exact weighted F1):`, '');
out.push('| Model | Scene | Intent | Average |', '|---|---:|---:|---:|');
out.push(`| **llm-ir student** (text + layout + image statistics + lexicon, L-BFGS) | ${pct(nested.scene.nested.weightedF1)} ${ci(nested.scene.nested.ci95)} | ${pct(nested.intent.nested.weightedF1)} ${ci(nested.intent.nested.ci95)} | ${pct(avg)} |`);
for (const m of Object.keys(sk.scene.models)) {
  const s = sk.scene.models[m]!;
  const i = sk.intent.models[m]!;
  out.push(`| scikit-learn TfidfVectorizer + ${m} | ${pct(s.weightedF1)} ${ci(s.ci95)} | ${pct(i.weightedF1)} ${ci(i.ci95)} | ${pct((s.weightedF1 + i.weightedF1) / 2)} |`);
}
out.push('');
const skLr = sk.intent.models['LogisticRegression']!;
const skScene = Math.max(...Object.values(sk.scene.models).map((m) => m.weightedF1));
out.push(
  'Reading it:',
  `- The goal (average >= 72, scene >= 78, intent >= 66 under nested CV) is **not met**: ${pct(avg)}, scene ${pct(nested.scene.nested.weightedF1)}, intent ${pct(nested.intent.nested.weightedF1)}.`,
  `- Scene: the student is ${pct(nested.scene.nested.weightedF1 - skScene)} points above the best scikit-learn pipeline on the same OCR text (its layout, image-statistics and lexicon blocks). Intent: scikit-learn's LogisticRegression is ${pct(skLr.weightedF1 - nested.intent.nested.weightedF1)} points above the student. Its grid is smaller (C x min_df of the customer block; the other blocks keep min_df 1), and the student's own min_df 1 candidate scores ${pct(nested.intent.sameFold['no lexicon, min_df 1']!.f1)} same-fold, but on ~190 training rows the inner CV's differences between candidates are smaller than its noise, so the nested choice wanders (three different choices over five folds). The gap is within both intervals.`,
  '- What was tried for scene before this grid (scikit-learn on the same folds, exploration only): a block of the OCR text at the top of the screen (the page title) -0.1 to -2.5; a bottom block -2.4; a 4 x 4 grid of where text sits +-0; small thumbnails (4 x 4 to 16 x 16 colours) +0.5 to +0.7 beside the text, 33-40 alone, 1-nearest-neighbour on thumbnails 40.1; char 1-4 or 2-4 grams -0.3 to -0.7; averaging LR and calibrated LinearSVC probabilities +0.2. The scene errors that remain are pairs whose screenshots share their text: product detail page read as product head image (9 of 30), coupon page <-> activity page (16), "other images" (recall 0) and external-app screenshots (recall 0.2) spread over every class, logistics list page (recall 0.08). Telling them apart needs what the picture shows; no pretrained vision model can be fetched here, and none is faked.',
  '- The lexicon shares (share of words per e-commerce domain) cost intent 4.5 points (scene has no candidate without them in this grid; the older family ablation below credits them +1.7 on the average); the shipped intent model leaves them out, in both entry points (`llm-ir run --backend cpu` and `llm-ir distill train` use `STUDENT_TASK_DEFAULTS`).',
  '',
);
writeFileSync(values.out!, `${out.join('\n')}\n`);
console.error(`${values.out}: nested average ${pct(avg)}`);
