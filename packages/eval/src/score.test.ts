import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSamples, SCENE_LABELS, INTENT_LABELS } from '@llm-ir/core';
import { createRng } from '@llm-ir/core/run';
import { beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, percentileInterval } from './bootstrap.ts';
import { compareRuns, mcnemar } from './compare.ts';
import { estimateEffects } from './effects.ts';
import { binomialTwoSidedHalf, chiSquareSf } from './internal/stats.ts';
import { alignPredictions, scoreChallenge, type GoldRow, type PredictedRow } from './score.ts';
import { needs, SKLEARN } from '@llm-ir/core/testing';

const sk = needs(SKLEARN);

const TRAIN = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/train.json', import.meta.url));
let gold: GoldRow[];

/** Predictions that keep the gold label with probability `p`, else a random label of the task. */
function noisy(p: number, seed: string): PredictedRow[] {
  const rng = createRng(seed);
  return gold.map((g) => ({ id: g.id, label: rng.float() < p ? g.label : rng.pick((g.task === 'scene' ? SCENE_LABELS : INTENT_LABELS).names) }));
}

beforeAll(async () => {
  const { samples } = await loadSamples(TRAIN);
  gold = samples.map((s) => ({ id: s.id, task: s.task, label: s.label! }));
});

describe('scoreChallenge on the official rows', () => {
  it.skipIf(sk.skip)(`gives 1 for perfect predictions and matches scikit-learn on noisy ones${sk.note}`, () => {
    const perfect = scoreChallenge(gold, gold, { resamples: 0 });
    expect(perfect.average).toBe(1);
    expect(perfect.scene.n).toBe(560);
    expect(perfect.intent.n).toBe(239);

    const pred = noisy(0.7, 'a');
    const s = scoreChallenge(gold, pred, { resamples: 200, seed: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'llm-ir-score-'));
    writeFileSync(join(dir, 'd.json'), JSON.stringify({ gold, pred }));
    const py = `
import json,sys
from sklearn.metrics import f1_score, accuracy_score
d=json.load(open(sys.argv[1])); p={x['id']:x['label'] for x in d['pred']}
out={}
for t in ['scene','intent']:
    g=[x['label'] for x in d['gold'] if x['task']==t]; q=[p[x['id']] for x in d['gold'] if x['task']==t]
    out[t]=[f1_score(g,q,average='weighted'), f1_score(g,q,average='macro'), f1_score(g,q,average='micro'), accuracy_score(g,q)]
g=[x['label'] for x in d['gold']]; q=[p[x['id']] for x in d['gold']]
out['pooled']=f1_score(g,q,average='weighted')
print(json.dumps(out))`;
    writeFileSync(join(dir, 'c.py'), py);
    const e = JSON.parse(execFileSync('/usr/bin/python3', [join(dir, 'c.py'), join(dir, 'd.json')]).toString());
    for (const t of ['scene', 'intent'] as const) {
      expect(s[t].weightedF1).toBe(e[t][0]);
      expect(s[t].macroF1).toBeCloseTo(e[t][1], 12);
      expect(s[t].microF1).toBeCloseTo(e[t][2], 12);
      expect(s[t].accuracy).toBe(e[t][3]);
      expect(s[t].ci95![0]).toBeLessThan(s[t].weightedF1);
      expect(s[t].ci95![1]).toBeGreaterThan(s[t].weightedF1);
    }
    expect(s.pooled.weightedF1).toBe(e.pooled);
    expect(s.average).toBe((e.scene[0] + e.intent[0]) / 2);
    expect(s.averageCi95![0]).toBeLessThan(s.average);
    // seeded: same seed, same interval
    expect(scoreChallenge(gold, pred, { resamples: 200, seed: 1 }).averageCi95).toEqual(s.averageCi95);
  });

  it('counts missing predictions as wrong, lists them and unknown ids, and refuses duplicates', () => {
    const pred = gold.slice(10).map((g) => ({ id: g.id, label: g.label }));
    pred.push({ id: 'not-a-row', label: '退款页面' });
    const s = scoreChallenge(gold, pred, { resamples: 0 });
    expect(s.missing).toEqual(gold.slice(0, 10).map((g) => g.id));
    expect(s.unknown).toEqual(['not-a-row']);
    expect(s.pooled.accuracy).toBeCloseTo(789 / 799, 12);
    expect(s.pooled.microF1).toBeCloseTo(789 / 799, 12);
    expect(s.average).toBeLessThan(1);
    expect(() => scoreChallenge(gold, [...gold, gold[0]!], { resamples: 0 })).toThrow(/more than once/);
  });

  it('bootstrap intervals narrow as predictions get better', () => {
    const bad = scoreChallenge(gold, noisy(0.4, 'b'), { resamples: 300 });
    const good = scoreChallenge(gold, noisy(0.95, 'b'), { resamples: 300 });
    const width = (c: [number, number] | null) => c![1] - c![0];
    expect(good.average).toBeGreaterThan(bad.average);
    expect(width(good.averageCi95)).toBeLessThan(width(bad.averageCi95));
  });
});

describe('paired comparison', () => {
  it('finds a real improvement and not a null one', () => {
    const a = noisy(0.6, 'c');
    const b = a.map((p, i) => (createRng(`d${i}`).float() < 0.5 ? { id: p.id, label: gold[i]!.label } : p));
    const r = compareRuns(gold, a, b, { resamples: 500, seed: 3 });
    expect(r.average.difference).toBeGreaterThan(0.1);
    expect(r.average.ci95[0]).toBeGreaterThan(0);
    expect(r.average.pValue).toBeLessThan(0.01);
    expect(r.mcnemar.all.aOnly).toBe(0);
    expect(r.mcnemar.all.method).toBe('chi-square-cc');
    expect(r.mcnemar.all.pValue).toBeLessThan(1e-10);
    const same = compareRuns(gold, a, a, { resamples: 200 });
    expect(same.average.difference).toBe(0);
    expect(same.mcnemar.all.pValue).toBe(1);
  });

  it('McNemar: exact binomial when discordant pairs are few, chi-square otherwise', () => {
    const mk = (b: number, c: number, same: number) => {
      const A: boolean[] = [];
      const B: boolean[] = [];
      const pair = (a: boolean, b2: boolean) => {
        A.push(a);
        B.push(b2);
      };
      for (let i = 0; i < b; i++) pair(true, false);
      for (let i = 0; i < c; i++) pair(false, true);
      for (let i = 0; i < same; i++) pair(true, true);
      return mcnemar(A, B);
    };
    const small = mk(10, 2, 50);
    expect(small.method).toBe('exact-binomial');
    // scipy.stats.binomtest(2, 12, 0.5).pvalue = 0.03857421875
    expect(small.pValue).toBeCloseTo(0.03857421875, 12);
    const big = mk(40, 20, 10);
    expect(big.method).toBe('chi-square-cc');
    expect(big.statistic).toBeCloseTo((19 * 19) / 60, 12);
    // scipy.stats.chi2.sf(6.016666666666667, 1) = 0.014171...
    expect(big.pValue).toBeCloseTo(0.01417, 4);
  });

  it('has accurate p-value helpers', () => {
    expect(chiSquareSf(3.841458820694124, 1)).toBeCloseTo(0.05, 12);
    expect(chiSquareSf(10.827566170662733, 1)).toBeCloseTo(0.001, 12);
    expect(chiSquareSf(5.991464547107979, 2)).toBeCloseTo(0.05, 12);
    expect(binomialTwoSidedHalf(5, 10)).toBe(1);
    expect(binomialTwoSidedHalf(0, 10)).toBeCloseTo(2 / 1024, 15);
  });
});

describe('one bootstrap behind scores, comparisons and effects', () => {
  it('gives exact points, the same resamples to every caller with the same seed, and agrees across the three', () => {
    const a = noisy(0.7, 'boot-a');
    const b = noisy(0.5, 'boot-b');
    const align = (p: PredictedRow[]) => alignPredictions(gold, p).predicted;
    const boot = bootstrap({ gold, systems: [align(a), align(b)], resamples: 300, seed: 9 });
    const sa = scoreChallenge(gold, a, { resamples: 300, seed: 9 });
    const sb = scoreChallenge(gold, b, { resamples: 300, seed: 9 });
    // points are the exact (scikit-learn) metric
    expect(boot.point[0]!.scene).toBe(sa.scene.weightedF1);
    expect(boot.point[0]!.intent).toBe(sa.intent.weightedF1);
    expect(boot.point[0]!.average).toBe(sa.average);
    expect(boot.point[0]!.pooled).toBe(sa.pooled.weightedF1);
    // the score's intervals are this bootstrap's percentiles
    expect(sa.averageCi95).toEqual(percentileInterval(boot.draws[0]!.average, 0.95));
    expect(sb.scene.ci95).toEqual(percentileInterval(boot.draws[1]!.scene, 0.95));
    // the comparison's points are the scores', its differences the same draws paired
    const c = compareRuns(gold, a, b, { resamples: 300, seed: 9 });
    expect(c.average.a).toBe(sa.average);
    expect(c.average.b).toBe(sb.average);
    expect(c.average.ci95).toEqual(percentileInterval(Float64Array.from(boot.draws[1]!.average, (x, i) => x - boot.draws[0]!.average[i]!), 0.95));
    // a two-run design's effect is the difference of the two scores, with the same interval
    const e = estimateEffects(gold, [{ name: 'a', factors: { x: false }, predictions: a }, { name: 'b', factors: { x: true }, predictions: b }], { resamples: 300, seed: 9 });
    expect(e.effects[0]!.estimate).toBeCloseTo(sb.average - sa.average, 15);
    expect(e.effects[0]!.ci95[0]).toBeCloseTo(c.average.ci95[0], 12);
    expect(e.effects[0]!.ci95[1]).toBeCloseTo(c.average.ci95[1], 12);
    // a task's draws do not depend on the other task's rows
    const sceneOnly = gold.filter((g) => g.task === 'scene');
    const solo = bootstrap({ gold: sceneOnly, systems: [align(a).filter((_, i) => gold[i]!.task === 'scene')], resamples: 300, seed: 9 });
    expect(Array.from(solo.draws[0]!.scene)).toEqual(Array.from(boot.draws[0]!.scene));
  });
});
