/**
 * Counter-based seeding for the training loop.
 *
 * Why counter-based: a resumed run must draw exactly the same shuffles and NTK probes as an
 * uninterrupted one. Deriving every random stream from (run seed, epoch, batch, ...) means the
 * only "RNG state" a checkpoint needs is the epoch counter, and no generator state has to be
 * serialised.
 */

/**
 * Mixes a base seed with any number of integer counters into a 31-bit non-negative seed
 * (murmur3-style finaliser per part), usable by tfjs initialisers and `tf.randomNormal`.
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

/** A small, fast uniform [0, 1) generator (mulberry32); deterministic for a given seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Fisher-Yates permutation of 0..n-1 determined by `seed`. */
export function seededPermutation(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
