import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MIRE_TRAIN } from './__fixtures__/shared-data.ts';
import { parseChallengeRow } from './challenge.ts';
import { lineageRoots, stratifiedKFold, stratifiedSplit } from './split.ts';
import type { ChallengeRow, Sample } from './types.ts';

const official = (JSON.parse(readFileSync(MIRE_TRAIN, 'utf8')) as ChallengeRow[]).map((r) => parseChallengeRow(r));

function countBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

describe('stratifiedKFold on the official rows', () => {
  const folds = stratifiedKFold(official, { k: 5, seed: 13 });

  it('is deterministic per seed and changes with the seed', () => {
    expect(stratifiedKFold(official, { k: 5, seed: 13 })).toEqual(folds);
    expect(stratifiedKFold(official, { k: 5, seed: 14 })).not.toEqual(folds);
  });

  it('keeps every label within one row of its fair share in each fold, and fold sizes balanced', () => {
    const strata = countBy(official, (s) => `${s.task}/${s.label}`);
    for (let f = 0; f < 5; f++) {
      const inFold = countBy(official.filter((_, i) => folds[i] === f), (s) => `${s.task}/${s.label}`);
      for (const [key, n] of strata) {
        const got = inFold.get(key) ?? 0;
        expect(got).toBeGreaterThanOrEqual(Math.floor(n / 5));
        expect(got).toBeLessThanOrEqual(Math.ceil(n / 5));
      }
    }
    const sizes = countBy(folds, String);
    expect(Math.max(...sizes.values()) - Math.min(...sizes.values())).toBeLessThanOrEqual(5);
  });

  it('keeps a lineage (rows sharing parentId) in one fold', () => {
    const augmented: Sample[] = [...official];
    for (const s of official.slice(0, 200)) {
      augmented.push({ ...s, id: `${s.id}#a1`, parentId: s.id });
      augmented.push({ ...s, id: `${s.id}#a2`, parentId: `${s.id}#a1` });
    }
    const f = stratifiedKFold(augmented, { k: 5, seed: 1 });
    const roots = lineageRoots(augmented);
    const foldOfRoot = new Map<string, number>();
    augmented.forEach((_, i) => {
      const r = roots[i]!;
      if (!foldOfRoot.has(r)) foldOfRoot.set(r, f[i]!);
      expect(f[i]).toBe(foldOfRoot.get(r));
    });
    expect(roots[799]).toBe(official[0]!.id);
    expect(roots[800]).toBe(official[0]!.id);
  });
});

describe('stratifiedSplit', () => {
  it('splits about 20% per label, keeps lineages whole and is seeded', () => {
    const { train, test } = stratifiedSplit(official, { testFraction: 0.2, seed: 5 });
    expect(train.length + test.length).toBe(799);
    expect(test.length).toBeGreaterThan(140);
    expect(test.length).toBeLessThan(180);
    const testIds = new Set(test.map((s) => s.id));
    expect(train.some((s) => testIds.has(s.id))).toBe(false);
    for (const [key, n] of countBy(official, (s) => `${s.task}/${s.label}`)) {
      const got = test.filter((s) => `${s.task}/${s.label}` === key).length;
      expect(Math.abs(got - n * 0.2)).toBeLessThanOrEqual(1);
    }
    expect(stratifiedSplit(official, { testFraction: 0.2, seed: 5 }).test.map((s) => s.id)).toEqual(test.map((s) => s.id));
    expect(() => stratifiedSplit(official, { testFraction: 1 })).toThrow(/testFraction/);
  });
});
