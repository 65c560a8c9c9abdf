// Eval bench: weighted F1 and the full classification report on 1,000,000 predictions, against
// scikit-learn (Debian python3-sklearn, /usr/bin/python3) in the same run on the same data.
// Run: npm run bench -w @llm-ir/eval   (LLM_IR_BENCH_ROWS=100000 for a quick run)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INTENT_LABELS, SCENE_LABELS } from '@llm-ir/core';
import { createRng } from '@llm-ir/core/run';
import { classificationReport, scoreChallenge } from '@llm-ir/eval';
import { f1Score } from '@llm-ir/eval/metrics';
// @ts-expect-error plain ESM helper without types
import { writeResult } from '../../../scripts/bench-lib.mjs';

const N = Number(process.env['LLM_IR_BENCH_ROWS'] ?? 1_000_000);
const labels = [...SCENE_LABELS.names, ...INTENT_LABELS.names];
const rng = createRng('eval-bench');
// Zipf-like label frequencies; 80% of predictions right, the rest to a neighbouring label
const weights = labels.map((_, i) => 1 / (i + 1));
const total = weights.reduce((a, b) => a + b, 0);
const cdf = weights.map((w, i) => weights.slice(0, i + 1).reduce((a, b) => a + b, 0) / total);
const draw = () => {
  const u = rng.float();
  const i = cdf.findIndex((c) => u < c);
  return labels[i === -1 ? labels.length - 1 : i]!;
};
const yTrue = Array.from({ length: N }, draw);
const yPred = yTrue.map((t) => (rng.float() < 0.8 ? t : labels[(labels.indexOf(t) + 1 + rng.int(3)) % labels.length]!));

function best<T>(runs: number, fn: () => T): { ms: number; value: T } {
  let ms = Infinity;
  let value!: T;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { ms, value };
}

const oursF1 = best(5, () => f1Score(yTrue, yPred, { average: 'weighted' }));
const oursReport = best(5, () => classificationReport(yTrue, yPred));
const gold = yTrue.map((label, i) => ({ id: String(i), task: i % 3 === 0 ? ('intent' as const) : ('scene' as const), label }));
const preds = yPred.map((label, i) => ({ id: String(i), label }));
const ci = best(1, () => scoreChallenge(gold, preds, { resamples: 100, seed: 0 }));

const dir = mkdtempSync(join(tmpdir(), 'llm-ir-evalbench-'));
try {
  writeFileSync(join(dir, 'data.json'), JSON.stringify({ yTrue, yPred }));
  writeFileSync(
    join(dir, 'sk.py'),
    `
import json, sys, time
import numpy as np
from sklearn.metrics import f1_score, classification_report, confusion_matrix, accuracy_score
d = json.load(open(sys.argv[1])); yt = d['yTrue']; yp = d['yPred']
def best(runs, fn):
    ms = float('inf'); v = None
    for _ in range(runs):
        t0 = time.perf_counter(); v = fn(); ms = min(ms, (time.perf_counter() - t0) * 1000)
    return ms, v
f1ms, f1 = best(3, lambda: f1_score(yt, yp, average='weighted'))
def full():
    rep = classification_report(yt, yp, output_dict=True, zero_division=0)
    cm = confusion_matrix(yt, yp)
    return rep, cm
repms, (rep, cm) = best(3, full)
import sklearn
print(json.dumps({'f1ms': f1ms, 'f1': f1, 'repms': repms, 'weighted': rep['weighted avg'], 'macro': rep['macro avg'], 'accuracy': rep['accuracy'], 'cmsum': int(cm.sum()), 'cmdiag': int(np.trace(cm)), 'sklearn': sklearn.__version__, 'numpy': np.__version__}))
`,
  );
  const sk = JSON.parse(execFileSync('/usr/bin/python3', [join(dir, 'sk.py'), join(dir, 'data.json')], { maxBuffer: 1 << 26 }).toString());
  const r = oursReport.value;
  const identical =
    oursF1.value === sk.f1 &&
    r.weighted.f1 === sk.weighted['f1-score'] &&
    r.weighted.precision === sk.weighted.precision &&
    r.weighted.recall === sk.weighted.recall &&
    r.macro.f1 === sk.macro['f1-score'] &&
    r.accuracy === sk.accuracy &&
    r.confusion.flat().reduce((a, b) => a + b, 0) === sk.cmsum &&
    r.confusion.reduce((a, row, i) => a + row[i]!, 0) === sk.cmdiag;
  const maxDiff = Math.max(Math.abs(oursF1.value - sk.f1), Math.abs(r.weighted.f1 - sk.weighted['f1-score']), Math.abs(r.macro.f1 - sk.macro['f1-score']));
  const rows = [
    {
      name: `weighted F1, ${N.toLocaleString('en')} predictions, 48 labels`,
      value: +oursF1.ms.toFixed(1),
      unit: 'ms',
      reference: `scikit-learn ${sk.sklearn} f1_score(average='weighted')`,
      referenceValue: +sk.f1ms.toFixed(1),
      ratio: +(sk.f1ms / oursF1.ms).toFixed(1),
      note: identical ? 'values identical to the last bit' : `max |difference| ${maxDiff.toExponential(2)}`,
    },
    {
      name: 'full report: per-class P/R/F1/support, accuracy, macro/weighted/micro, confusion matrix',
      value: +oursReport.ms.toFixed(1),
      unit: 'ms',
      reference: 'scikit-learn classification_report(output_dict=True) + confusion_matrix',
      referenceValue: +sk.repms.toFixed(1),
      ratio: +(sk.repms / oursReport.ms).toFixed(1),
      note: identical ? 'values identical' : `max |difference| ${maxDiff.toExponential(2)}`,
    },
    {
      name: 'challenge score with 100 bootstrap resamples (per task, average, pooled)',
      value: +ci.ms.toFixed(0),
      unit: 'ms',
      reference: 'none (scikit-learn has no bootstrap)',
      note: 'resamples scale linearly',
    },
  ];
  const result = writeResult('eval', '@llm-ir/eval', rows, { identical, sklearn: sk.sklearn, numpy: sk.numpy });
  console.log(JSON.stringify(result.rows, null, 2));
  if (!identical) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
