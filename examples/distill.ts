// @llm-ir/distill: train the CPU student on part of the official rows and score it on the rest.
import { loadSamples, stratifiedSplit } from '@llm-ir/core';
import { createStudent } from '@llm-ir/distill';
import { scoreChallenge } from '@llm-ir/eval';

const { samples } = await loadSamples('../shared/datasets/www2025-mire/train.json');
const { train, test } = stratifiedSplit(samples, { testFraction: 0.2, seed: 1 });
const student = createStudent({ maxIter: 100 });
const t0 = performance.now();
await student.fit(train);
console.log(`trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`, student.describe());
const s = scoreChallenge(test.map((x) => ({ id: x.id, task: x.task, label: x.label! })), await student.predictProba(test), { resamples: 0 });
console.log(`held-out average ${(100 * s.average).toFixed(2)} (scene ${(100 * s.scene.weightedF1).toFixed(2)}, intent ${(100 * s.intent.weightedF1).toFixed(2)}; no OCR here)`);
