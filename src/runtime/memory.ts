/** Tensor-leak guards for training loops and tests. */
import { tf } from "./tf";

/** Number of tensors alive on the tfjs engine. */
export function tensorCount(): number {
  return tf.memory().numTensors;
}

/**
 * Runs `fn` and throws when it leaves more tensors alive than before (tensors it returns are
 * allowed: pass `allowed` for their number). `label` names the call site in the message.
 */
export async function assertNoTensorLeak<T>(fn: () => T | Promise<T>, label: string, allowed = 0): Promise<T> {
  const before = tensorCount();
  const result = await fn();
  const after = tensorCount();
  if (after - before > allowed) {
    throw new Error(`${label}: leaked ${after - before - allowed} tensor(s) (${before} before, ${after} after, ${allowed} allowed)`);
  }
  return result;
}

/**
 * Watches a loop: call `check(step)` once per iteration; after `warmup` iterations the count
 * must stay at the level seen then (optimizers create their slots during the first steps).
 */
export class TensorLeakGuard {
  private baseline: number | null = null;
  private seen = 0;

  /**
   * @param label names the loop in error messages.
   * @param warmup iterations before the baseline is taken.
   */
  constructor(readonly label: string, readonly warmup = 1) {}

  check(step: number | string = this.seen): void {
    this.seen++;
    const now = tensorCount();
    if (this.seen <= this.warmup) {
      this.baseline = now;
      return;
    }
    if (this.baseline !== null && now > this.baseline) {
      throw new Error(`${this.label}: tensor count grew from ${this.baseline} to ${now} at step ${step}`);
    }
  }
}
