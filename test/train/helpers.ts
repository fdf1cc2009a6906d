import type { LayersModel, layers } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";
import { loadMnist } from "../../src/data/mnist";
import type { ImageDataset } from "../../src/data/types";

/**
 * Test-only stand-in for the optics engineer's PsfConvFrontend: a bias-free convolution whose
 * kernels are kept non-negative by a constraint (so the tests do not depend on the optics build).
 */
export function nonNegativeConv(kernels: number, kernelSize: number, seed: number): layers.Layer {
  return tf.layers.conv2d({
    filters: kernels,
    kernelSize,
    padding: "same",
    useBias: false,
    kernelConstraint: "nonNeg",
    kernelInitializer: tf.initializers.randomUniform({ minval: 0, maxval: 0.1, seed }),
  });
}

/** The first `count` real MNIST training images, downsampled 2x (14x14) to keep cpu tests fast. */
export function smallMnist(count: number, offset = 0): ImageDataset {
  const full = loadMnist({ split: "train", limit: offset + count });
  const images = new Float32Array(count * 14 * 14);
  for (let n = 0; n < count; n++) {
    for (let r = 0; r < 14; r++) {
      for (let c = 0; c < 14; c++) {
        let s = 0;
        for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]]) s += full.images[(offset + n) * 784 + (2 * r + dr) * 28 + 2 * c + dc];
        images[n * 196 + r * 14 + c] = s / 4;
      }
    }
  }
  return { ...full, name: "mnist-14", images, labels: full.labels.slice(offset, offset + count), count, height: 14, width: 14 };
}

/** A tiny dense teacher on 14x14 images (untrained is enough for determinism tests). */
export function tinyTeacher(seed: number): LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [14, 14, 1] }),
      tf.layers.dense({ units: 16, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

export function weightsOf(model: LayersModel): Float32Array[] {
  return model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
}
