import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelSetOf, loadSamples, stratifiedKFold } from '@llm-ir/core';
import { createRng } from '@llm-ir/core/run';
import { describe, expect, it } from 'vitest';
import { fitFeaturizer } from './features.ts';
import { decision, fitLogisticRegression, logRegObjective, softmax } from './logreg.ts';
import type { SparseMatrix } from './sparse.ts';
import { needs, SKLEARN } from '@llm-ir/core/testing';

const sk = needs(SKLEARN);

const TRAIN = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/train.json', import.meta.url));

describe('multinomial logistic regression (L-BFGS)', () => {
  it.skipIf(sk.skip)(`predicts like scikit-learn LogisticRegression on the same feature matrix (>= 98% agreement)${sk.note}`, async () => {
    const { samples } = await loadSamples(TRAIN);
    const rows = samples.filter((s) => s.task === 'intent');
    const folds = stratifiedKFold(rows, { k: 4, seed: 2 });
    const train = rows.filter((_, i) => folds[i] !== 0);
    const test = rows.filter((_, i) => folds[i] === 0);
    const featurizer = await fitFeaturizer(train, { families: { layout: false, image: false } });
    const xTr = await featurizer.transform(train);
    const xTe = await featurizer.transform(test);
    const labels = [...labelSetOf('intent').names];
    const present = labels.filter((l) => train.some((s) => s.label === l));
    const y = Int32Array.from(train, (s) => present.indexOf(s.label!));
    const model = fitLogisticRegression(xTr, present.length, { gold: y }, { C: 10, maxIter: 3000, tol: 1e-7 });
    const ours = xTe.rows.map((r) => {
      const p = softmax(decision(model, r));
      return present[p.indexOf(Math.max(...p))];
    });
    const dir = mkdtempSync(join(tmpdir(), 'llm-ir-lr-'));
    const dump = (x: SparseMatrix) => ({ cols: x.cols, rows: x.rows.map((r) => [Array.from(r.indices), Array.from(r.values)]) });
    writeFileSync(join(dir, 'data.json'), JSON.stringify({ train: dump(xTr), test: dump(xTe), y: Array.from(y), labels: present }));
    writeFileSync(
      join(dir, 'lr.py'),
      `import json, sys, warnings
import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
warnings.simplefilter('ignore')
d = json.load(open(sys.argv[1]))
def m(x):
    ind, ptr, val = [], [0], []
    for i, v in x['rows']:
        ind += i; val += v; ptr.append(len(ind))
    return csr_matrix((np.array(val, dtype=np.float64), np.array(ind), np.array(ptr)), shape=(len(x['rows']), x['cols']))
clf = LogisticRegression(C=10, multi_class='multinomial', solver='lbfgs', max_iter=3000, tol=1e-7).fit(m(d['train']), d['y'])
print(json.dumps([d['labels'][int(c)] for c in clf.predict(m(d['test']))]))`,
    );
    const theirs = JSON.parse(execFileSync('/usr/bin/python3', [join(dir, 'lr.py'), join(dir, 'data.json')], { maxBuffer: 1 << 26 }).toString()) as string[];
    const agree = ours.filter((l, i) => l === theirs[i]).length / ours.length;
    expect(ours).toHaveLength(test.length);
    expect(agree).toBeGreaterThanOrEqual(0.98);
  }, 120_000);

  it('has the analytic gradient of the distillation loss (central finite differences at random points)', () => {
    const rng = createRng(11);
    const k = 3;
    const d = 5;
    const rows = Array.from({ length: 8 }, () => ({ indices: Int32Array.from([0, 2, 3, 4]), values: Float32Array.from({ length: 4 }, () => rng.normal()) }));
    const x = { rows, cols: d };
    const gold = Int32Array.from([0, 1, 2, -1, 0, -1, 2, 1]);
    const soft = [undefined, Float64Array.of(0.2, 0.7, 0.1), Float64Array.of(0.1, 0.1, 0.8), Float64Array.of(0.5, 0.3, 0.2), undefined, Float64Array.of(0.3, 0.3, 0.4), undefined, undefined];
    const f = logRegObjective(x, k, { gold, soft, alpha: 0.6 }, { C: 1.5, temperature: 2, sampleWeight: Float64Array.from({ length: 8 }, (_, i) => 0.5 + i / 8) });
    for (let trial = 0; trial < 3; trial++) {
      const theta = Float64Array.from({ length: k * d + k }, () => rng.normal());
      const grad = new Float64Array(theta.length);
      f(theta, grad);
      const scratch = new Float64Array(theta.length);
      const h = 1e-6;
      for (let j = 0; j < theta.length; j++) {
        const plus = Float64Array.from(theta);
        const minus = Float64Array.from(theta);
        plus[j]! += h;
        minus[j]! -= h;
        const numeric = (f(plus, scratch) - f(minus, scratch)) / (2 * h);
        expect(Math.abs(numeric - grad[j]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(numeric)));
      }
    }
    // a feature column no row uses (feature 1: its k weights at 1 * k .. 2 * k, feature-major) has only
    // the L2 term: gradient = the weight itself; a used feature's gradient is not
    const theta = Float64Array.from({ length: k * d + k }, (_, i) => i / 10);
    const grad = new Float64Array(theta.length);
    f(theta, grad);
    for (let c = 0; c < k; c++) expect(grad[1 * k + c]).toBeCloseTo(theta[1 * k + c]!, 12);
    for (let c = 0; c < k; c++) expect(Math.abs(grad[2 * k + c]! - theta[2 * k + c]!)).toBeGreaterThan(1e-6);
  });

  it('stops at the optimum of that loss: it equals an independent implementation, and no small step lowers it', () => {
    const rng = createRng(4);
    const k = 3;
    const d = 4;
    const rows = Array.from({ length: 6 }, () => ({ indices: Int32Array.from([0, 1, 2, 3]), values: Float32Array.from({ length: 4 }, () => rng.normal()) }));
    const x = { rows, cols: d };
    const gold = Int32Array.from([0, 1, 2, -1, 0, -1]);
    const soft = [undefined, Float64Array.of(0.2, 0.7, 0.1), Float64Array.of(0.1, 0.1, 0.8), Float64Array.of(0.5, 0.3, 0.2), undefined, Float64Array.of(0.3, 0.3, 0.4)];
    const fit = fitLogisticRegression(x, k, { gold, soft, alpha: 0.6 }, { C: 2, temperature: 2, maxIter: 200, tol: 1e-10 });
    // at the optimum the gradient is ~0: perturbing any weight must not lower the objective
    const objective = (w: Float64Array, b: Float64Array) => {
      const m = { k, d, w, b };
      let loss = 0;
      rows.forEach((r, i) => {
        const z = decision(m, r);
        if (gold[i]! >= 0) {
          const p = softmax(Float64Array.from(z));
          loss += (soft[i] ? 0.6 : 1) * -Math.log(p[gold[i]!]!);
        }
        if (soft[i]) {
          const q = softmax(Float64Array.from(soft[i]!, (v) => Math.log(v)), 2);
          const p = softmax(Float64Array.from(z), 2);
          let kl = 0;
          for (let c = 0; c < k; c++) kl += q[c]! * (Math.log(q[c]!) - Math.log(p[c]!));
          loss += (gold[i]! >= 0 ? 0.4 : 1) * 4 * kl;
        }
      });
      return 2 * loss + 0.5 * w.reduce((a, v) => a + v * v, 0);
    };
    // without curvature pairs (memory 0) it is steepest descent, and still lowers the loss
    const steepest = fitLogisticRegression(x, k, { gold, soft, alpha: 0.6 }, { C: 2, temperature: 2, maxIter: 20, memory: 0 });
    expect(steepest.loss).toBeLessThan(fitLogisticRegression(x, k, { gold, soft, alpha: 0.6 }, { C: 2, temperature: 2, maxIter: 1, memory: 0 }).loss);
    const base = objective(fit.w, fit.b);
    expect(base).toBeCloseTo(fit.loss, 6);
    for (let j = 0; j < k * d; j++) {
      for (const h of [1e-3, -1e-3]) {
        const w = Float64Array.from(fit.w);
        w[j]! += h;
        expect(objective(w, fit.b)).toBeGreaterThanOrEqual(base - 1e-9);
      }
    }
  });
});
