// @llm-ir/core: read the official rows, check them, split them, map a model's answer to a label.
import { readFileSync } from 'node:fs';
import { loadSamples, SCENE_LABELS, stratifiedKFold, validateFile } from '@llm-ir/core';
import { matchLabel, writeChallengeRow } from '@llm-ir/core/challenge';

const file = '../shared/datasets/www2025-mire/train.json';
const problems = await validateFile(file);
console.log(`${problems.length} problems in ${file}`);
const { samples } = await loadSamples(file);
console.log(`${samples.filter((s) => s.task === 'scene').length} scene rows, ${samples.filter((s) => s.task === 'intent').length} intent rows`);
const folds = stratifiedKFold(samples, { k: 5, seed: 13 });
console.log('fold sizes', [0, 1, 2, 3, 4].map((f) => folds.filter((x) => x === f).length));
console.log(matchLabel('「退款页面」。', SCENE_LABELS));
const raw = JSON.parse(readFileSync(file, 'utf8'))[0];
console.log('lossless round trip:', writeChallengeRow(samples[0]!).instruction === raw.instruction);
