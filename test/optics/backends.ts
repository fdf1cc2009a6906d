/** Shared helpers of the optics and frontend tests: the backends every physics test runs on. */
import { initBackend, type BackendName } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";

/** Every analytic test runs on these backends (wasm has no Complex/FFT kernels: the point). */
export const TEST_BACKENDS: readonly BackendName[] = ["cpu", "wasm"];

export async function useBackend(name: BackendName): Promise<void> {
  await initBackend({ backend: name });
}

/** Max |a − b| over two arrays of equal length (throws on length mismatch). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A deterministic uniform [0, 1) generator for test inputs (mulberry32). */
export function testRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs fn and asserts it leaves no tensor behind. */
export async function withoutLeaks<T>(fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`tensor leak: ${after - before} tensors left behind`);
  return out;
}
