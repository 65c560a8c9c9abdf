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
  /** Called every iteration with the loss (for early stopping, return true to stop). */
  onIteration?: (iteration: number, loss: number, weights: Float64Array) => boolean | void;
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
 * `theta = [W (k x d, row-major), b (k)]`; the bias is not penalised. Writes the gradient into `grad`
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

  const z = new Float64Array(k);
  const zt = new Float64Array(k);
  return (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    const model = { k, d, w: theta.subarray(0, k * d), b: theta.subarray(k * d) };
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = x.rows[i]!;
      decision(model, row, z);
      const g = targets.gold[i]!;
      const q = softT?.[i];
      const a = q ? (g >= 0 ? alpha : 0) : 1;
      // residual r = dLoss/dz
      const r = new Float64Array(k);
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
      for (let c = 0; c < k; c++) {
        const rc = C * sw[i]! * r[c]!;
        if (rc === 0) continue;
        const base = c * d;
        for (let j = 0; j < row.indices.length; j++) grad[base + row.indices[j]!]! += rc * row.values[j]!;
        grad[k * d + c]! += rc;
      }
    }
    loss *= C;
    for (let j = 0; j < k * d; j++) {
      loss += 0.5 * theta[j]! * theta[j]!;
      grad[j]! += theta[j]!;
    }
    return loss;
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
  const result = lbfgs(theta, evaluate, { maxIter: options.maxIter ?? 500, tol: options.tol ?? 1e-4, memory: options.memory ?? 10, ...(options.onIteration ? { onIteration: options.onIteration } : {}) });
  return { k, d, w: theta.slice(0, k * d), b: theta.slice(k * d), iterations: result.iterations, loss: result.loss };
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
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
    return s;
  };
  const maxAbs = (a: Float64Array) => {
    let m = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[i]!));
    return m;
  };
  let iter = 0;
  for (; iter < options.maxIter; iter++) {
    if (maxAbs(g) <= options.tol) break;
    // two-loop recursion: dir = -H g
    for (let i = 0; i < n; i++) dir[i] = -g[i]!;
    const alphas: number[] = [];
    for (let j = S.length - 1; j >= 0; j--) {
      const a = rho[j]! * dot(S[j]!, dir);
      alphas[j] = a;
      for (let i = 0; i < n; i++) dir[i]! -= a * Y[j]![i]!;
    }
    if (S.length) {
      const last = S.length - 1;
      const gamma = dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!);
      for (let i = 0; i < n; i++) dir[i]! *= gamma;
    } else {
      const scale = 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let i = 0; i < n; i++) dir[i]! *= scale;
    }
    for (let j = 0; j < S.length; j++) {
      const b = rho[j]! * dot(Y[j]!, dir);
      for (let i = 0; i < n; i++) dir[i]! += S[j]![i]! * (alphas[j]! - b);
    }
    let slope = dot(g, dir);
    if (slope >= 0) {
      // not a descent direction: restart from steepest descent
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
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
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-10) {
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
      if (S.length > options.memory) {
        S.shift();
        Y.shift();
        rho.shift();
      }
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
