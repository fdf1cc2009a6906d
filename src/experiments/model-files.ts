/** Saving and loading model weights in a run store (atomic checkpoint files). */
import type { LayerVariable } from "@tensorflow/tfjs";
import { readCheckpoint, writeCheckpoint } from "../train/checkpoint";
import { loadStoredWeights } from "../train/loop";

/** Writes the weights (trainable and not) to `file`, with JSON metadata. */
export function saveWeights(file: string, weights: LayerVariable[], meta: Record<string, unknown> = {}): void {
  writeCheckpoint(file, {
    meta,
    tensors: { weights: weights.map((w) => ({ shape: (w.shape as number[]).slice(), data: Float32Array.from(w.read().dataSync() as Float32Array) })) },
  });
}

/** Loads weights saved by {@link saveWeights} into `weights` (same architecture); returns the metadata. */
export function loadWeights(file: string, weights: LayerVariable[]): Record<string, unknown> {
  const ck = readCheckpoint(file);
  if (!ck.tensors.weights) throw new Error(`${file}: holds no "weights" tensors`);
  loadStoredWeights(weights, ck.tensors.weights, file);
  return ck.meta;
}
