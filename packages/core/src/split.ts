import { ConfigValidationError } from './errors.ts';
import { createRng } from './rng.ts';
import type { Sample } from './types.ts';

type SplitItem = Pick<Sample, 'id' | 'task' | 'label' | 'parentId'>;

/**
 * The lineage root of every row: follows `parentId` up through the rows given, so an augmented row,
 * its source and every other row derived from that source share one root id.
 */
export function lineageRoots(samples: readonly Pick<Sample, 'id' | 'parentId'>[]): string[] {
  const parent = new Map<string, string | undefined>();
  for (const s of samples) parent.set(s.id, s.parentId);
  const rootOf = (id: string): string => {
    let cur = id;
    const seen = new Set<string>();
    for (let p = parent.get(cur); p !== undefined && !seen.has(p); p = parent.get(cur)) {
      seen.add(cur);
      cur = p;
    }
    return cur;
  };
  return samples.map((s) => rootOf(s.id));
}

interface Group {
  root: string;
  stratum: string;
  members: number[];
}

function groupsOf(samples: readonly SplitItem[]): Group[] {
  const roots = lineageRoots(samples);
  const byRoot = new Map<string, Group>();
  samples.forEach((s, i) => {
    const root = roots[i]!;
    let g = byRoot.get(root);
    if (!g) {
      g = { root, stratum: '', members: [] };
      byRoot.set(root, g);
    }
    g.members.push(i);
  });
  const indexOf = new Map(samples.map((s, i) => [s.id, i]));
  for (const g of byRoot.values()) {
    // stratum of a lineage: the root row's task and label if present, else its first member's
    const rep = samples[indexOf.get(g.root) ?? g.members[0]!]!;
    g.stratum = `${rep.task}\u0000${rep.label ?? ''}`;
  }
  return [...byRoot.values()].sort((a, b) => (a.root < b.root ? -1 : a.root > b.root ? 1 : 0));
}

function byStratum(groups: readonly Group[]): Map<string, Group[]> {
  const m = new Map<string, Group[]>();
  for (const g of groups) {
    const list = m.get(g.stratum);
    if (list) list.push(g);
    else m.set(g.stratum, [g]);
  }
  return new Map([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Options of {@link stratifiedKFold}. */
export interface KFoldOptions {
  /** Number of folds. @default 5 */
  k?: number;
  /** Seed of the shuffle. @default 0 */
  seed?: number | string;
}

/**
 * Assigns every row to one of `k` folds, stratified by task and label and grouped by lineage: rows
 * that share a `parentId` lineage always land in the same fold. Within each stratum, lineages are
 * shuffled (seeded) and dealt to the fold that has the fewest rows of that stratum (then the fewest
 * rows overall), which keeps label proportions within one row of each other across folds.
 *
 * @returns the fold index of each row, in input order.
 * @example
 * ```ts
 * const folds = stratifiedKFold(samples, { k: 5, seed: 13 });
 * const test = samples.filter((_, i) => folds[i] === 0);
 * ```
 */
export function stratifiedKFold(samples: readonly SplitItem[], options: KFoldOptions = {}): number[] {
  const k = options.k ?? 5;
  if (!Number.isInteger(k) || k < 2) throw new ConfigValidationError({ issues: [{ path: 'k', message: `must be an integer >= 2, got ${k}` }] });
  const rng = createRng(options.seed ?? 0);
  const folds = new Array<number>(samples.length).fill(0);
  const totals = new Array<number>(k).fill(0);
  for (const [stratum, groups] of byStratum(groupsOf(samples))) {
    const local = new Array<number>(k).fill(0);
    const order = rng.fork(stratum).shuffle(groups);
    // bigger lineages first so they are spread before singletons fill the gaps (stable for ties)
    order.sort((a, b) => b.members.length - a.members.length);
    const offset = rng.fork(`${stratum}:offset`).int(k);
    for (const g of order) {
      let best = -1;
      for (let j = 0; j < k; j++) {
        const f = (j + offset) % k;
        if (best === -1 || local[f]! < local[best]! || (local[f] === local[best] && totals[f]! < totals[best]!)) best = f;
      }
      for (const i of g.members) folds[i] = best;
      local[best]! += g.members.length;
      totals[best]! += g.members.length;
    }
  }
  return folds;
}

/** Options of {@link stratifiedSplit}. */
export interface SplitOptions {
  /** Fraction of rows (by lineage) in the test part, in (0, 1). @default 0.2 */
  testFraction?: number;
  /** Seed of the shuffle. @default 0 */
  seed?: number | string;
}

/**
 * Splits rows into train and test parts, stratified by task and label, keeping each lineage
 * whole. Each stratum gives `round(testFraction * rows)` rows to test (at least one when the
 * stratum has two or more lineages, never all of them).
 */
export function stratifiedSplit<T extends SplitItem>(samples: readonly T[], options: SplitOptions = {}): { train: T[]; test: T[] } {
  const fraction = options.testFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) {
    throw new ConfigValidationError({ issues: [{ path: 'testFraction', message: `must be in (0, 1), got ${fraction}` }] });
  }
  const rng = createRng(options.seed ?? 0);
  const isTest = new Array<boolean>(samples.length).fill(false);
  for (const [stratum, groups] of byStratum(groupsOf(samples))) {
    const rows = groups.reduce((n, g) => n + g.members.length, 0);
    let want = Math.round(rows * fraction);
    if (groups.length >= 2) want = Math.min(Math.max(want, 1), rows - 1);
    else want = 0;
    let taken = 0;
    for (const g of rng.fork(stratum).shuffle(groups)) {
      if (taken >= want) break;
      if (taken + g.members.length > want && taken > 0) continue;
      for (const i of g.members) isTest[i] = true;
      taken += g.members.length;
    }
  }
  const train: T[] = [];
  const test: T[] = [];
  samples.forEach((s, i) => (isTest[i] ? test : train).push(s));
  return { train, test };
}
