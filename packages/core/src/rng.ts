/**
 * A seeded pseudo-random generator (sfc32, seeded through splitmix32). Pure 32-bit integer
 * arithmetic, so the same seed gives the same stream on every platform and Node version.
 */
export interface Rng {
  /** Next unsigned 32-bit integer. */
  nextUint32(): number;
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform float in [min, max). */
  uniform(min: number, max: number): number;
  /** Standard normal variate (Box-Muller). */
  normal(): number;
  /** True with probability p. */
  bernoulli(p: number): boolean;
  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[];
  /** An independent generator derived from this one's seed and a label (order-independent). */
  fork(label: string | number): Rng;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** 32-bit FNV-1a hash of a string's UTF-16 code units (used to turn string seeds into numbers). */
export function hashSeed(seed: string | number): number {
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
    // fold the float's 64 bits into 32 so that 1 and 1.5 differ
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, seed);
    return (view.getUint32(0) ^ Math.imul(view.getUint32(4), 0x9e3779b1)) >>> 0;
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Creates a seeded generator. Same seed, same stream, everywhere.
 *
 * @example
 * ```ts
 * const rng = createRng(42);
 * rng.shuffle([1, 2, 3]); // always the same order for seed 42
 * const child = rng.fork('fold-3'); // independent, reproducible sub-stream
 * ```
 */
export function createRng(seed: string | number): Rng {
  const base = hashSeed(seed);
  const sm = splitmix32(base);
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  const nextUint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) nextUint32();
  let spare: number | undefined;
  const rng: Rng = {
    nextUint32,
    float: () => nextUint32() / 4294967296,
    int(n) {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`int(n) needs a positive integer, got ${n}`);
      if (n > 4294967296) throw new RangeError('int(n) supports n <= 2^32');
      // rejection sampling: no modulo bias
      const limit = 4294967296 - (4294967296 % n);
      let x = nextUint32();
      while (x >= limit) x = nextUint32();
      return x % n;
    },
    uniform: (min, max) => min + (max - min) * rng.float(),
    normal() {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = rng.float();
      const v = rng.float();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    bernoulli: (p) => rng.float() < p,
    pick(items) {
      if (items.length === 0) throw new RangeError('pick() from an empty list');
      return items[rng.int(items.length)]!;
    },
    shuffle(items) {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = out[i]!;
        out[i] = out[j]!;
        out[j] = t;
      }
      return out;
    },
    fork: (label) => createRng(`${base}:${typeof label}:${label}`),
  };
  return rng;
}
