import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelSetOf, loadSamples, stratifiedKFold, type Sample } from '@llm-ir/core';
import { importRationales } from '@llm-ir/augmentation';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitFeaturizer, loadFeaturizer, type FeatureOptions } from './features.ts';
import { createStudent, loadStudent, STUDENT_TASK_DEFAULTS, validationSplit } from './student.ts';

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
    // image statistics alone, so every column is one the folders decide
    const families = { userChars: false, agentChars: false, ocrChars: false, words: false, layout: false };
    const one = await fitFeaturizer(rows, { imagesDir: join(MIRE, 'images'), families });
    const both = await fitFeaturizer(rows, { imagesDir: [empty, join(MIRE, 'images')], families });
    const none = await fitFeaturizer(rows, { imagesDir: empty, families, onImageError: () => {} });
    const [a, b, c] = await Promise.all([one.transform(rows), both.transform(rows), none.transform(rows)]);
    expect(b.rows).toEqual(a.rows);
    const distinct = (m: typeof a) => new Set(m.rows.map((r) => JSON.stringify([Array.from(r.indices), Array.from(r.values)]))).size;
    // the pictures differ, so their statistics do
    expect(distinct(a)).toBeGreaterThan(rows.length / 2);
    // with no folder holding them, every row (one image each) gets the same columns: nothing to learn from
    expect(new Set(rows.map((r) => r.turns.flatMap((t) => t.images).length)).size).toBe(1);
    expect(distinct(c)).toBe(1);
  });
});

describe('student hygiene (issue 14, point 5)', () => {
  it('holds out whole lineages, stratified by label, to choose the iteration count', () => {
    const base = samples.filter((s) => s.task === 'intent').slice(0, 60);
    // two augmented copies of every row: a copy's lineage root is its source
    const rows = [...base, ...base.flatMap((s) => [{ ...s, id: `${s.id}-a1`, parentId: s.id }, { ...s, id: `${s.id}-a2`, parentId: `${s.id}-a1` }])];
    const held = new Set(validationSplit(rows, rows.map((r) => r.label), { fraction: 0.2, seed: 3 }));
    expect(held.size).toBeGreaterThan(0);
    const root = (id: string) => id.replace(/-a\d$/, '');
    for (const s of base) {
      const family = rows.map((r, i) => [r, i] as const).filter(([r]) => root(r.id) === s.id).map(([, i]) => held.has(i));
      expect(new Set(family).size, s.id).toBe(1);
    }
    // labels with several lineages give rows to the held-out part, no label gives all of its rows
    const byLabel = new Map<string, boolean[]>();
    rows.forEach((r, i) => byLabel.set(r.label!, [...(byLabel.get(r.label!) ?? []), held.has(i)]));
    for (const flags of byLabel.values()) expect(flags.every(Boolean)).toBe(false);
  });

  it('keys image statistics by the image bytes, reports unreadable images, and asks for imagesDir / lexicon when loading', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-imgkey-'));
    const scene = samples.filter((s) => s.task === 'scene').slice(0, 12);
    const one = scene[0]!;
    const name = one.turns.flatMap((t) => t.images)[0]!.path;
    const other = scene[5]!.turns.flatMap((t) => t.images)[0]!.path;
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await copyFile(join(MIRE, 'images', name), join(dir, name));
    const featurizer = await fitFeaturizer(scene, { imagesDir: join(MIRE, 'images'), families: { userChars: false, agentChars: false, ocrChars: false, words: false, layout: false } });
    const again = loadFeaturizer(featurizer.toJSON(), { imagesDir: dir });
    const before = (await again.transform([one])).rows[0];
    await copyFile(join(MIRE, 'images', other), join(dir, name)); // another picture under the same name
    const after = (await again.transform([one])).rows[0];
    expect(after).not.toEqual(before);
    const errors: string[] = [];
    const missing = loadFeaturizer(featurizer.toJSON(), { imagesDir: join(dir, 'nowhere'), onImageError: (e) => errors.push(`${e.code}: ${e.message}`) });
    await missing.transform([one]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(name);
    expect(() => loadFeaturizer(featurizer.toJSON())).toThrow(/trained with image statistics: pass imagesDir/);
    const student = createStudent({ features: { imagesDir: join(MIRE, 'images') }, maxIter: 5 });
    await student.fit(scene);
    await student.save(join(dir, 'student.json'));
    await expect(loadStudent(join(dir, 'student.json'))).rejects.toMatchObject({ code: 'config-invalid' });
    await expect(loadStudent(join(dir, 'none.json'))).rejects.toMatchObject({ code: 'io' });
    await expect(student.predictProba(samples.filter((s) => s.task === 'intent').slice(0, 1))).rejects.toMatchObject({ code: 'config-invalid' });
  }, 60_000);

  it('reads intent from the customer\'s last turn and half-weighted agent turns, without dialogue-image OCR, unless told otherwise', async () => {
    const intent = samples.filter((s) => s.task === 'intent');
    // OCR lines attached to a dialogue image: by default the intent model must not read them
    const withOcr = intent.map((s) => {
      const img = s.turns.flatMap((t) => t.images)[0];
      return img ? { ...s, ocr: { [img.sha256 ?? img.path]: [{ text: '退货退款', confidence: 0.99, box: [0.1, 0.1, 0.5, 0.2] as [number, number, number, number] }] } } : s;
    });
    const vocabsOf = (student: ReturnType<typeof createStudent>) => Object.keys((JSON.parse(student.serialize()).tasks.intent.featurizer as { vocabs: object }).vocabs);
    const student = createStudent({ maxIter: 20 });
    await student.fit(withOcr);
    expect(vocabsOf(student)).toEqual(['user', 'lastUser', 'agent']);
    // asked for, OCR and words come back
    const told = createStudent({ maxIter: 20, features: { families: { ocrChars: true, words: true, lastUserChars: false } } });
    await told.fit(withOcr);
    expect(vocabsOf(told)).toEqual(['user', 'agent', 'ocr', 'words']);
    expect((JSON.parse(told.serialize()).tasks.intent.featurizer as { vocabs: { ocr: { terms: string[] } } }).vocabs.ocr.terms).toEqual(expect.arrayContaining(['退', '货']));
    // a block weight is that block's share of the row's norm
    const rows = intent.slice(0, 40);
    const plain = await fitFeaturizer(rows, { families: { words: false, layout: false, ocrChars: false } });
    const half = await fitFeaturizer(rows, { families: { words: false, layout: false, ocrChars: false }, blockWeights: { agent: 0.5 } });
    const [a] = (await plain.transform([rows[0]!])).rows;
    const [b] = (await half.transform([rows[0]!])).rows;
    const [lo, hi] = plain.ranges['agent']!;
    const norm = (r: { indices: Int32Array; values: Float32Array }) => Math.hypot(...Array.from(r.values).filter((_, j) => r.indices[j]! >= lo && r.indices[j]! < hi));
    expect(norm(a!)).toBeCloseTo(1, 5);
    expect(norm(b!)).toBeCloseTo(0.5, 5);
  }, 60_000);

  it('takes per-task settings over the shared ones over the task defaults, and leaves the other task alone', async () => {
    const rows = samples.filter((s) => s.task === 'intent').slice(0, 60).concat(samples.filter((s) => s.task === 'scene').slice(0, 60));
    const stateOf = (student: ReturnType<typeof createStudent>, task: string) => JSON.parse(student.serialize()).tasks[task].featurizer as { options: { minDf?: number; families: Record<string, boolean>; blockWeights: Record<string, number> }; vocabs: Record<string, { terms: string[] }> };
    const student = createStudent({ maxIter: 5, features: { minDf: 3, blockWeights: { agent: 0.8 } }, tasks: { intent: { features: { minDf: 1, families: { words: true } } } } });
    await student.fit(rows);
    const intent = stateOf(student, 'intent');
    const scene = stateOf(student, 'scene');
    // intent: its own minDf and words, the shared agent weight over its default 0.5, its other defaults kept
    expect(intent.options.minDf).toBe(1);
    expect(intent.options.blockWeights.agent).toBe(0.8);
    expect(intent.options.families).toMatchObject({ words: true, lastUserChars: true, ocrChars: false, image: false });
    // scene: the shared settings only
    expect(scene.options.minDf).toBe(3);
    expect(scene.options.families).toMatchObject({ words: true, ocrChars: true, lastUserChars: false });
    // minDf 1 keeps characters seen once, minDf 3 drops them
    const plain = createStudent({ maxIter: 5, tasks: { intent: { features: { minDf: 3 } } } });
    await plain.fit(rows);
    expect(intent.vocabs['user']!.terms.length).toBeGreaterThan(stateOf(plain, 'intent').vocabs['user']!.terms.length);
    expect(STUDENT_TASK_DEFAULTS.intent.features.families).toMatchObject({ ocrChars: false, lastUserChars: true });
    // a key set to undefined (possible from JavaScript) is not set: the defaults stay
    const unset = createStudent({ maxIter: 5, features: { families: { image: undefined, ocrChars: undefined }, blockWeights: { agent: undefined } } as unknown as FeatureOptions });
    await unset.fit(rows);
    expect(stateOf(unset, 'intent').options).toMatchObject({ families: { image: false, ocrChars: false }, blockWeights: { agent: 0.5 } });
  }, 60_000);

  it('trains intent, not scene, on the rows\' LLM rationales by default; either task can be switched', async () => {
    const rows = samples.filter((s) => s.task === 'intent').slice(0, 60).concat(samples.filter((s) => s.task === 'scene').slice(0, 60));
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-rationales-'));
    // a rationale for every row, holding a character no official row has
    await writeFile(join(dir, 'r.jsonl'), rows.map((r) => JSON.stringify({ id: r.id, label: r.label, reason: `因为用户问到了彁${r.label}` })).join('\n'));
    const { samples: extra } = await importRationales(rows, join(dir, 'r.jsonl'));
    expect(extra).toHaveLength(120);
    const terms = (student: ReturnType<typeof createStudent>, task: string) => (JSON.parse(student.serialize()).tasks[task].featurizer as { vocabs: { user: { terms: string[] } } }).vocabs.user.terms;
    const student = createStudent({ maxIter: 5 });
    await student.fit([...rows, ...extra]);
    expect(STUDENT_TASK_DEFAULTS.intent.rationales).toBe(true);
    expect(terms(student, 'intent')).toContain('彁');
    expect(terms(student, 'scene')).not.toContain('彁');
    const switched = createStudent({ maxIter: 5, tasks: { intent: { rationales: false }, scene: { rationales: true } } });
    await switched.fit([...rows, ...extra]);
    expect(terms(switched, 'intent')).not.toContain('彁');
    expect(terms(switched, 'scene')).toContain('彁');
    // without rationale rows, the default student is the same as one told to leave them out
    const none = createStudent({ maxIter: 5 });
    await none.fit(rows);
    const off = createStudent({ maxIter: 5, tasks: { intent: { rationales: false } } });
    await off.fit([...rows, ...extra]);
    expect(JSON.parse(off.serialize()).tasks).toEqual(JSON.parse(none.serialize()).tasks);
  }, 60_000);
});
