// @llm-ir/eval: score predictions like the challenge, with bootstrap intervals, and compare two systems.
import { createRng } from '@llm-ir/core/run';
import { compareRuns, loadGold, scoreChallenge } from '@llm-ir/eval';

const { gold } = await loadGold('../shared/datasets/www2025-mire/train.json');
const noisy = (p: number, seed: string) => {
  const rng = createRng(seed);
  return gold.map((g, i) => ({ id: g.id, label: rng.float() < p ? g.label : gold[(i + 7) % gold.length]!.label }));
};
const a = noisy(0.7, 'a');
const b = noisy(0.8, 'b');
const s = scoreChallenge(gold, a, { resamples: 500 });
console.log(`average ${(100 * s.average).toFixed(2)} [${s.averageCi95!.map((x) => (100 * x).toFixed(2)).join(', ')}]`);
console.log(`scene ${(100 * s.scene.weightedF1).toFixed(2)}, intent ${(100 * s.intent.weightedF1).toFixed(2)}, pooled ${(100 * s.pooled.weightedF1).toFixed(2)}`);
const c = compareRuns(gold, a, b, { resamples: 500 });
console.log(`B - A = ${(100 * c.average.difference).toFixed(2)} points, p = ${c.average.pValue.toFixed(4)}; McNemar p = ${c.mcnemar.all.pValue.toExponential(2)}`);
