/** One LeNet-5 training epoch (Adam, softmax cross-entropy) on real MNIST, in tfjs. */
import { tf } from "../src/runtime/tf";
import { buildLeNet5 } from "../src/models/teachers/lenet";
import { loadMnistTrain } from "./mnist";

export interface LeNetEpochOptions {
  /** Training images (the first N of MNIST's training set). */
  samples: number;
  /** Batch size. */
  batch: number;
  /** Time only this many batches and scale to the epoch (for the slow cpu backend); default all. */
  timedBatches?: number;
}

export interface LeNetEpochResult {
  /** Seconds of one epoch (measured, or scaled from `timedBatches`). */
  seconds: number;
  /** Batches actually timed. */
  timedBatches: number;
  /** Batches in the epoch. */
  batches: number;
  /** Loss of the last timed batch (a NaN here means the kernels are broken). */
  finalLoss: number;
}

/** Builds the model and batches, runs one warm-up step, then times the epoch on the active backend. */
export async function timeLeNetEpoch(opts: LeNetEpochOptions): Promise<LeNetEpochResult> {
  const data = loadMnistTrain(opts.samples);
  const model = buildLeNet5({ inputShape: [data.height, data.width, 1], numClasses: 10, seed: 0 });
  const optimizer = tf.train.adam(1e-3);
  const batches: Array<{ x: tf.Tensor4D; y: tf.Tensor2D }> = [];
  const px = data.height * data.width;
  for (let start = 0; start < opts.samples; start += opts.batch) {
    const size = Math.min(opts.batch, opts.samples - start);
    batches.push(tf.tidy(() => ({
      x: tf.tensor4d(data.pixels.subarray(start * px, (start + size) * px), [size, data.height, data.width, 1]),
      y: tf.oneHot(tf.tensor1d(data.labels.subarray(start, start + size), "int32"), 10) as tf.Tensor2D,
    })));
  }
  const step = (b: { x: tf.Tensor4D; y: tf.Tensor2D }) =>
    optimizer.minimize(() => tf.losses.softmaxCrossEntropy(b.y, model.apply(b.x) as tf.Tensor) as tf.Scalar, true) as tf.Scalar;
  step(batches[0]).dispose(); // warm-up: optimizer slots, kernel setup
  const timed = Math.min(opts.timedBatches ?? batches.length, batches.length);
  const t0 = performance.now();
  let last: tf.Scalar | null = null;
  for (let i = 0; i < timed; i++) {
    last?.dispose();
    last = step(batches[i]);
  }
  const finalLoss = (await last!.data())[0];
  const seconds = ((performance.now() - t0) / 1000) * (batches.length / timed);
  last!.dispose();
  tf.dispose(batches.flatMap((b) => [b.x, b.y]));
  tf.dispose(model.weights.map((w) => w.read()));
  optimizer.dispose();
  return { seconds, timedBatches: timed, batches: batches.length, finalLoss };
}

/** A warm LeNet-5 training step for the kernel profiler, and a cleanup. */
export function lenetStepForProfile(batch: number): { step: () => void; dispose: () => void } {
  const data = loadMnistTrain(batch);
  const model = buildLeNet5({ inputShape: [data.height, data.width, 1], numClasses: 10, seed: 0 });
  const optimizer = tf.train.adam(1e-3);
  const x = tf.tensor4d(data.pixels, [batch, data.height, data.width, 1]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(data.labels, "int32"), 10) as tf.Tensor2D);
  const step = () => optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, true)!.dispose();
  step();
  const dispose = () => {
    tf.dispose([x, y, ...model.weights.map((w) => w.read())]);
    optimizer.dispose();
  };
  return { step, dispose };
}
