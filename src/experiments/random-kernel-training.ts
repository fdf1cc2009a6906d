/**
 * The trained column of paper Table 5: the network of the random-PSF ablation (m fixed random
 * non-negative kernels → flatten → one fully connected layer) with only that layer trained. It is
 * the ground truth of the random-kernel estimate, which predicts this very network's accuracy.
 *
 * With 1,000 kernels the layer reads 784,000 conv features per MNIST image. Their inner products
 * are a 784 x 784 quadratic form of the image (`kernelBankFeatureMap`), so the layer is trained
 * on the 784 values xᵀL instead: SGD from zero weights makes the same predictions on either input
 * (its updates are sums of input vectors, and the logits depend only on inner products), which
 * the tests check against the conv network itself. Any optimizer trains the same family of
 * functions on xᵀL as on the conv features; `trainRandomKernelBackends` uses Adam with a learning
 * rate picked on validation, because plain SGD converges slowly on these strongly correlated
 * (blurred) features, and so measures what the layer can reach rather than one optimizer's path.
 */
import * as tf from "@tensorflow/tfjs";
import type { LayersModel } from "@tensorflow/tfjs";
import type { ImageDataset } from "../data/types";
import { kernelBankFeatureMap, convGeometry, type OpticalKernelBank } from "../estimate/reference-network";
import { trainLoop, type EpochRecord } from "../train/loop";
import type { OptimizerOptions } from "../train/optimizers";
import { taskObjective } from "../train/objectives";
import { evaluate } from "../train/metrics";
import { estimateKernelBank, estimateSample, type EstimateAccuracyOptions } from "../estimate/estimate";

/** The fixed optical layer as inputs of the trainable layer: one matrix and the scale of its rows. */
export interface BankFeatureMap {
  /** L (D x D, lower triangular) with (xᵀL)·(x'ᵀL) = xᵀAx'; see `kernelBankFeatureMap`. */
  map: tf.Tensor2D;
  /**
   * 1/√(m·P): the features' scale (m kernels, P output positions), so that one learning rate
   * suits every kernel count. For SGD it is the same as a learning rate m·P times smaller on the
   * unscaled conv features.
   */
  scale: number;
}

/** The feature map of a bank on images of one shape ("same" padding: the reference network's). */
export function bankFeatureMap(bank: OpticalKernelBank, height: number, width: number, padding: "same" | "valid" = "same"): BankFeatureMap {
  const l = kernelBankFeatureMap(bank, height, width, padding);
  const { positions } = convGeometry(height, width, bank.size, padding);
  return { map: tf.tensor2d(Float32Array.from(l.data), [l.rows, l.cols]), scale: 1 / Math.sqrt(bank.count * positions) };
}

/** The images of `ds` mapped to scale · xᵀL, as a data set of the same shape (D values per image). */
export function bankFeatures(fm: BankFeatureMap, ds: ImageDataset, batchSize = 2048): ImageDataset {
  const d = ds.height * ds.width * ds.channels;
  if (fm.map.shape[0] !== d) throw new Error(`bankFeatures: the feature map is for ${fm.map.shape[0]} values per image, ${ds.name} has ${ds.height}x${ds.width}x${ds.channels} = ${d}`);
  const out = new Float32Array(ds.count * d);
  for (let start = 0; start < ds.count; start += batchSize) {
    const n = Math.min(batchSize, ds.count - start);
    const z = tf.tidy(() => tf.matMul(tf.tensor2d(ds.images.subarray(start * d, (start + n) * d), [n, d]), fm.map).mul(fm.scale));
    out.set(z.dataSync() as Float32Array, start * d);
    z.dispose();
  }
  return { ...ds, name: `${ds.name}-bank-features`, images: out };
}

/** One fully connected layer from zero weights and bias: the trainable part of the ablation. */
export function linearReadout(ds: Pick<ImageDataset, "height" | "width" | "channels" | "classNames">): LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [ds.height, ds.width, ds.channels] }),
      tf.layers.dense({ units: ds.classNames.length, kernelInitializer: "zeros", biasInitializer: "zeros" }),
    ],
  });
}

/** Options of {@link trainBackendOnly}. */
export interface BackendOnlyOptions {
  /** The fixed optical kernels (e.g. `estimateKernelBank` of the estimate being checked). */
  bank: OpticalKernelBank;
  /** Images the layer learns from. */
  train: ImageDataset;
  /** Images of the best-epoch choice and early stopping (optional). */
  validation?: ImageDataset;
  /** Images the accuracy is measured on. */
  test: ImageDataset;
  /** Epochs (cosine schedule over them). */
  epochs: number;
  /** Minibatch size (default 128, as the students). */
  batchSize?: number;
  /** Learning rate (default 1e-3). */
  learningRate?: number;
  /** Optimizer (default Adam; see the module comment for SGD). */
  optimizer?: OptimizerOptions;
  /** Seed of the shuffles. */
  seed: number;
  /** Stop after this many epochs without a better validation accuracy (default: no early stopping). */
  patience?: number;
  onEpochEnd?: (r: EpochRecord) => void;
}

/** Result of {@link trainBackendOnly}. */
export interface BackendOnlyResult {
  /** Test accuracy, fraction in [0, 1] (best validation epoch's weights when validated). */
  accuracy: number;
  /** Best validation accuracy (undefined without a validation set). */
  validationAccuracy?: number;
  history: EpochRecord[];
  /** Wall time, seconds (feature map, features and training). */
  seconds: number;
}

/** The splits of {@link trainBackendOnly} mapped through a bank's feature map (see {@link bankFeatures}). */
export interface BankFeatureSplits {
  train: ImageDataset;
  validation?: ImageDataset;
  test: ImageDataset;
}

/** Maps the splits through the bank once, so that several trainings of the layer share the features. */
export function bankFeatureSplits(bank: OpticalKernelBank, splits: BankFeatureSplits, caller = "bankFeatureSplits"): BankFeatureSplits {
  const { train } = splits;
  if (bank.channels !== train.channels) throw new Error(`${caller}: the bank reads ${bank.channels} channels, ${train.name} has ${train.channels}`);
  const fm = bankFeatureMap(bank, train.height, train.width);
  try {
    return {
      train: bankFeatures(fm, train),
      validation: splits.validation && bankFeatures(fm, splits.validation),
      test: bankFeatures(fm, splits.test),
    };
  } finally {
    fm.map.dispose();
  }
}

/** Trains the fully connected layer on features already mapped through the bank, and scores it. */
async function trainReadout(z: BankFeatureSplits, opts: Omit<BackendOnlyOptions, "bank" | "train" | "validation" | "test">): Promise<Omit<BackendOnlyResult, "seconds">> {
  const model = linearReadout(z.train);
  try {
    const result = await trainLoop({
      model,
      objective: taskObjective(),
      train: z.train,
      validation: z.validation,
      epochs: opts.epochs,
      batchSize: opts.batchSize ?? 128,
      learningRate: opts.learningRate ?? 1e-3,
      optimizer: opts.optimizer ?? { kind: "adam" },
      schedule: { kind: "cosine", totalEpochs: opts.epochs },
      seed: opts.seed,
      earlyStopping: opts.patience === undefined ? undefined : { patience: opts.patience },
      onEpochEnd: opts.onEpochEnd,
    });
    return { accuracy: evaluate(model, z.test).accuracy, validationAccuracy: result.bestValidationAccuracy, history: result.history };
  } finally {
    model.dispose();
  }
}

/** Trains only the fully connected layer on a fixed kernel bank and scores it (see the module comment). */
export async function trainBackendOnly(opts: BackendOnlyOptions): Promise<BackendOnlyResult> {
  const started = performance.now();
  const { bank, train, validation, test, ...training } = opts;
  const z = bankFeatureSplits(bank, { train, validation, test }, "trainBackendOnly");
  const result = await trainReadout(z, training);
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

/** Options of {@link trainRandomKernelBackends}. */
export interface RandomKernelBackendsOptions {
  /** The estimate's settings: its data, kernel size and distribution, points and seed (kernels are `counts`). */
  estimate: Pick<EstimateAccuracyOptions, "dataset" | "testDataset" | "kernelSize" | "randomKernels" | "network" | "trainPoints" | "validationPoints" | "testPoints" | "seed">;
  /** Finite kernel counts, one trained layer (or two) each. */
  counts: number[];
  /** The whole splits, for the paper's setting (the layer trained on all training images); omitted: not trained. */
  splits?: { train: ImageDataset; validation?: ImageDataset; test: ImageDataset };
  /** Epochs of each training. */
  epochs: number;
  /** Adam learning rates tried, the best on validation kept (default {@link BACKEND_LEARNING_RATE_GRID}). */
  learningRates?: readonly number[];
  onRow?: (row: RandomKernelTrainedRow) => void;
}

/**
 * Adam learning rates of the trained Table 5 column. The features are scaled by 1/√(m·P), so
 * the useful rates are large; a linear layer on MNIST is still improving at 0.2 after 15 epochs.
 */
export const BACKEND_LEARNING_RATE_GRID: readonly number[] = [0.03, 0.1, 0.3, 1];

/** One kernel count of the trained Table 5 column. */
export interface RandomKernelTrainedRow {
  kernels: number;
  /** Test accuracy of the layer trained on the estimate's own training points (its validation points pick the epoch), on its test points. */
  trainedOnRegressionPoints: number;
  /** Test accuracy of the layer trained on all of `splits.train`, on `splits.test`; null when no splits were given. */
  trained: number | null;
  /** The learning rates the validation points picked, on the estimate's points and on all images. */
  learningRate: { onRegressionPoints: number; allImages: number | null };
  /** Wall time of every training, seconds. */
  seconds: number;
}

/** Maps the splits through the bank once, trains once per learning rate and keeps the run with the best validation accuracy. */
async function bestOverLearningRates(base: Omit<BackendOnlyOptions, "learningRate">, rates: readonly number[]): Promise<BackendOnlyResult & { learningRate: number; totalSeconds: number }> {
  if (!base.validation) throw new Error("trainRandomKernelBackends: choosing a learning rate needs validation images");
  if (rates.length === 0) throw new Error("trainRandomKernelBackends: learningRates is empty");
  const started = performance.now();
  const { bank, train, validation, test, ...training } = base;
  const z = bankFeatureSplits(bank, { train, validation, test }, "trainRandomKernelBackends");
  let best: (Omit<BackendOnlyResult, "seconds"> & { learningRate: number }) | undefined;
  for (const learningRate of rates) {
    const r = await trainReadout(z, { ...training, learningRate });
    if (!best || (r.validationAccuracy ?? -1) > (best.validationAccuracy ?? -1)) best = { ...r, learningRate };
  }
  const totalSeconds = (performance.now() - started) / 1000;
  return { ...best!, seconds: totalSeconds, totalSeconds };
}

/**
 * For each count, the estimate's own random kernels (`estimateKernelBank`) with only the fully
 * connected layer trained: on the estimate's points (the like-for-like check of the estimator) and
 * on the whole training split (the paper's ablation).
 */
export async function trainRandomKernelBackends(opts: RandomKernelBackendsOptions): Promise<RandomKernelTrainedRow[]> {
  const sample = estimateSample(opts.estimate);
  const rows: RandomKernelTrainedRow[] = [];
  for (const count of opts.counts) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`trainRandomKernelBackends: counts contains ${count}; expected integers >= 1`);
    const bank = estimateKernelBank({ ...opts.estimate, kernels: count });
    if (bank === "infinite") throw new Error("trainRandomKernelBackends: a finite count gave no kernel bank (a bug)");
    const seed = opts.estimate.seed;
    const rates = opts.learningRates ?? BACKEND_LEARNING_RATE_GRID;
    const onPoints = await bestOverLearningRates({ bank, train: sample.train, validation: sample.validation, test: sample.test, epochs: opts.epochs, seed }, rates);
    const full = opts.splits && await bestOverLearningRates({ bank, ...opts.splits, epochs: opts.epochs, seed }, rates);
    const row = {
      kernels: count,
      trainedOnRegressionPoints: onPoints.accuracy,
      trained: full?.accuracy ?? null,
      learningRate: { onRegressionPoints: onPoints.learningRate, allImages: full?.learningRate ?? null },
      seconds: onPoints.totalSeconds + (full?.totalSeconds ?? 0),
    };
    opts.onRow?.(row);
    rows.push(row);
  }
  return rows;
}
