/**
 * Seeding, the one seeded-randomness module of the toolkit: deterministic random numbers for
 * shuffles and splits, counter-based seed derivation, and integer seeds for tfjs initializers
 * and tf.random* so that a run is repeatable from one number.
 *
 * Why counter-based derivation ({@link deriveSeed}): a resumed training run must draw exactly the
 * same shuffles and NTK probes as an uninterrupted one. Deriving every random stream from
 * (run seed, epoch, batch, ...) means the only "RNG state" a checkpoint needs is the epoch
 * counter, and no generator state has to be serialised.
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

/** Shuffles `values` in place (Fisher-Yates) with `rng`, and returns it. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(values: T, rng: () => number): T {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
  return values;
}

/** A Fisher-Yates permutation of 0..n-1 drawn from `rng`. */
export function shuffleIndices(n: number, rng: () => number): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new Error(`shuffleIndices: n must be a non-negative integer, got ${String(n)}`);
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return shuffleInPlace(idx, rng);
}

/** A Fisher-Yates permutation of 0..n-1 determined by the integer `seed` (mulberry32 stream). */
export function seededPermutation(n: number, seed: number): Int32Array {
  return shuffleIndices(n, makeRng(seed));
}

/**
 * Mixes a base seed with any number of integer counters into a 31-bit non-negative seed
 * (murmur3-style mixing per part and finaliser), usable by {@link makeRng}, tfjs initialisers and
 * `tf.random*`. Every seed of the training loop (epoch shuffles, NTK probes, teacher caches)
 * and of hold-out splits comes from here.
 */
export function deriveSeed(base: number, ...parts: number[]): number {
  if (!Number.isFinite(base)) {
    throw new Error(`deriveSeed: base seed must be a finite number, got ${base}`);
  }
  let h = (Math.trunc(base) ^ 0x9e3779b9) >>> 0;
  for (const part of parts) {
    let k = Math.trunc(part) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) & 0x7fffffff;
}

/**
 * The seed mix of generated data sets and accuracy estimation (a 32-bit seed from a seed and
 * counters). It predates {@link deriveSeed} and is kept, not replaced by it, because the
 * recorded generated car sets and estimates of `results/` were drawn with it; new code derives
 * seeds with {@link deriveSeed}.
 */
export function mixSeed(seed: number, ...parts: number[]): number {
  if (!Number.isInteger(seed)) throw new Error(`seed: got ${seed}; expected an integer`);
  let h = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  for (const part of parts) {
    h = Math.imul(h ^ (Math.trunc(part) >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
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
