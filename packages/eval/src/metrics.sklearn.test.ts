// Cross-check against scikit-learn (Debian python3-sklearn, run with /usr/bin/python3) on generated cases:
// heavy imbalance, one class, labels only in the predictions or only in the gold, and requested
// labels that occur nowhere, with each zero_division. `.ci/run` installs python3-sklearn.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, type Rng } from '@llm-ir/core/run';
import { describe, expect, it } from 'vitest';
import { accuracyScore, classificationReport, confusionMatrix, precisionRecallF1, type ZeroDivision } from './metrics.ts';
import { needs, SKLEARN } from '@llm-ir/core/testing';

const sk = needs(SKLEARN);

const PY = '/usr/bin/python3';

interface Case {
  yTrue: string[];
  yPred: string[];
  labels?: string[];
  zeroDivision: 'warn' | 0 | 1;
  kind: string;
}

const ALPHABET = ['退款页面', '退货页面', '支付页面', 'a', 'B', 'b', '商品材质', '何时上货', '气泡', 'z9', '𠀀ext', 'Ω'];

function makeCase(rng: Rng, i: number): Case {
  const kinds = ['uniform', 'imbalanced', 'one-class', 'pred-only', 'gold-only', 'labels-absent', 'labels-subset', 'tiny', 'perfect', 'all-wrong'];
  const kind = kinds[i % kinds.length]!;
  const zeroDivision = (['warn', 0, 1] as const)[Math.floor(i / kinds.length) % 3]!;
  const k = 2 + rng.int(ALPHABET.length - 2);
  const pool = rng.shuffle(ALPHABET).slice(0, k);
  const n = kind === 'tiny' ? 1 + rng.int(4) : 5 + rng.int(400);
  const draw = (): string => {
    if (kind === 'imbalanced') return rng.float() < 0.9 ? pool[0]! : pool[1 + rng.int(pool.length - 1)]!;
    return pool[rng.int(pool.length)]!;
  };
  let yTrue = Array.from({ length: n }, draw);
  let yPred = yTrue.map((t) => (rng.float() < 0.6 ? t : draw()));
  let labels: string[] | undefined;
  if (kind === 'one-class') {
    yTrue = yTrue.map(() => pool[0]!);
    yPred = yPred.map((p) => (rng.float() < 0.7 ? pool[0]! : p));
  } else if (kind === 'pred-only') {
    yPred = yPred.map((p) => (rng.float() < 0.15 ? 'only-predicted' : p));
  } else if (kind === 'gold-only') {
    yTrue = yTrue.map((t) => (rng.float() < 0.15 ? 'only-gold' : t));
  } else if (kind === 'labels-absent') {
    labels = [...new Set([...yTrue, ...yPred])].concat(['never-seen-1', 'never-seen-2']);
  } else if (kind === 'labels-subset') {
    labels = rng.shuffle([...new Set(yTrue)]).slice(0, Math.max(1, Math.floor(pool.length / 2)));
  } else if (kind === 'perfect') {
    yPred = [...yTrue];
  } else if (kind === 'all-wrong') {
    yPred = yTrue.map((t) => pool[(pool.indexOf(t) + 1) % pool.length]!);
  }
  return { yTrue, yPred, ...(labels ? { labels } : {}), zeroDivision, kind };
}

const SCRIPT = `
import json, sys, warnings
import numpy as np
from sklearn.metrics import precision_recall_fscore_support, accuracy_score, confusion_matrix
warnings.simplefilter('ignore')
cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    kw = {'zero_division': c['zeroDivision']}
    if 'labels' in c: kw['labels'] = c['labels']
    r = {}
    for avg in ['weighted', 'macro', 'micro']:
        p, rc, f, _ = precision_recall_fscore_support(c['yTrue'], c['yPred'], average=avg, **kw)
        r[avg] = [float(p), float(rc), float(f)]
    p, rc, f, s = precision_recall_fscore_support(c['yTrue'], c['yPred'], average=None, **kw)
    r['perClass'] = [list(map(float, p)), list(map(float, rc)), list(map(float, f)), list(map(int, s))]
    r['accuracy'] = float(accuracy_score(c['yTrue'], c['yPred']))
    r['confusion'] = confusion_matrix(c['yTrue'], c['yPred'], labels=c.get('labels')).tolist()
    out.append(r)
json.dump(out, sys.stdout)
`;

describe('metrics equal scikit-learn', () => {
  it.skipIf(sk.skip)(`on 360 generated cases, every average, every zero_division, to 1e-12${sk.note}`, () => {
    const rng = createRng('sklearn-crosscheck');
    const cases = Array.from({ length: 360 }, (_, i) => makeCase(rng, i));
    const dir = mkdtempSync(join(tmpdir(), 'llm-ir-sk-'));
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
    writeFileSync(join(dir, 'check.py'), SCRIPT);
    const expected = JSON.parse(execFileSync(PY, [join(dir, 'check.py'), join(dir, 'cases.json')], { maxBuffer: 1 << 28 }).toString()) as Array<{
      weighted: number[];
      macro: number[];
      micro: number[];
      perClass: number[][];
      accuracy: number;
      confusion: number[][];
    }>;
    let exact = 0;
    let compared = 0;
    cases.forEach((c, i) => {
      const e = expected[i]!;
      const opts = { zeroDivision: c.zeroDivision as ZeroDivision, ...(c.labels ? { labels: c.labels } : {}) };
      for (const avg of ['weighted', 'macro', 'micro'] as const) {
        const got = precisionRecallF1(c.yTrue, c.yPred, { ...opts, average: avg });
        [got.precision, got.recall, got.f1].forEach((v, j) => {
          compared++;
          if (v === e[avg][j]) exact++;
          expect(Math.abs(v - e[avg][j]!), `case ${i} (${c.kind}, zd=${c.zeroDivision}) ${avg}[${j}]`).toBeLessThanOrEqual(1e-12);
        });
      }
      const report = classificationReport(c.yTrue, c.yPred, opts);
      expect(report.perClass.map((x) => x.precision)).toEqual(e.perClass[0]);
      expect(report.perClass.map((x) => x.recall)).toEqual(e.perClass[1]);
      report.perClass.forEach((x, j) => expect(Math.abs(x.f1 - e.perClass[2]![j]!)).toBeLessThanOrEqual(1e-12));
      expect(report.perClass.map((x) => x.support)).toEqual(e.perClass[3]);
      expect(accuracyScore(c.yTrue, c.yPred)).toBe(e.accuracy);
      expect(report.accuracy).toBe(e.accuracy);
      expect(confusionMatrix(c.yTrue, c.yPred, c.labels ? { labels: c.labels } : {}).matrix).toEqual(e.confusion);
      expect(report.weighted.f1).toBe(precisionRecallF1(c.yTrue, c.yPred, { ...opts, average: 'weighted' }).f1);
    });
    expect(compared).toBe(360 * 9);
    // bit-for-bit on nearly every value (numpy's pairwise summation is reproduced)
    expect(exact / compared).toBeGreaterThan(0.99);
  }, 120_000);
});

describe('zero_division = NaN (scikit-learn >= 1.3 semantics)', () => {
  it('sets ill-defined scores to NaN and leaves them out of the averages', () => {
    // class c is never predicted (precision NaN), class d is never in the gold (recall NaN)
    const yTrue = ['a', 'a', 'b', 'c'];
    const yPred = ['a', 'b', 'b', 'd'];
    const r = classificationReport(yTrue, yPred, { zeroDivision: Number.NaN });
    const c = r.perClass.find((x) => x.label === 'c')!;
    const d = r.perClass.find((x) => x.label === 'd')!;
    expect(c.precision).toBeNaN();
    expect(c.recall).toBe(0);
    expect(c.f1).toBe(0);
    expect(d.recall).toBeNaN();
    expect(d.f1).toBe(0);
    // macro precision over a (1), b (0.5), d (0): c is left out
    expect(r.macro.precision).toBeCloseTo((1 + 0.5 + 0) / 3, 15);
    // weighted recall: d has weight 0 and NaN: left out; a 0.5*2, b 1*1, c 0*1 over 4
    expect(r.weighted.recall).toBeCloseTo((0.5 * 2 + 1 + 0) / 4, 15);
    expect(r.warnings.join(' ')).toMatch(/no predicted samples: c/);
    expect(r.warnings.join(' ')).toMatch(/no true samples: d/);
    expect(() => classificationReport(yTrue, yPred, { zeroDivision: 0.5 })).toThrow(/zeroDivision/);
  });
});
