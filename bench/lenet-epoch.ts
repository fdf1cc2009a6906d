/** One LeNet-5 training epoch (Adam, softmax cross-entropy) on real MNIST, in tfjs. */
import { tf } from "../src/runtime/tf";
import { buildLeNet5 } from "../src/models/teachers/lenet";
import { loadMnistTrain, mnistEpochData } from "./mnist";
import { timeModelEpoch } from "./model-epoch";

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

/** LeNet-5 on the first `samples` MNIST images: the shared epoch timer (one warm-up step, then the epoch). */
export async function timeLeNetEpoch(opts: LeNetEpochOptions): Promise<LeNetEpochResult> {
  const r = await timeModelEpoch({
    build: () => buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, seed: 0 }),
    data: mnistEpochData(opts.samples),
    loss: (targets, outputs) => tf.losses.softmaxCrossEntropy(targets, outputs) as tf.Scalar,
    batch: opts.batch,
    timedBatches: opts.timedBatches,
  });
  return { seconds: r.seconds, timedBatches: r.timedBatches, batches: r.batches, finalLoss: r.finalLoss };
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
