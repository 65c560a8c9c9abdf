import type { SparseMatrix, SparseRow } from './sparse.ts';

/** Options of {@link fitLogisticRegression}. */
export interface LogRegOptions {
  /** Inverse L2 strength, as scikit-learn's `C` (loss = 0.5 ||W||^2 + C * sum of weighted losses). @default 1 */
  C?: number;
  /** L-BFGS iterations at most. @default 500 */
  maxIter?: number;
  /** Stop when the gradient's largest entry is below this (scikit-learn's `tol` on the projected gradient). @default 1e-4 */
  tol?: number;
  /** L-BFGS memory. @default 10 */
  memory?: number;
  /** Weight of each row (class weights are folded in by the caller). @default 1 each */
  sampleWeight?: Float64Array;
  /** Distillation temperature for the soft targets. @default 1 */
  temperature?: number;
  /**
   * Called every iteration with the loss and a function returning the current model (a copy, for
   * early stopping on held-out rows); return true to stop.
   */
  onIteration?: (iteration: number, loss: number, current: () => Pick<LogRegModel, 'k' | 'd' | 'w' | 'b'>) => boolean | void;
}

/** Targets of row i: a gold class (or -1), and optionally teacher probabilities with their weight. */
export interface Targets {
  /** Gold class per row, -1 for none. */
  gold: Int32Array;
  /** Teacher probabilities per row (length K each) or undefined. */
  soft?: ReadonlyArray<Float64Array | undefined>;
  /** Weight of the gold cross-entropy against the soft KL term, in [0, 1]. @default 1 (gold only) */
  alpha?: number;
}

/** A trained multinomial logistic regression: K classes x D features, plus intercepts. */
export interface LogRegModel {
  /** Classes. */
  k: number;
  /** Features. */
  d: number;
  /** Weights, row-major K x D. */
  w: Float64Array;
  /** Intercepts (not penalised, as in scikit-learn). */
  b: Float64Array;
  /** Iterations run and final loss. */
  iterations: number;
  /** Final objective value. */
  loss: number;
}

/** Class scores Wx + b of a row. */
export function decision(model: Pick<LogRegModel, 'k' | 'd' | 'w' | 'b'>, x: SparseRow, out = new Float64Array(model.k)): Float64Array {
  for (let c = 0; c < model.k; c++) {
    let s = model.b[c]!;
    const base = c * model.d;
    for (let j = 0; j < x.indices.length; j++) s += model.w[base + x.indices[j]!]! * x.values[j]!;
    out[c] = s;
  }
  return out;
}

/** Softmax in place (numerically stable), optionally at a temperature. */
export function softmax(z: Float64Array, temperature = 1): Float64Array {
  let max = -Infinity;
  for (const v of z) if (v / temperature > max) max = v / temperature;
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    z[i] = Math.exp(z[i]! / temperature - max);
    sum += z[i]!;
  }
  for (let i = 0; i < z.length; i++) z[i]! /= sum;
  return z;
}

/**
 * The objective L-BFGS minimises for {@link fitLogisticRegression}, and its analytic gradient:
 * `C * sum_i w_i [a CE(gold) + (1 - a) T^2 KL(q_T || p_T)] + ||W||^2 / 2` over the parameters
 * `theta = [W, b]`, W stored feature-major (the k class weights of feature j at `j * k .. j * k + k`,
 * so a sparse row touches k contiguous numbers per non-zero), b (k); the bias is not penalised. Writes the gradient into `grad`
 * and returns the loss.
 */
export function logRegObjective(x: SparseMatrix, k: number, targets: Targets, options: Pick<LogRegOptions, 'C' | 'sampleWeight' | 'temperature'> = {}): (theta: Float64Array, grad: Float64Array) => number {
  const n = x.rows.length;
  const d = x.cols;
  const C = options.C ?? 1;
  const T = options.temperature ?? 1;
  const alpha = targets.alpha ?? 1;
  const sw = options.sampleWeight ?? new Float64Array(n).fill(1);
  // soft targets at temperature T
  const softT = targets.soft?.map((q) => {
    if (!q) return undefined;
    const z = Float64Array.from(q, (p) => Math.log(Math.max(p, 1e-12)));
    return softmax(z, T);
  });

  // the rows as one CSR block in float64 (one tight loop per row and class, no per-row allocations)
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) indptr[i + 1] = indptr[i]! + x.rows[i]!.indices.length;
  const idx = new Int32Array(indptr[n]!);
  const val = new Float64Array(indptr[n]!);
  x.rows.forEach((row, i) => {
    idx.set(row.indices, indptr[i]!);
    val.set(row.values, indptr[i]!);
  });
  const z = new Float64Array(k);
  const zt = new Float64Array(k);
  const r = new Float64Array(k);
  const kd = k * d;
  return (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const lo = indptr[i]!;
      const hi = indptr[i + 1]!;
      for (let c = 0; c < k; c++) z[c] = theta[kd + c]!;
      for (let j = lo; j < hi; j++) {
        const base = idx[j]! * k;
        const v = val[j]!;
        for (let c = 0; c < k; c++) z[c]! += theta[base + c]! * v;
      }
      const g = targets.gold[i]!;
      const q = softT?.[i];
      const a = q ? (g >= 0 ? alpha : 0) : 1;
      // residual r = dLoss/dz
      r.fill(0);
      if (g >= 0 && a > 0) {
        zt.set(z);
        softmax(zt);
        loss -= sw[i]! * a * Math.log(Math.max(zt[g]!, 1e-300));
        for (let c = 0; c < k; c++) r[c]! += a * (zt[c]! - (c === g ? 1 : 0));
      }
      if (q && a < 1) {
        zt.set(z);
        softmax(zt, T);
        let kl = 0;
        for (let c = 0; c < k; c++) if (q[c]! > 0) kl += q[c]! * (Math.log(q[c]!) - Math.log(Math.max(zt[c]!, 1e-300)));
        loss += sw[i]! * (1 - a) * T * T * kl;
        for (let c = 0; c < k; c++) r[c]! += (1 - a) * T * (zt[c]! - q[c]!);
      }
      const ci = C * sw[i]!;
      for (let c = 0; c < k; c++) {
        r[c]! *= ci;
        grad[kd + c]! += r[c]!;
      }
      for (let j = lo; j < hi; j++) {
        const base = idx[j]! * k;
        const v = val[j]!;
        for (let c = 0; c < k; c++) grad[base + c]! += r[c]! * v;
      }
    }
    loss *= C;
    let reg = 0;
    for (let j = 0; j < kd; j++) {
      const t = theta[j]!;
      reg += t * t;
      grad[j]! += t;
    }
    return loss + 0.5 * reg;
  };
}

/**
 * Fits multinomial logistic regression with L2 by L-BFGS (scikit-learn's `LogisticRegression(
 * multi_class='multinomial', solver='lbfgs')` objective: 0.5 ||W||^2 + C sum_i s_i loss_i, intercept
 * unpenalised). The loss per row is the distillation loss
 * alpha * CE(gold) + (1 - alpha) * T^2 * KL(teacher_T || student_T); rows with only a teacher
 * distribution use the KL term alone, rows with only gold the CE alone.
 */
export function fitLogisticRegression(x: SparseMatrix, k: number, targets: Targets, options: LogRegOptions = {}): LogRegModel {
  const d = x.cols;
  const theta = new Float64Array(k * d + k);
  const evaluate = logRegObjective(x, k, targets, options);
  // theta's W is feature-major; the model keeps scikit-learn's class-major coef_ (K x D)
  const model = (t: Float64Array) => {
    const w = new Float64Array(k * d);
    for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) w[c * d + j] = t[j * k + c]!;
    return { k, d, w, b: t.slice(k * d) };
  };
  const onIteration = options.onIteration;
  const result = lbfgs(theta, evaluate, { maxIter: options.maxIter ?? 500, tol: options.tol ?? 1e-4, memory: options.memory ?? 10, ...(onIteration ? { onIteration: (i: number, loss: number, t: Float64Array) => onIteration(i, loss, () => model(t)) } : {}) });
  return { ...model(theta), iterations: result.iterations, loss: result.loss };
}

/** Minimises f with L-BFGS (two-loop recursion, backtracking line search with the Armijo condition). */
export function lbfgs(
  x: Float64Array,
  f: (x: Float64Array, grad: Float64Array) => number,
  options: { maxIter: number; tol: number; memory: number; onIteration?: (iteration: number, loss: number, x: Float64Array) => boolean | void },
): { iterations: number; loss: number } {
  const n = x.length;
  const g = new Float64Array(n);
  let fx = f(x, g);
  // the last `memory` pairs (s, y) in a ring of preallocated vectors: S[slot(j)] is the j-th oldest
  const m = options.memory;
  const S = Array.from({ length: m }, () => new Float64Array(n));
  const Y = Array.from({ length: m }, () => new Float64Array(n));
  const rho = new Float64Array(m);
  const alphas = new Float64Array(m);
  let sSpare = new Float64Array(n);
  let ySpare = new Float64Array(n);
  let stored = 0;
  let head = 0;
  const slot = (j: number) => (head + j) % m;
  const dir = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
    return s;
  };
  const maxAbs = (a: Float64Array) => {
    let mx = 0;
    for (let i = 0; i < n; i++) mx = Math.max(mx, Math.abs(a[i]!));
    return mx;
  };
  let iter = 0;
  for (; iter < options.maxIter; iter++) {
    if (maxAbs(g) <= options.tol) break;
    // two-loop recursion: dir = -H g
    for (let i = 0; i < n; i++) dir[i] = -g[i]!;
    for (let j = stored - 1; j >= 0; j--) {
      const sj = S[slot(j)]!, yj = Y[slot(j)]!;
      const a = rho[slot(j)]! * dot(sj, dir);
      alphas[j] = a;
      for (let i = 0; i < n; i++) dir[i]! -= a * yj[i]!;
    }
    if (stored) {
      const sl = S[slot(stored - 1)]!, yl = Y[slot(stored - 1)]!;
      const gamma = dot(sl, yl) / dot(yl, yl);
      for (let i = 0; i < n; i++) dir[i]! *= gamma;
    } else {
      const scale = 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let i = 0; i < n; i++) dir[i]! *= scale;
    }
    for (let j = 0; j < stored; j++) {
      const sj = S[slot(j)]!, yj = Y[slot(j)]!;
      const b = rho[slot(j)]! * dot(yj, dir);
      const c = alphas[j]! - b;
      for (let i = 0; i < n; i++) dir[i]! += sj[i]! * c;
    }
    let slope = dot(g, dir);
    if (slope >= 0) {
      // not a descent direction: restart from steepest descent
      stored = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i]!;
      slope = dot(g, dir);
    }
    let step = 1;
    let fNew = Infinity;
    for (let ls = 0; ls < 40; ls++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * dir[i]!;
      fNew = f(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew < fx) && !(fNew <= fx + 1e-4 * step * slope)) break;
    // the new pair is built in the spare vectors and swapped into the ring (over the oldest pair
    // when it is full) only when it keeps the curvature condition
    let sy = 0;
    for (let i = 0; i < n; i++) {
      sSpare[i] = xNew[i]! - x[i]!;
      ySpare[i] = gNew[i]! - g[i]!;
      sy += sSpare[i]! * ySpare[i]!;
    }
    if (sy > 1e-10 && m > 0) {
      const into = stored < m ? slot(stored) : head;
      [S[into], sSpare] = [sSpare, S[into]!];
      [Y[into], ySpare] = [ySpare, Y[into]!];
      rho[into] = 1 / sy;
      if (stored < m) stored++;
      else head = (head + 1) % m;
    }
    x.set(xNew);
    g.set(gNew);
    const improvement = fx - fNew;
    fx = fNew;
    if (options.onIteration?.(iter + 1, fx, x)) {
      iter++;
      break;
    }
    if (improvement <= 1e-12 * Math.max(1, Math.abs(fx))) {
      iter++;
      break;
    }
  }
  return { iterations: iter, loss: fx };
}
