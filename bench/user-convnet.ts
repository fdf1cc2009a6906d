/**
 * A user's own small convnet, written the way a tfjs user writes it: `tf.layers` and
 * `model.fit` (not ntkd-lab's training loop): two "same"-padded 3x3 conv layers (16 and 32
 * filters, ReLU) each followed by 2x2 max pooling, then a dense softmax over 10 classes,
 * categorical cross-entropy, Adam (lr 1e-3). It tells a user what ntkd-lab's wasm kernels do
 * for their code; bench/torch/models.py's "convnet" is the same network in PyTorch.
 */
import type { Sequential } from "@tensorflow/tfjs";
import { tf } from "../src/runtime/tf";
import type { EpochData } from "./model-epoch";

/** The network, uncompiled, for [28, 28, 1] images (layer initialisers as tfjs defaults them). */
export function buildUserConvnet(): Sequential {
  return tf.sequential({ layers: [
    tf.layers.conv2d({
      inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: "same", activation: "relu",
    }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: "same", activation: "relu" }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 10, activation: "softmax" }),
  ] });
}

/** Result of {@link timeUserConvnetFit}. */
export interface UserConvnetResult {
  /** Seconds of the timed `model.fit` epoch. */
  seconds: number;
  /** The epoch's mean loss as `model.fit` reports it (NaN means broken kernels). */
  epochLoss: number;
  /** Scalar parameters (to compare with the PyTorch model). */
  params: number;
}

/**
 * One `model.fit` epoch (shuffled, as fit's default) over `data` on the active backend, after a
 * warm-up `fit` on the first batch (kernel set-up, optimizer slots: the other epoch rows
 * exclude theirs too). Throws when a tensor leaks.
 */
export async function timeUserConvnetFit(data: EpochData, batch: number): Promise<UserConvnetResult> {
  if (data.inputShape.join() !== "28,28,1" || data.targetShape.join() !== "10") {
    throw new Error("timeUserConvnetFit: data must be [28, 28, 1] images with 10 one-hot targets, " +
      `got [${data.inputShape}] -> [${data.targetShape}]`);
  }
  const before = tf.memory().numTensors;
  const model = buildUserConvnet();
  // An optimizer instance (not the string "adam") is not disposed with the model: freed below.
  const optimizer = tf.train.adam(1e-3);
  model.compile({ optimizer, loss: "categoricalCrossentropy" });
  const xs = tf.tensor4d(data.inputs, [data.count, 28, 28, 1]);
  const ys = tf.tensor2d(data.targets, [data.count, 10]);
  const first = [tf.slice(xs, 0, Math.min(batch, data.count)), tf.slice(ys, 0, Math.min(batch, data.count))];
  try {
    await model.fit(first[0], first[1], { batchSize: batch, epochs: 1, verbose: 0 });
    const t0 = performance.now();
    const history = await model.fit(xs, ys, { batchSize: batch, epochs: 1, verbose: 0 });
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, epochLoss: Number(history.history.loss[0]), params: model.countParams() };
  } finally {
    tf.dispose([xs, ys, ...first]);
    model.dispose();
    optimizer.dispose();
    const leaked = tf.memory().numTensors - before;
    if (leaked !== 0) throw new Error(`timeUserConvnetFit: ${leaked} tensor(s) leaked by one epoch`);
  }
}
