import { ConfigValidationError } from '@llm-ir/core';
import { bootstrap, percentileInterval } from './bootstrap.ts';
import { alignPredictions, type GoldRow, type PredictedRow } from './score.ts';

/** One run of a factorial design: which switches were on, and its predictions on the shared test rows. */
export interface FactorialRun {
  /** Run or arm name. */
  name: string;
  /** On/off state of every factor (e.g. `{ ocrTrain: true, rag: false }`). */
  factors: Record<string, boolean>;
  /** Predictions on the gold rows. */
  predictions: readonly PredictedRow[];
}

/** An estimated effect on the headline score. */
export interface Effect {
  /** `ocr` for a main effect, `ocr:rag` for a two-way interaction. */
  term: string;
  /** Main effect or two-way interaction. */
  kind: 'main' | 'interaction';
  /** mean(score | term = +1) - mean(score | term = -1), with factors coded -1 (off) / +1 (on). */
  estimate: number;
  /** Bootstrap percentile interval over test rows. */
  ci95: [number, number];
  /** Other terms whose +/-1 column equals this one's (or its negative) in the design: not separable. */
  aliasedWith: string[];
}

/** What {@link estimateEffects} reports. */
export interface EffectsResult {
  /** Factor names. */
  factors: string[];
  /** Each run's headline score. */
  runs: Array<{ name: string; factors: Record<string, boolean>; score: number }>;
  /** Whether every combination of the factors was run. */
  fullFactorial: boolean;
  /** Main effects, then interactions. */
  effects: Effect[];
}

/**
 * Estimates each switch's main effect and the two-way interactions on the headline score (mean of
 * the tasks' weighted F1) from runs covering a full or fractional factorial design, with bootstrap
 * intervals over test rows: every resample draws the same rows (stratified by task) for all runs,
 * re-scores every run and recomputes every contrast. Effects are the classical contrasts
 * mean(+1) - mean(-1) on -1/+1 coded factors; terms confounded by a fractional design are flagged
 * in `aliasedWith`.
 *
 * @throws {ConfigValidationError} when fewer than two runs are given or a run lacks a factor.
 */
export function estimateEffects(
  gold: readonly GoldRow[],
  runs: readonly FactorialRun[],
  options: { resamples?: number; seed?: number | string; confidence?: number; interactions?: boolean } = {},
): EffectsResult {
  if (runs.length < 2) throw new ConfigValidationError({ issues: [{ path: 'runs', message: 'need at least two runs' }] });
  const factors = [...new Set(runs.flatMap((r) => Object.keys(r.factors)))].sort();
  for (const r of runs) {
    for (const f of factors) {
      if (typeof r.factors[f] !== 'boolean') throw new ConfigValidationError({ issues: [{ path: `runs.${r.name}.factors.${f}`, message: 'missing' }] });
    }
  }
  const terms: Array<{ term: string; kind: 'main' | 'interaction'; col: number[] }> = factors.map((f) => ({ term: f, kind: 'main' as const, col: runs.map((r) => (r.factors[f] ? 1 : -1)) }));
  if (options.interactions ?? true) {
    for (let i = 0; i < factors.length; i++) {
      for (let j = i + 1; j < factors.length; j++) {
        terms.push({ term: `${factors[i]}:${factors[j]}`, kind: 'interaction', col: runs.map((r) => (r.factors[factors[i]!] ? 1 : -1) * (r.factors[factors[j]!] ? 1 : -1)) });
      }
    }
  }
  const usable = terms.filter((t) => t.col.some((x) => x === 1) && t.col.some((x) => x === -1));
  const contrast = (col: number[], y: ArrayLike<number>) => {
    let sp = 0;
    let np = 0;
    let sm = 0;
    let nm = 0;
    col.forEach((x, i) => {
      if (x === 1) {
        sp += y[i]!;
        np++;
      } else {
        sm += y[i]!;
        nm++;
      }
    });
    return sp / np - sm / nm;
  };

  const resamples = options.resamples ?? 1000;
  const boot = bootstrap({ gold, systems: runs.map((r) => alignPredictions(gold, r.predictions).predicted), resamples, seed: options.seed ?? 0 });
  const point = boot.point.map((p) => p.average);
  const dist = usable.map(() => new Float64Array(resamples));
  const y = new Float64Array(runs.length);
  for (let b = 0; b < resamples; b++) {
    boot.draws.forEach((d, k) => (y[k] = d.average[b]!));
    usable.forEach((t, i) => (dist[i]![b] = contrast(t.col, y)));
  }
  const same = (a: number[], b: number[]) => a.every((x, i) => x === b[i]) || a.every((x, i) => x === -b[i]!);
  const combos = new Set(runs.map((r) => factors.map((f) => (r.factors[f] ? 1 : 0)).join('')));
  return {
    factors,
    runs: runs.map((r, i) => ({ name: r.name, factors: r.factors, score: point[i]! })),
    fullFactorial: combos.size === 2 ** factors.length,
    effects: usable.map((t, i) => {
      return {
        term: t.term,
        kind: t.kind,
        estimate: contrast(t.col, point),
        ci95: percentileInterval(dist[i]!, options.confidence ?? 0.95),
        aliasedWith: usable.filter((o) => o !== t && same(o.col, t.col)).map((o) => o.term),
      };
    }),
  };
}
