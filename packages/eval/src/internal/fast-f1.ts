/**
 * Encoded rows of one task for fast resampling: class indices of gold and prediction
 * (prediction -1 = missing or a label outside the scored set).
 */
export interface EncodedTask {
  gold: Int32Array;
  pred: Int32Array;
  k: number;
}

/** Encodes gold/pred labels against a label list. */
export function encodeTask(gold: readonly string[], pred: readonly string[], labels: readonly string[]): EncodedTask {
  const index = new Map(labels.map((l, i) => [l, i]));
  const g = new Int32Array(gold.length);
  const p = new Int32Array(gold.length);
  for (let i = 0; i < gold.length; i++) {
    g[i] = index.get(gold[i]!) ?? -1;
    p[i] = index.get(pred[i]!) ?? -1;
  }
  return { gold: g, pred: p, k: labels.length };
}

/** Scratch buffers reused across resamples. */
export interface Scratch {
  tp: Float64Array;
  pr: Float64Array;
  tr: Float64Array;
}

export function scratch(k: number): Scratch {
  return { tp: new Float64Array(k), pr: new Float64Array(k), tr: new Float64Array(k) };
}

/**
 * Weighted F1 (zero_division 0) of the rows `idx` (indices into the task, repeats allowed), or of
 * all rows when `idx` is undefined. Plain summation: used for resampling, not for reported values.
 */
export function weightedF1Of(task: EncodedTask, idx: Int32Array | undefined, s: Scratch): number {
  s.tp.fill(0);
  s.pr.fill(0);
  s.tr.fill(0);
  const n = idx ? idx.length : task.gold.length;
  for (let j = 0; j < n; j++) {
    const i = idx ? idx[j]! : j;
    const g = task.gold[i]!;
    const p = task.pred[i]!;
    if (g >= 0) s.tr[g]!++;
    if (p >= 0) s.pr[p]!++;
    if (g >= 0 && g === p) s.tp[g]!++;
  }
  let num = 0;
  let den = 0;
  for (let c = 0; c < task.k; c++) {
    const t = s.tr[c]!;
    if (t === 0) continue;
    const d = t + s.pr[c]!;
    num += t * ((2 * s.tp[c]!) / d);
    den += t;
  }
  return den === 0 ? 0 : num / den;
}
