/** Per-kernel timing of a piece of tfjs work, for finding the hot kernels. */
import { tf } from "./tf";

/** Total time spent in one kernel. */
export interface KernelTime {
  /** tfjs kernel name, e.g. "Conv2D". */
  kernel: string;
  /** Number of calls. */
  calls: number;
  /** Total milliseconds over all calls (on wasm and cpu: synchronous wall time of each call). */
  totalMs: number;
}

/** Runs `fn` under tf.profile and returns kernel times, hottest first. */
export async function profileKernels(fn: () => void | Promise<void>): Promise<KernelTime[]> {
  const info = await tf.profile(async () => {
    await fn();
    return undefined as unknown as tf.Tensor;
  });
  const byName = new Map<string, KernelTime>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : Number.NaN;
    const row = byName.get(k.name) ?? { kernel: k.name, calls: 0, totalMs: 0 };
    row.calls++;
    row.totalMs += ms;
    byName.set(k.name, row);
  }
  return [...byName.values()].sort((a, b) => b.totalMs - a.totalMs);
}
