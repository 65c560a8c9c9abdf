// scikit-learn's obvious baselines on the student's own text blocks and outer folds (issue 16):
//   npx tsx scripts/sklearn-baselines.ts --rows rows.jsonl --task intent --out benchmarks/results/sklearn-baselines.intent.json
// Writes each row's text fields (the student's textFields) with its outer fold (stratifiedKFold, the
// folds of scripts/student-nested-cv.ts) for scripts/sklearn-baselines.py, runs it with the system
// Python that has scikit-learn, and scores its pooled predictions with our exact weighted F1 and the
// same bootstrap as the student's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSamples, stratifiedKFold, type Task } from '@llm-ir/core';
import { importRationales } from '@llm-ir/augmentation';
import { textFields } from '@llm-ir/distill/model';
import { scoreChallenge } from '@llm-ir/eval';

const { values } = parseArgs({ options: { rows: { type: 'string' }, task: { type: 'string' }, k: { type: 'string', default: '5' }, inner: { type: 'string', default: '4' }, seed: { type: 'string', default: '0' }, python: { type: 'string', default: '/usr/bin/python3' }, out: { type: 'string' }, rationales: { type: 'string' }, ngrams: { type: 'string', default: '1-3' } } });
if (!values.rows || (values.task !== 'scene' && values.task !== 'intent')) {
  console.error('usage: npx tsx scripts/sklearn-baselines.ts --rows <samples.jsonl> --task scene|intent [--k 5] [--inner 4] [--seed 0] [--python /usr/bin/python3] [--rationales <jsonl>] [--ngrams 1-1,1-3] [--out <json>]');
  process.exit(2);
}
const task: Task = values.task;
const seed = Number(values.seed);
const rows = (await loadSamples(values.rows)).samples.filter((s) => s.task === task && s.label !== undefined);
const folds = stratifiedKFold(rows, { k: Number(values.k), seed });
// the student's text blocks for the task (STUDENT_TASK_DEFAULTS): scene reads the OCR text beside the
// (image-only) customer turn (scene rows have no agent turns); intent the customer's turns, their last turn and the agent's turns at half weight
const blocks = task === 'scene' ? ['ocr', 'user'] : ['user', 'lastUser', 'agent'];
const weights = task === 'intent' ? { agent: 0.5 } : {};
const ngrams = values.ngrams!.split(',').map((r) => r.split('-').map(Number));
if (ngrams.some((n) => n.length !== 2 || !n.every((x) => Number.isInteger(x) && x >= 1) || n[0]! > n[1]!)) {
  console.error(`--ngrams ${values.ngrams}: expected ranges such as 1-1,1-3`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'llm-ir-sklearn-'));
try {
  const input = join(dir, 'rows.json');
  // the rows' rationales (--rationales) as auxiliary training rows beside their source row (`aux`)
  const aux = values.rationales ? (await importRationales(rows, values.rationales)).samples : [];
  const index = new Map(rows.map((r, i) => [r.id, i]));
  writeFileSync(
    input,
    JSON.stringify({
      task,
      blocks,
      weights,
      ngrams,
      rows: [...rows.map((r, i) => ({ fields: textFields(r), label: r.label, fold: folds[i] })), ...aux.map((a) => {
        const source = index.get(a.parentId!)!;
        return { fields: textFields(a), label: a.label, fold: folds[source], aux: source };
      })],
    }),
  );
  const script = new URL('./sklearn-baselines.py', import.meta.url).pathname;
  const raw = JSON.parse(execFileSync(values.python!, [script, input, values.inner!, String(seed)], { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] }).toString()) as { sklearn: string; models: Record<string, { predictions: string[]; chosen: unknown[]; seconds: number }> };
  const gold = rows.map((r) => ({ id: r.id, task, label: r.label! }));
  const models = Object.fromEntries(
    Object.entries(raw.models).map(([name, m]) => {
      const s = scoreChallenge(gold, rows.map((r, i) => ({ id: r.id, task, label: m.predictions[i]! })), { resamples: 1000, seed })[task];
      return [name, { weightedF1: s.weightedF1, ci95: s.ci95, chosen: m.chosen, seconds: m.seconds }];
    }),
  );
  const result = { task, rows: rows.length, k: Number(values.k), innerK: Number(values.inner), seed, sklearn: raw.sklearn, blocks, weights, ngrams, ...(values.rationales ? { rationales: { file: basename(values.rationales), rows: aux.length } } : {}), date: new Date().toISOString(), models };
  const json = JSON.stringify(result, null, 2);
  if (values.out) writeFileSync(values.out, `${json}\n`);
  else console.log(json);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
