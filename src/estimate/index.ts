/**
 * Pre-training accuracy estimation (paper §2.2): kernel regression with a validation-chosen λ,
 * the closed-form NTK of an optical network with an infinitely wide backend (arc-cosine
 * recursion), the empirical NTK of a wide network to check it against, random optical kernel
 * banks, and Float64 linear algebra (our Cholesky). The kernel layout that says how many kernels
 * fit on a metasurface is in src/optics/layout.ts; the estimation study of notebook 01 in
 * src/experiments/estimation.ts.
 */
// Explicit names only: generic helpers (matMul, argmax, one-hot...) stay internal so they cannot
// clash with other areas' exports in src/index.ts.
export { type Matrix64, matrix64, gramProduct, choleskyFactor, choleskySolve } from "./linalg";
export {
  type KernelRegressionOptions,
  type FitKernelRegressionOptions,
  type FittedKernelRegression,
  type LambdaTrial,
  kernelRegression,
  fitKernelRegression,
  DEFAULT_RELATIVE_LAMBDA_GRID,
} from "./kernel-regression";
export { arcCosineKappa0, arcCosineKappa1 } from "./arc-cosine";
export {
  type OpticalKernelBank,
  type ReferenceNetwork,
  type RandomKernelDistribution,
  type RandomOpticalKernelsOptions,
  randomOpticalKernels,
  kernelBankFromFrontend,
  patchCoverage,
  kernelBankQuadraticForm,
  kernelBankFeatureMap,
} from "./reference-network";
export { type NtkImages, type NtkProgress, type InfiniteWidthKernels, infiniteWidthNtk } from "./infinite-width-ntk";
export { type WideNetworkNtkOptions, wideNetworkNtk } from "./wide-network-ntk";
export {
  type EstimateAccuracyOptions,
  type EstimateProgress,
  type AccuracyEstimate,
  type MetasurfaceEstimateOptions,
  estimateAccuracy,
  estimateFromMetasurface,
  estimateSample,
  estimateKernelBank,
} from "./estimate";
