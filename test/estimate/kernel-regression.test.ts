import { test } from "node:test";
import assert from "node:assert/strict";
import { gramProduct, matrix64, matMul, type Matrix64 } from "../../src/estimate/linalg";
import { argmaxAccuracy, fitKernelRegression, kernelRegression, oneHotTargets } from "../../src/estimate/kernel-regression";
import { gaussJordanSolve } from "./reference-solvers";

function transpose(a: Matrix64): Matrix64 {
  const t = matrix64(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j]!;
  return t;
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
}

test("linear kernel regression equals ridge regression solved by the normal equations", () => {
  const rand = seeded(7);
  const n = 30, d = 5, outs = 2, lambda = 0.3;
  const x = matrix64(n, d, Array.from({ length: n * d }, rand));
  const xTest = matrix64(8, d, Array.from({ length: 8 * d }, rand));
  const y = matrix64(n, outs, Array.from({ length: n * outs }, rand));
  const predicted = kernelRegression({ kTrain: gramProduct(x), kTestTrain: gramProduct(xTest, x), yTrain: y, lambda });
  // Primal ridge: w = (XᵀX + λI)⁻¹ XᵀY, solved independently.
  const xt = transpose(x);
  const normal = matMul(xt, x);
  for (let i = 0; i < d; i++) normal.data[i * d + i]! += lambda;
  const w = gaussJordanSolve(normal, matMul(xt, y));
  const reference = matMul(xTest, w);
  for (let i = 0; i < reference.data.length; i++) assert.ok(Math.abs(predicted.data[i]! - reference.data[i]!) < 1e-10, `entry ${i}`);
});

test("λ → 0 interpolates the training labels", () => {
  const rand = seeded(3);
  const n = 12, d = 20; // n < d: the linear kernel is full rank
  const x = matrix64(n, d, Array.from({ length: n * d }, rand));
  const y = oneHotTargets(Array.from({ length: n }, (_, i) => i % 3), 3);
  const k = gramProduct(x);
  const fit = kernelRegression({ kTrain: k, kTestTrain: k, yTrain: y, lambda: 1e-12 });
  for (let i = 0; i < y.data.length; i++) assert.ok(Math.abs(fit.data[i]! - y.data[i]!) < 1e-6, `entry ${i}`);
  // A large λ does not interpolate: the check above can fail.
  const smooth = kernelRegression({ kTrain: k, kTestTrain: k, yTrain: y, lambda: 10 });
  assert.ok(Math.abs(smooth.data[0]! - y.data[0]!) > 0.1);
});

test("fitKernelRegression picks λ on validation and classifies separable clusters", () => {
  const rand = seeded(99);
  const make = (count: number) => {
    const labels = Array.from({ length: count }, (_, i) => i % 3);
    const x = matrix64(count, 4, labels.flatMap((c) => [c === 0 ? 3 : 0, c === 1 ? 3 : 0, c === 2 ? 3 : 0, 0].map((v) => v + rand())));
    return { x, labels };
  };
  const train = make(30), val = make(15), testSet = make(15);
  const trials: number[] = [];
  const fit = fitKernelRegression({
    kTrain: gramProduct(train.x),
    kValidationTrain: gramProduct(val.x, train.x),
    trainLabels: train.labels,
    validationLabels: val.labels,
    classes: 3,
    relativeLambdaGrid: [1e-3, 1e-1, 1],
    onLambda: (t) => trials.push(t.validationAccuracy),
  });
  assert.equal(fit.trials.length, 3);
  assert.equal(trials.length, 3);
  assert.ok(fit.validationAccuracy >= 0.9);
  assert.equal(fit.validationAccuracy, Math.max(...trials));
  assert.ok(argmaxAccuracy(fit.predict(gramProduct(testSet.x, train.x)), testSet.labels) >= 0.9);
});

test("kernel regression rejects mismatched shapes, NaN and bad labels", () => {
  const k = matrix64(2, 2, [1, 0, 0, 1]);
  const y = oneHotTargets([0, 1], 2);
  assert.throws(() => kernelRegression({ kTrain: k, kTestTrain: matrix64(1, 3), yTrain: y, lambda: 1 }), /kTestTrain has 3 columns, expected n_train = 2/);
  assert.throws(() => kernelRegression({ kTrain: matrix64(2, 2, [1, NaN, 0, 1]), kTestTrain: k, yTrain: y, lambda: 1 }), /kTrain: entry 1 is NaN/);
  assert.throws(() => oneHotTargets([0, 5], 3), /label 1 is 5/);
  assert.throws(() => fitKernelRegression({ kTrain: k, kValidationTrain: k, trainLabels: [0, 1], validationLabels: [0, 1], classes: 2, relativeLambdaGrid: [] }), /relativeLambdaGrid is empty/);
});
