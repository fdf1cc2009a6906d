/**
 * Pre-training accuracy estimate (paper §3.1): the test accuracy of NTK kernel regression with
 * the reference network's infinite-width tangent kernel, Ŷ = K_test (K_train + λI)⁻¹ Y, with λ
 * chosen on a validation split.
 */
import { mixSeed, seededPermutation as permutation } from "../runtime/seed";
import { subset } from "../data/splits";
import type { ImageDataset } from "../data/types";
import { kernelLayout, type KernelLayout, type KernelLayoutOptions } from "../optics/layout";
import { argmaxAccuracy, fitKernelRegression, type LambdaTrial } from "./kernel-regression";
import { infiniteWidthNtk, type NtkProgress } from "./infinite-width-ntk";
import { isOpticalFrontend, type OpticalFrontend } from "../models/frontends/optical-frontend";
import { kernelBankFromFrontend, randomOpticalKernels, type OpticalKernelBank, type RandomKernelDistribution, type ReferenceNetwork } from "./reference-network";

/** Progress of {@link estimateAccuracy}. */
export interface EstimateProgress {
  /** "kernel": the three kernel matrices; "lambda": the ridge grid search. */
  stage: "kernel" | "lambda";
  /** Which matrix ("train", "validation", "test") or which λ trial, in words. */
  detail: string;
  /** Fraction of this stage done, in [0, 1]. */
  fraction: number;
}

/** Options of {@link estimateAccuracy}. */
export interface EstimateAccuracyOptions {
  /** Labelled images for training and validation points (and test points when `testDataset` is omitted). */
  dataset: ImageDataset;
  /** Held-out images to score on, e.g. the official test split. Default: disjoint points of `dataset`. */
  testDataset?: ImageDataset;
  /**
   * The optical layer: "infinite" (the NTK regime), a number m of random kernels drawn with
   * `randomKernels`, given kernels, or a frontend's own kernels (any OpticalFrontend, e.g.
   * `student.frontend`, through `kernelBankFromFrontend`). Finite kernels are held fixed and only the backend is
   * trained (see ReferenceNetwork.trainFrontend for why).
   */
  kernels: number | "infinite" | OpticalKernelBank | OpticalFrontend;
  /** Side k of the optical kernels in sensor pixels. */
  kernelSize: number;
  /** Distribution of random kernels when `kernels` is a number. Default "gaussian". */
  randomKernels?: RandomKernelDistribution;
  /** The rest of the reference network (padding, hidden layers, variances). Defaults as in ReferenceNetwork. */
  network?: Omit<ReferenceNetwork, "kernelSize" | "kernels">;
  /** Training points of the regression (kernel cost grows with its square, the solve with its cube). */
  trainPoints: number;
  /** Validation points for the λ grid search. */
  validationPoints: number;
  /** Test points scored. */
  testPoints: number;
  /** Ridge values relative to mean(diag(K_train)). Default DEFAULT_RELATIVE_LAMBDA_GRID. */
  lambdaGrid?: readonly number[];
  /** Integer seed for the sample choice and random kernels. */
  seed: number;
  /** Progress callback. */
  onProgress?: (p: EstimateProgress) => void;
}

/** Result of {@link estimateAccuracy}. */
export interface AccuracyEstimate {
  /** Estimated test accuracy in [0, 1]. */
  accuracy: number;
  /** Chosen ridge in kernel units. */
  lambda: number;
  /** Chosen ridge relative to mean(diag(K_train)). */
  relativeLambda: number;
  /** Validation accuracy at the chosen λ. */
  validationAccuracy: number;
  /** Every λ tried. */
  lambdaTrials: LambdaTrial[];
  /** Kernel count used ("infinite" or m). */
  kernelCount: number | "infinite";
  /** Points used. */
  trainPoints: number;
  validationPoints: number;
  testPoints: number;
  /** Wall time of the three kernel matrices, seconds. */
  kernelMatrixSeconds: number;
  /** Wall time of the λ grid search and test prediction, seconds. */
  solveSeconds: number;
}

function checkCount(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`estimateAccuracy: ${name} is ${value}; expected an integer >= 1`);
}

/** The training, validation and test points an estimate with these options uses (seeded). */
export function estimateSample(opts: Pick<EstimateAccuracyOptions, "dataset" | "testDataset" | "trainPoints" | "validationPoints" | "testPoints" | "seed">): { train: ImageDataset; validation: ImageDataset; test: ImageDataset } {
  const { dataset, testDataset, trainPoints, validationPoints, testPoints, seed } = opts;
  const fromPool = trainPoints + validationPoints + (testDataset ? 0 : testPoints);
  const order = permutation(dataset.count, mixSeed(seed, 1));
  const train = subset(dataset, order.subarray(0, trainPoints));
  const validation = subset(dataset, order.subarray(trainPoints, trainPoints + validationPoints));
  const test = testDataset
    ? subset(testDataset, permutation(testDataset.count, mixSeed(seed, 2)).subarray(0, testPoints))
    : subset(dataset, order.subarray(trainPoints + validationPoints, fromPool));
  return { train, validation, test };
}

/**
 * The optical layer an estimate with these options uses: "infinite", or its kernel bank (the
 * seeded random kernels of a count, a frontend's kernels, or the bank given), so that a network
 * trained on the same kernels can be compared with the estimate.
 */
export function estimateKernelBank(opts: Pick<EstimateAccuracyOptions, "dataset" | "kernels" | "kernelSize" | "randomKernels" | "network" | "seed">): "infinite" | OpticalKernelBank {
  if (typeof opts.kernels === "number") {
    checkCount(opts.kernels, "kernels");
    return randomOpticalKernels({
      count: opts.kernels,
      size: opts.kernelSize,
      channels: opts.dataset.channels,
      distribution: opts.randomKernels ?? "gaussian",
      kernelVariance: opts.network?.kernelVariance,
      seed: mixSeed(opts.seed, 3),
    });
  }
  if (isOpticalFrontend(opts.kernels)) return kernelBankFromFrontend(opts.kernels);
  return opts.kernels;
}

/** Estimated accuracy of the reference network by NTK kernel regression (see the module comment). */
export function estimateAccuracy(opts: EstimateAccuracyOptions): AccuracyEstimate {
  const { dataset, testDataset, trainPoints, validationPoints, testPoints, seed } = opts;
  checkCount(trainPoints, "trainPoints");
  checkCount(validationPoints, "validationPoints");
  checkCount(testPoints, "testPoints");
  const classes = dataset.classNames.length;
  const fromPool = trainPoints + validationPoints + (testDataset ? 0 : testPoints);
  if (fromPool > dataset.count) {
    throw new Error(`estimateAccuracy: dataset "${dataset.name}" has ${dataset.count} images, fewer than the ${fromPool} train/validation${testDataset ? "" : "/test"} points asked for`);
  }
  if (testDataset) {
    if (testPoints > testDataset.count) throw new Error(`estimateAccuracy: testDataset "${testDataset.name}" has ${testDataset.count} images, fewer than testPoints = ${testPoints}`);
    if (testDataset.height !== dataset.height || testDataset.width !== dataset.width || testDataset.channels !== dataset.channels) {
      throw new Error(`estimateAccuracy: testDataset is ${testDataset.height}x${testDataset.width}x${testDataset.channels}, dataset is ${dataset.height}x${dataset.width}x${dataset.channels}`);
    }
  }

  const { train, validation, test } = estimateSample(opts);
  const kernels = estimateKernelBank(opts);
  const network: ReferenceNetwork = { ...opts.network, kernelSize: opts.kernelSize, kernels };

  const started = performance.now();
  const work = [trainPoints * trainPoints / 2, validationPoints * trainPoints, testPoints * trainPoints];
  const total = work.reduce((a, b) => a + b);
  let doneBefore = 0;
  const kernelStep = (index: number, detail: string) => (p: NtkProgress) => {
    if (p.stage !== "covariance") return;
    opts.onProgress?.({ stage: "kernel", detail, fraction: (doneBefore + (work[index]! * p.done) / p.total) / total });
  };
  const kTrain = infiniteWidthNtk(network, train, undefined, kernelStep(0, "train x train")).ntk;
  doneBefore += work[0]!;
  const kValidation = infiniteWidthNtk(network, validation, train, kernelStep(1, "validation x train")).ntk;
  doneBefore += work[1]!;
  const kTest = infiniteWidthNtk(network, test, train, kernelStep(2, "test x train")).ntk;
  const kernelMatrixSeconds = (performance.now() - started) / 1000;

  const solveStart = performance.now();
  const fit = fitKernelRegression({
    kTrain,
    kValidationTrain: kValidation,
    trainLabels: train.labels,
    validationLabels: validation.labels,
    classes,
    relativeLambdaGrid: opts.lambdaGrid,
    onLambda: (t, i, n) =>
      opts.onProgress?.({ stage: "lambda", detail: `λ = ${t.relativeLambda} x mean diag: validation ${(t.validationAccuracy * 100).toFixed(2)}%`, fraction: (i + 1) / n }),
  });
  const accuracy = argmaxAccuracy(fit.predict(kTest), test.labels);
  return {
    accuracy,
    lambda: fit.lambda,
    relativeLambda: fit.relativeLambda,
    validationAccuracy: fit.validationAccuracy,
    lambdaTrials: fit.trials,
    kernelCount: kernels === "infinite" ? "infinite" : kernels.count,
    trainPoints,
    validationPoints,
    testPoints,
    kernelMatrixSeconds,
    solveSeconds: (performance.now() - solveStart) / 1000,
  };
}

/** Options of {@link estimateFromMetasurface}: a physical layout instead of a kernel count. */
export interface MetasurfaceEstimateOptions extends Omit<EstimateAccuracyOptions, "kernels"> {
  /** Metasurface size, kernel size, spacing (metres) and symmetry; its kernel count (paper Eq. 1) sets m. */
  layout: KernelLayoutOptions;
}

/**
 * The designer's question of paper §2.2-3.1 in one call: how many kernels fit on this
 * metasurface, and what accuracy does that buy? Lays out the kernels (optics/layout.ts), then
 * estimates with that many random kernels (see {@link estimateAccuracy}).
 */
export function estimateFromMetasurface(opts: MetasurfaceEstimateOptions): { layout: KernelLayout; estimate: AccuracyEstimate } {
  const layout = kernelLayout(opts.layout);
  const { layout: _ignored, ...rest } = opts;
  return { layout, estimate: estimateAccuracy({ ...rest, kernels: layout.count }) };
}
