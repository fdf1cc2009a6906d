import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/runtime/backend";
import { randomOpticalKernels } from "../../src/estimate/reference-network";
import { bankFeatureMap, bankFeatures, linearReadout, trainBackendOnly, trainRandomKernelBackends } from "../../src/experiments/random-kernel-training";
import { trainLoop } from "../../src/train/loop";
import { taskObjective } from "../../src/train/objectives";
import type { ImageDataset } from "../../src/data/types";
import { halves } from "./halves-dataset";

function logits(model: tf.LayersModel, ds: ImageDataset): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor4d(ds.images, [ds.count, ds.height, ds.width, ds.channels])) as tf.Tensor).dataSync() as Float32Array);
}

test("the layer trained on xᵀL predicts what the same layer trained by SGD on the conv features themselves predicts", async () => {
  await initBackend({ backend: "wasm" });
  const train = halves(48, "train", 7);
  const probe = halves(16, "probe", 99);
  const bank = randomOpticalKernels({ count: 3, size: 3, distribution: "nonnegative", seed: 5 });
  const fm = bankFeatureMap(bank, 8, 8);
  // 3 kernels at all 64 positions.
  assert.equal(fm.scale, 1 / Math.sqrt(3 * 64));
  const settings = { objective: taskObjective(), epochs: 2, batchSize: 8, learningRate: 1, optimizer: { kind: "sgd" as const, momentum: 0.9 }, schedule: { kind: "cosine" as const, totalEpochs: 2 }, seed: 3 };

  // The ablation network as it is built: a frozen conv of the bank (scaled), flatten, dense from zero.
  const conv = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, padding: "same", useBias: false, trainable: false }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2, kernelInitializer: "zeros", biasInitializer: "zeros" }),
    ],
  });
  conv.layers[0]!.setWeights([tf.tensor4d(Float32Array.from(bank.values, (v) => v * fm.scale), [3, 3, 1, 3])]);
  await trainLoop({ ...settings, model: conv, train });

  const readout = linearReadout(train);
  await trainLoop({ ...settings, model: readout, train: bankFeatures(fm, train) });

  const a = logits(conv, probe);
  const b = logits(readout, bankFeatures(fm, probe));
  const spread = Math.max(...a.map(Math.abs));
  assert.ok(spread > 0.1, `the layer learned something (max |logit| ${spread})`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-4 * Math.max(1, spread), `logit ${i}: conv ${a[i]} vs features ${b[i]}`);
  conv.dispose();
  readout.dispose();
  fm.map.dispose();
});

test("trainBackendOnly learns a task the fixed kernels can see, scores the test set and leaks no tensors", async () => {
  await initBackend({ backend: "wasm" });
  const bank = randomOpticalKernels({ count: 4, size: 3, distribution: "nonnegative", seed: 1 });
  const before = tf.memory().numTensors;
  const epochs: number[] = [];
  const r = await trainBackendOnly({ bank, train: halves(64, "train", 11), validation: halves(16, "val", 12), test: halves(32, "test", 13), epochs: 3, batchSize: 16, seed: 0, onEpochEnd: (e) => epochs.push(e.epoch) });
  assert.ok(r.accuracy >= 0.95, `accuracy ${r.accuracy}`);
  assert.deepEqual(epochs, [0, 1, 2]);
  assert.equal(r.history.length, 3);
  assert.equal(tf.memory().numTensors, before);
  const rgb = randomOpticalKernels({ count: 2, size: 3, channels: 3, distribution: "nonnegative", seed: 1 });
  await assert.rejects(trainBackendOnly({ bank: rgb, train: halves(8, "grey", 1), test: halves(8, "t", 2), epochs: 1, seed: 0 }), /bank reads 3 channels, grey has 1/);
  const small = bankFeatureMap(bank, 4, 4);
  assert.throws(() => bankFeatures(small, halves(2, "x", 1)), /feature map is for 16 values per image, x has 8x8x1 = 64/);
  small.map.dispose();
});

test("trainRandomKernelBackends: the estimate's own kernels per count, a learning rate chosen on validation, all images only when given", async () => {
  await initBackend({ backend: "wasm" });
  const estimate = { dataset: halves(60, "pool", 21), testDataset: halves(20, "test", 22), kernelSize: 3, randomKernels: "nonnegative" as const, network: { hiddenLayers: 0, trainFrontend: false }, trainPoints: 32, validationPoints: 12, testPoints: 20, seed: 4 };
  const seen: number[] = [];
  const rows = await trainRandomKernelBackends({ estimate, counts: [2, 5], epochs: 2, learningRates: [0.01, 0.3], onRow: (r) => seen.push(r.kernels) });
  assert.deepEqual(seen, [2, 5]);
  for (const r of rows) {
    assert.equal(r.trained, null);
    assert.ok([0.01, 0.3].includes(r.learningRate.onRegressionPoints));
    assert.ok(r.trainedOnRegressionPoints >= 0.9, `${r.kernels} kernels: ${r.trainedOnRegressionPoints}`);
  }
  const withAll = await trainRandomKernelBackends({ estimate, counts: [2], epochs: 2, learningRates: [0.3], splits: { train: halves(40, "all", 31), validation: halves(10, "v", 32), test: halves(20, "t", 33) } });
  assert.ok(withAll[0]!.trained !== null && withAll[0]!.trained >= 0.9);
  assert.equal(withAll[0]!.learningRate.allImages, 0.3);
  await assert.rejects(trainRandomKernelBackends({ estimate, counts: [0], epochs: 1 }), /counts contains 0/);
  await assert.rejects(trainRandomKernelBackends({ estimate, counts: [2], epochs: 1, learningRates: [] }), /learningRates is empty/);
});
