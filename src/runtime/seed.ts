/**
 * Seeding: deterministic random numbers for shuffles and splits, and integer seeds for tfjs
 * initializers and tf.random* so that a run is repeatable from one number.
 */

function checkSeed(where: string, seed: number): number {
  if (!Number.isFinite(seed) || !Number.isInteger(seed)) {
    throw new Error(`${where}: seed must be a finite integer, got ${String(seed)}`);
  }
  return seed >>> 0;
}

/**
 * A uniform [0, 1) generator (mulberry32: 32-bit state, passes gjrand/PractRand to 2^32
 * outputs, which is plenty for shuffles and initial weights).
 */
export function makeRng(seed: number): () => number {
  let state = checkSeed("makeRng", seed);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed to hand tfjs: tfjs treats a seed of 0 as "no seed" and falls back to Math.random
 * (`seed ? seed : Math.random()` in its random generators and initialisers), so 0 is mapped to
 * another fixed value. Every `seed` passed to a tfjs initialiser or `tf.random*` goes through here.
 */
export function tfSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new Error(`tfSeed: seed must be a finite number, got ${seed}`);
  return seed === 0 ? 2147483647 : seed;
}

/** A stream of integer seeds for tfjs (initializer `seed`, tf.randomNormal(..., seed)). */
export interface SeedStream {
  /** The next seed, an integer in [1, 2^31) (never 0, which tfjs reads as "unseeded"). */
  next(): number;
  /** An independent child stream, e.g. one per layer or per worker. */
  fork(): SeedStream;
}

/** Deterministic integer seeds derived from one seed. */
export function seedStream(seed: number): SeedStream {
  const rng = makeRng(checkSeed("seedStream", seed));
  const next = () => 1 + Math.floor(rng() * 2147483647);
  return { next, fork: () => seedStream(next()) };
}

/** A Fisher-Yates permutation of 0..n-1 drawn from `rng`. */
export function shuffleIndices(n: number, rng: () => number): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new Error(`shuffleIndices: n must be a non-negative integer, got ${String(n)}`);
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx;
}

/** What `withSeed` hands to its body. */
export interface SeedContext {
  /** Uniform [0, 1) generator. */
  rng: () => number;
  /** Integer seeds for tfjs initializers and tf.random*. */
  seeds: SeedStream;
}

/**
 * Runs `body` with an rng and a seed stream derived from `seed`; the same seed gives the same
 * numbers, so a body that draws all its randomness from the context is repeatable.
 */
export function withSeed<T>(seed: number, body: (ctx: SeedContext) => T): T {
  const root = seedStream(checkSeed("withSeed", seed));
  const rng = makeRng(root.next());
  return body({ rng, seeds: root });
}
