/**
 * Seeded randomness for data handling (splits, sampling, shuffling, generated sets).
 * Seeds are plain integers, so callers can pass the same run seed everywhere.
 */
import { makeRng, shuffleIndices } from "../runtime/seed";

/** Uniform [0, 1) generator for data handling: the runtime's seeded generator. */
export function dataRng(seed: number): () => number {
  return makeRng(seed);
}

/** Mixes a seed with integer counters (e.g. an epoch number) into a new 32-bit seed. */
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

/** Shuffles `values` in place (Fisher-Yates) with `rand`, and returns it. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(values: T, rand: () => number): T {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
  return values;
}

/** A seeded permutation of 0..n-1 (the runtime's `shuffleIndices` over `dataRng(seed)`). */
export function permutation(n: number, seed: number): Int32Array {
  return shuffleIndices(n, dataRng(seed));
}
