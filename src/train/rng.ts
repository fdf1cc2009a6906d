/**
 * Counter-based seeding for the training loop.
 *
 * Why counter-based: a resumed run must draw exactly the same shuffles and NTK probes as an
 * uninterrupted one. Deriving every random stream from (run seed, epoch, batch, ...) means the
 * only "RNG state" a checkpoint needs is the epoch counter, and no generator state has to be
 * serialised.
 */
import { makeRng, shuffleIndices } from "../runtime/seed";

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

/** A uniform [0, 1) generator (mulberry32, the runtime's `makeRng`); deterministic for a given seed. */
export function mulberry32(seed: number): () => number {
  return makeRng(seed >>> 0);
}

/** A Fisher-Yates permutation of 0..n-1 determined by `seed` (the runtime's `shuffleIndices`). */
export function seededPermutation(n: number, seed: number): Int32Array {
  return shuffleIndices(n, mulberry32(seed));
}
