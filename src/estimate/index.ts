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
} from "./estimate";
