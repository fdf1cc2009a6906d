/**
 * Kernel ridge regression for classification: Ŷ = K_test (K_train + λI)⁻¹ Y (paper Eq. 4),
 * predicted class = argmax of Ŷ, and the λ grid search on a validation split.
 */
import { assertFinite, assertShape, choleskyFactor, choleskySolve, gramProduct, matrix64, meanDiagonal, type Matrix64 } from "./linalg";

/** Options of {@link kernelRegression}. */
export interface KernelRegressionOptions {
  /** Kernel between training points, n_train x n_train, symmetric positive semi-definite. */
  kTrain: Matrix64;
  /** Kernel between query points (rows) and training points (columns), n_query x n_train. */
  kTestTrain: Matrix64;
  /** Training targets, n_train x outputs (one-hot rows for classification, see {@link oneHotTargets}). */
  yTrain: Matrix64;
  /** Ridge λ > 0 added to the diagonal of kTrain, in the kernel's own units. */
  lambda: number;
}

/** Ŷ = K_test (K_train + λI)⁻¹ Y by a Float64 Cholesky solve; returns n_query x outputs. */
export function kernelRegression(opts: KernelRegressionOptions): Matrix64 {
  const { kTrain, kTestTrain, yTrain, lambda } = opts;
  checkRegressionInputs(kTrain, kTestTrain, yTrain, "kernelRegression");
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`kernelRegression: lambda is ${lambda}; expected a finite number >= 0`);
  const alpha = choleskySolve(choleskyFactor(kTrain, lambda), yTrain);
  return applyDualCoefficients(kTestTrain, alpha);
}

/** K_query α: predictions from dual coefficients α = (K_train + λI)⁻¹ Y. */
export function applyDualCoefficients(kQueryTrain: Matrix64, alpha: Matrix64): Matrix64 {
  if (kQueryTrain.cols !== alpha.rows) {
    throw new Error(`applyDualCoefficients: kernel has ${kQueryTrain.cols} training columns but alpha has ${alpha.rows} rows`);
  }
  // alpha is small (n_train x classes): transpose it so the product is a row-dot Gram.
  const alphaT = matrix64(alpha.cols, alpha.rows);
  for (let i = 0; i < alpha.rows; i++) for (let k = 0; k < alpha.cols; k++) alphaT.data[k * alpha.rows + i] = alpha.data[i * alpha.cols + k]!;
  return gramProduct(kQueryTrain, alphaT);
}

function checkRegressionInputs(kTrain: Matrix64, kTestTrain: Matrix64, yTrain: Matrix64, where: string): void {
  assertShape(kTrain, kTrain.rows, kTrain.rows, `${where}: kTrain`);
  if (kTestTrain.cols !== kTrain.rows) {
    throw new Error(`${where}: kTestTrain has ${kTestTrain.cols} columns, expected n_train = ${kTrain.rows}`);
  }
  if (yTrain.rows !== kTrain.rows) throw new Error(`${where}: yTrain has ${yTrain.rows} rows, expected n_train = ${kTrain.rows}`);
  assertFinite(kTrain, `${where}: kTrain`);
  assertFinite(kTestTrain, `${where}: kTestTrain`);
  assertFinite(yTrain, `${where}: yTrain`);
}

/**
 * One-hot targets with the class mean removed (1 - 1/C for the true class, -1/C elsewhere).
 * Zero-mean targets matter because the kernels have no constant component unless a bias
 * variance is set: with plain one-hot targets the ridge shrinks every class towards 0 and
 * small classes lose the argmax more often.
 */
export function oneHotTargets(labels: ArrayLike<number>, classes: number): Matrix64 {
  if (!Number.isInteger(classes) || classes < 2) throw new Error(`oneHotTargets: classes is ${classes}; expected an integer >= 2`);
  const y = matrix64(labels.length, classes);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new Error(`oneHotTargets: label ${i} is ${c}; expected an integer in [0, ${classes})`);
    for (let k = 0; k < classes; k++) y.data[i * classes + k] = (k === c ? 1 : 0) - 1 / classes;
  }
  return y;
}

/** Row-wise argmax of a prediction matrix (ties go to the lowest index). */
export function argmaxRows(predictions: Matrix64): Int32Array {
  const out = new Int32Array(predictions.rows);
  for (let i = 0; i < predictions.rows; i++) {
    let best = 0;
    for (let k = 1; k < predictions.cols; k++) {
      if (predictions.data[i * predictions.cols + k]! > predictions.data[i * predictions.cols + best]!) best = k;
    }
    out[i] = best;
  }
  return out;
}

/** Fraction of rows whose argmax equals the label. */
export function argmaxAccuracy(predictions: Matrix64, labels: ArrayLike<number>): number {
  if (labels.length !== predictions.rows) {
    throw new Error(`argmaxAccuracy: ${labels.length} labels for ${predictions.rows} prediction rows`);
  }
  if (labels.length === 0) throw new Error("argmaxAccuracy: no predictions to score");
  const predicted = argmaxRows(predictions);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

/** Relative ridge values tried by default, as multiples of mean(diag(K_train)). */
export const DEFAULT_RELATIVE_LAMBDA_GRID: readonly number[] = [1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1];

/** Options of {@link fitKernelRegression}. */
export interface FitKernelRegressionOptions {
  /** Kernel between training points, n_train x n_train. */
  kTrain: Matrix64;
  /** Kernel between validation points (rows) and training points, n_val x n_train. */
  kValidationTrain: Matrix64;
  /** Class index of each training point. */
  trainLabels: ArrayLike<number>;
  /** Class index of each validation point. */
  validationLabels: ArrayLike<number>;
  /** Number of classes (targets are C-dimensional one-hot rows). */
  classes: number;
  /**
   * Ridge values to try, relative to mean(diag(K_train)) so one grid fits kernels of any scale:
   * λ = relative x mean diagonal. Default {@link DEFAULT_RELATIVE_LAMBDA_GRID}.
   */
  relativeLambdaGrid?: readonly number[];
  /** Called after each grid point with its result. */
  onLambda?: (result: LambdaTrial, index: number, total: number) => void;
}

/** Validation result of one ridge value. */
export interface LambdaTrial {
  /** Ridge relative to mean(diag(K_train)). */
  relativeLambda: number;
  /** Ridge in kernel units. */
  lambda: number;
  /** Validation accuracy, or NaN when K_train + λI was not numerically positive definite. */
  validationAccuracy: number;
  /** Why the trial failed, when it did. */
  error?: string;
}

/** A kernel regressor fitted with the λ that won the validation grid search. */
export interface FittedKernelRegression {
  /** Chosen ridge in kernel units. */
  lambda: number;
  /** Chosen ridge relative to mean(diag(K_train)). */
  relativeLambda: number;
  /** Validation accuracy at the chosen λ. */
  validationAccuracy: number;
  /** Every grid point, in the order tried. */
  trials: LambdaTrial[];
  /** Dual coefficients α = (K_train + λI)⁻¹ Y, n_train x classes. */
  alpha: Matrix64;
  /** Predictions K_query α for a query-by-train kernel. */
  predict(kQueryTrain: Matrix64): Matrix64;
}

/**
 * Grid search of the ridge λ on a validation split (paper §3.1): for each λ, one Cholesky
 * factorisation of K_train + λI, the validation argmax accuracy, and the best λ kept (the
 * larger λ on ties, the more stable solve). A λ at which the factorisation fails is recorded
 * with NaN accuracy and skipped; if every λ fails the function throws.
 */
export function fitKernelRegression(opts: FitKernelRegressionOptions): FittedKernelRegression {
  const { kTrain, kValidationTrain, trainLabels, validationLabels, classes } = opts;
  const grid = opts.relativeLambdaGrid ?? DEFAULT_RELATIVE_LAMBDA_GRID;
  if (grid.length === 0) throw new Error("fitKernelRegression: relativeLambdaGrid is empty");
  for (const r of grid) {
    if (!(r >= 0) || !Number.isFinite(r)) throw new Error(`fitKernelRegression: relativeLambdaGrid contains ${r}; expected finite values >= 0`);
  }
  const yTrain = oneHotTargets(trainLabels, classes);
  checkRegressionInputs(kTrain, kValidationTrain, yTrain, "fitKernelRegression");
  if (validationLabels.length !== kValidationTrain.rows) {
    throw new Error(`fitKernelRegression: ${validationLabels.length} validation labels for ${kValidationTrain.rows} kernel rows`);
  }
  const scale = meanDiagonal(kTrain);
  if (!(scale > 0)) throw new Error(`fitKernelRegression: mean diagonal of kTrain is ${scale}; expected > 0`);
  const trials: LambdaTrial[] = [];
  let best: { trial: LambdaTrial; alpha: Matrix64 } | undefined;
  grid.forEach((relativeLambda, index) => {
    const lambda = relativeLambda * scale;
    let trial: LambdaTrial;
    try {
      const alpha = choleskySolve(choleskyFactor(kTrain, lambda), yTrain);
      const accuracy = argmaxAccuracy(applyDualCoefficients(kValidationTrain, alpha), validationLabels);
      trial = { relativeLambda, lambda, validationAccuracy: accuracy };
      if (!best || accuracy > best.trial.validationAccuracy || (accuracy === best.trial.validationAccuracy && lambda > best.trial.lambda)) {
        best = { trial, alpha };
      }
    } catch (err) {
      trial = { relativeLambda, lambda, validationAccuracy: NaN, error: err instanceof Error ? err.message : String(err) };
    }
    trials.push(trial);
    opts.onLambda?.(trial, index, grid.length);
  });
  if (!best) {
    throw new Error(`fitKernelRegression: no λ in the grid gave a positive-definite K_train + λI (${trials.map((t) => t.error).join("; ")})`);
  }
  const chosen = best;
  return {
    lambda: chosen.trial.lambda,
    relativeLambda: chosen.trial.relativeLambda,
    validationAccuracy: chosen.trial.validationAccuracy,
    trials,
    alpha: chosen.alpha,
    predict: (kQueryTrain: Matrix64) => applyDualCoefficients(kQueryTrain, chosen.alpha),
  };
}
