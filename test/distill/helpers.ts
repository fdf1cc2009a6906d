import type { LayersModel } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";

/** A tiny smooth MLP (tanh hidden layer) so finite differences behave; seeded. */
export function tinyMlp(inputs: number, hidden: number, outputs: number, seed: number): LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [inputs], units: hidden, activation: "tanh", kernelInitializer: tf.initializers.glorotNormal({ seed }), biasInitializer: tf.initializers.randomNormal({ stddev: 0.1, seed: seed + 1 }) }),
      tf.layers.dense({ units: outputs, kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }), biasInitializer: tf.initializers.randomNormal({ stddev: 0.1, seed: seed + 3 }) }),
    ],
  });
}

/** Relative Frobenius error ‖a − b‖ / ‖b‖. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}
