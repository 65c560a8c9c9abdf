import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelSetOf, loadSamples, stratifiedKFold, type Sample } from '@llm-ir/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitFeaturizer } from './features.ts';
import { createStudent, loadStudent } from './student.ts';

const MIRE = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/', import.meta.url));
let samples: Sample[];
beforeAll(async () => {
  samples = (await loadSamples(join(MIRE, 'train.json'))).samples;
});

const accuracy = (preds: Array<{ id: string; label: string }>, gold: readonly Sample[]) => preds.filter((p, i) => p.label === gold[i]!.label).length / gold.length;

describe('CPU student', () => {
  it('learns both tasks from the official rows, predicts probabilities, and saves / loads identically', async () => {
    const folds = stratifiedKFold(samples, { k: 5, seed: 7 });
    const train = samples.filter((_, i) => folds[i] !== 0);
    const test = samples.filter((_, i) => folds[i] === 0);
    const student = createStudent({ features: { imagesDir: join(MIRE, 'images') }, maxIter: 150 });
    await student.fit(train);
    const preds = await student.predictProba(test);
    expect(preds.map((p) => p.id)).toEqual(test.map((s) => s.id));
    for (const p of preds) {
      expect(Object.keys(p.probs!)).toHaveLength(p.task === 'scene' ? 25 : 23);
      expect(Object.values(p.probs!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    }
    const intent = test.filter((s) => s.task === 'intent');
    const intentPreds = preds.filter((p) => p.task === 'intent');
    // without OCR the student still reads dialogues well (chance is ~5%)
    expect(accuracy(intentPreds, intent)).toBeGreaterThan(0.45);
    const scene = test.filter((s) => s.task === 'scene');
    // scene rows have only image statistics without OCR: weak but above chance (~4%)
    expect(accuracy(preds.filter((p) => p.task === 'scene'), scene)).toBeGreaterThan(0.1);
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-student-'));
    await student.save(join(dir, 'student.json'));
    const again = await loadStudent(join(dir, 'student.json'), { imagesDir: join(MIRE, 'images') });
    const preds2 = await again.predictProba(test);
    expect(preds2.map((p) => p.label)).toEqual(preds.map((p) => p.label));
    for (const [i, p] of preds2.entries()) expect(p.probs![p.label]).toBeCloseTo(preds[i]!.probs![p.label]!, 5);
    expect(student.describe().intent!.features).toBeGreaterThan(1000);
  }, 120_000);

  it('learns from teacher soft labels alone (rows without gold)', async () => {
    const intent = samples.filter((s) => s.task === 'intent');
    const folds = stratifiedKFold(intent, { k: 3, seed: 1 });
    const train = intent.filter((_, i) => folds[i] !== 0);
    const test = intent.filter((_, i) => folds[i] === 0);
    // a teacher that puts 0.7 on the gold label and spreads 0.3 over the others
    const names = [...labelSetOf('intent').names];
    const soft = new Map(train.map((s) => [s.id, Object.fromEntries(names.map((l) => [l, l === s.label ? 0.7 : 0.3 / (names.length - 1)]))]));
    const unlabelled = train.map(({ label: _l, ...s }) => s as Sample);
    const student = createStudent({ maxIter: 150 });
    await student.fitWithSoft(unlabelled, soft);
    const acc = accuracy(await student.predictProba(test), test);
    expect(acc).toBeGreaterThan(0.35);
  }, 120_000);
});

describe('features from several image folders', () => {
  it('finds each image in the first folder that has it (train and test folders of one student)', async () => {
    const rows = samples.filter((s) => s.task === 'scene').slice(0, 12);
    const empty = await mkdtemp(join(tmpdir(), 'llm-ir-noimages-'));
    const one = await fitFeaturizer(rows, { imagesDir: join(MIRE, 'images') });
    const both = await fitFeaturizer(rows, { imagesDir: [empty, join(MIRE, 'images')] });
    const none = await fitFeaturizer(rows, { imagesDir: empty });
    const [a, b, c] = await Promise.all([one.transform(rows), both.transform(rows), none.transform(rows)]);
    expect(b.rows).toEqual(a.rows);
    // with no folder holding the images, the image columns carry nothing
    expect(c.rows).not.toEqual(a.rows);
  });
});
