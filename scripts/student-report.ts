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
  ngrams?: number[][];
  rationales?: { file: string; rows: number };
  models: Record<string, { weightedF1: number; ci95: Ci; chosen: Array<Record<string, unknown>>; seconds: number }>;
}
const read = <T>(f: string) => JSON.parse(readFileSync(join(values.dir!, f), 'utf8')) as T;
const tasks = ['scene', 'intent'] as const;
const nested = Object.fromEntries(tasks.map((t) => [t, read<Nested>(`nested.${t}.json`)])) as Record<(typeof tasks)[number], Nested>;
const sk = Object.fromEntries(tasks.map((t) => [t, read<Sk>(`sklearn.${t}.json`)])) as Record<(typeof tasks)[number], Sk>;
const pct = (x: number) => (100 * x).toFixed(2);
const ci = (c: Ci) => (c ? `[${pct(c[0])}, ${pct(c[1])}]` : '');
const sign = (x: number) => `${x >= 0 ? '+' : ''}${pct(x)}`;
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
  'Candidates marked "+ rationales" also train on the GPT-4o rationales (`rationales.gpt-4o.jsonl`, written given the gold',
  'label) of the rows on the training side of each split only (outer and inner), as extra rows (`importRationales`).',
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

const sf = (name: string) => nested.intent.sameFold[name]?.f1;
const met = (x: number, goal: number) => `${pct(x)} ${100 * x >= goal ? '>=' : '<'} ${goal}`;
out.push(
  `The goal (average >= 72, scene >= 78, intent >= 66 under nested CV): average ${met(avg, 72)}, scene ${met(nested.scene.nested.weightedF1, 78)}, intent ${met(nested.intent.nested.weightedF1, 66)}.`,
  '',
);
if (existsSync(join(values.dir!, 'nested.intent.first-grid.json')) && existsSync(join(values.dir!, 'nested.intent.second-grid.json'))) {
  // the intent grid was run three times; every run is reported, with what led to the next
  const first = read<Nested>('nested.intent.first-grid.json');
  const second = read<Nested>('nested.intent.second-grid.json');
  const added = Object.keys(nested.intent.sameFold).filter((c) => !(c in second.sameFold));
  const uni = 'no lexicon, char unigrams, min_df 1';
  out.push(
    `The intent grid above is the third one run. The first (${Object.keys(first.sameFold).join('; ')}; all with the lexicon shares on, as \`llm-ir run\` and \`llm-ir distill train\` had them) gave **${pct(first.nested.weightedF1)}** ${ci(first.nested.ci95)} and would have shipped "${first.shipped.chosen}". The lexicon shares turned out to cost intent ${pct(second.sameFold['dialogue, no lexicon']!.f1 - second.sameFold['dialogue']!.f1)} points same-fold, so the second grid added candidates without them: **${pct(second.nested.weightedF1)}** ${ci(second.nested.ci95)}, shipping "${second.shipped.chosen}" (\`nested.intent.second-grid.json\`). The third adds ${added.length} candidates (${added.join('; ')}) after an exploration with scikit-learn on the same outer folds. Choosing a grid after seeing the previous run's folds is itself a choice made on these rows: read the second and third numbers as slightly optimistic.`,
    '',
    `Why character unigrams: on ~190 training rows nearly every character 2- or 3-gram occurs in one or two rows, so the longer n-grams add noise the L2 penalty does not remove (same-fold, min_df 1: 1-3-grams ${pct(sf('no lexicon, min_df 1')!)}, 1-2-grams ${pct(sf('no lexicon, char 1-2-grams, min_df 1')!)}, unigrams ${pct(sf(uni)!)}), and min_df 2 drops the rare characters that carry a question's topic (锈 rust, 褪 fade). The rationales (written by GPT-4o given the gold label; only the training side's) change same-fold ${sign(sf(`${uni}, C 3, + rationales`)! - sf(`${uni}, C 3`)!)} at C 3 and ${sign(sf(`${uni}, + rationales`)! - sf(uni)!)} at C 10, but the inner CV preferred them in every outer fold (inner score on all rows ${pct(nested.intent.shipped.innerScores[`${uni}, C 3, + rationales`]!)} vs ${pct(nested.intent.shipped.innerScores[uni]!)} without).`,
    '',
  );
}
out.push('Every candidate scored on the outer folds directly (same-fold: what a reader would pick by eye, optimistic by construction):', '');
out.push('| Task | Candidate | Weighted F1 | 95% interval | Inner score on all rows |', '|---|---|---:|---:|---:|');
for (const t of tasks) for (const [name, s] of Object.entries(nested[t].sameFold)) out.push(`| ${t} | ${name} | ${pct(s.f1)} | ${ci(s.ci95)} | ${pct(nested[t].shipped.innerScores[name]!)} |`);
out.push('');

const grams = (k: Sk) => (k.ngrams ?? [[1, 3]]).map((n) => `${n[0]}-${n[1]}`).join(' or ');
out.push(
  `Side by side with scikit-learn ${sk.scene.sklearn} on the same text blocks and the same outer folds (one char n-gram \`TfidfVectorizer(sublinear_tf=True)\` per block in a \`ColumnTransformer\`, intent's agent block at 0.5; C / alpha, min_df and the n-gram range (scene ${grams(sk.scene)}, intent ${grams(sk.intent)}) chosen by \`GridSearchCV\` inside each outer training fold${sk.intent.rationales ? `, intent trained with the same ${sk.intent.rationales.rows} rationale rows as the student, each only where its source row is trained on (outer and inner)` : ''}; scored with our exact weighted F1):`,
  '',
);
out.push('| Model | Scene | Intent | Average |', '|---|---:|---:|---:|');
out.push(`| **llm-ir student** (scene: text + layout + image statistics + lexicon; intent: character unigrams + rationale rows; L-BFGS) | ${pct(nested.scene.nested.weightedF1)} ${ci(nested.scene.nested.ci95)} | ${pct(nested.intent.nested.weightedF1)} ${ci(nested.intent.nested.ci95)} | ${pct(avg)} |`);
for (const m of Object.keys(sk.scene.models)) {
  const s = sk.scene.models[m]!;
  const i = sk.intent.models[m]!;
  out.push(`| scikit-learn TfidfVectorizer + ${m} | ${pct(s.weightedF1)} ${ci(s.ci95)} | ${pct(i.weightedF1)} ${ci(i.ci95)} | ${pct((s.weightedF1 + i.weightedF1) / 2)} |`);
}
out.push('');
const skScene = Math.max(...Object.values(sk.scene.models).map((m) => m.weightedF1));
const [skIntentName, skIntent] = Object.entries(sk.intent.models).reduce((a, b) => (b[1].weightedF1 > a[1].weightedF1 ? b : a));
const versus = (ours: number, theirs: number, who: string) => (ours >= theirs ? `the student is ${pct(ours - theirs)} points above ${who}` : `${who} is ${pct(theirs - ours)} points above the student`);
out.push(
  'Reading it:',
  `- Scene: ${versus(nested.scene.nested.weightedF1, skScene, 'the best scikit-learn pipeline on the same OCR text')} (the student's layout, image-statistics and lexicon blocks). Intent: ${versus(nested.intent.nested.weightedF1, skIntent.weightedF1, `the best scikit-learn pipeline (${skIntentName})`)}. Both intervals are wide (intent's spans ${pct(nested.intent.nested.ci95![1] - nested.intent.nested.ci95![0])} points on ${nested.intent.rows} rows).`,
  '- What was tried for scene before this grid (scikit-learn on the same folds, exploration only): a block of the OCR text at the top of the screen (the page title) -0.1 to -2.5; a bottom block -2.4; a 4 x 4 grid of where text sits +-0; small thumbnails (4 x 4 to 16 x 16 colours) +0.5 to +0.7 beside the text, 33-40 alone, 1-nearest-neighbour on thumbnails 40.1; char 1-4 or 2-4 grams -0.3 to -0.7; averaging LR and calibrated LinearSVC probabilities +0.2; the student with character unigrams or 1-2-grams -0.1 / +0.5, with the rationale rows -1.3 (without lexicon, same-fold). The scene errors that remain are pairs whose screenshots share their text: product detail page read as product head image (9 of 30), coupon page <-> activity page (16), "other images" (recall 0) and external-app screenshots (recall 0.2) spread over every class, logistics list page (recall 0.08). Telling them apart needs what the picture shows. The one pretrained image network the npm registry ships with weights, nsfwjs 4.4.0 (an ImageNet MobileNetV2 and InceptionV3 fine-tuned to five NSFW classes; tfjs wasm backend, 63 ms and 621 ms per image here), was tried as a scene feature block on the same folds (scikit-learn exploration, its pooled 1280-d / 2048-d features, standardised and scaled beside the OCR text): alone 42.5 / 42.0, beside the text +0.3 to +1.1 (71.27 -> 71.6-72.4), the size of the noise between candidates; late fusion of probabilities -0.2 to +0.6. Its features describe skin and scenes, not screen layouts; it was not built into the student.',
  "- Also tried for intent (scikit-learn on the same folds, exploration): the labels' own names and descriptions (`labels.json`) as one extra training row per class, +0.3 to +1.3 with 1-3-grams and -1.6 to +0.4 with unigrams beside the rationales (not kept); the agent's weight (0.3 to 0.7) and the last turn's (0.7 to 1.5) with unigrams, 70.0 to 71.8 (flat; 0.5 and 1 kept). The GPT-3.5 paraphrases (`paraphrases.gpt-3.5.jsonl`) could not be tried: all 642 lines repeat their source dialogue verbatim (white space at the ends aside), and `importParaphrases` now skips such lines.",
  '- The lexicon shares (share of words per e-commerce domain) cost intent 4.5 points (scene has no candidate without them in this grid; the older family ablation below credits them +1.7 on the average); the shipped intent model leaves them out, in both entry points (`llm-ir run --backend cpu` and `llm-ir distill train` use `STUDENT_TASK_DEFAULTS`).',
  '',
);
writeFileSync(values.out!, `${out.join('\n')}\n`);
console.error(`${values.out}: nested average ${pct(avg)}`);
