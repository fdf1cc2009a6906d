import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { readCheckpoint, writeCheckpoint } from "../../src/train/checkpoint";
import { Optimizer, clipByGlobalNorm, learningRateAt } from "../../src/train/optimizers";
import { evaluate, extractFeatures } from "../../src/train/metrics";
import { buildCompressedMetaOnn } from "../../src/models/students";
import { epochBatches } from "../../src/data/batches";
import { holdOut } from "../../src/data/splits";
import { nonNegativeConv, smallMnist } from "./helpers";

before(async () => {
  await initBackend({ backend: "cpu" });
});

test("an interrupted checkpoint write leaves the previous checkpoint intact", () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-ckpt-")), "last.ckpt");
  const good = { meta: { epoch: 1 }, tensors: { weights: [{ shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }] } };
  writeCheckpoint(file, good);
  const next = { meta: { epoch: 2 }, tensors: { weights: [{ shape: [2, 2], data: new Float32Array([5, 6, 7, 8]) }] } };
  assert.throws(() => writeCheckpoint(file, next, { crashAfterBytes: 20 }), /simulated crash/);
  const back = readCheckpoint(file);
  assert.deepEqual(back.meta, { epoch: 1 });
  assert.deepEqual(Array.from(back.tensors.weights[0].data), [1, 2, 3, 4]);
  fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 30));
  assert.throws(() => readCheckpoint(file), /truncated/);
});

test("Adam and SGD steps match hand computation; schedules and clipping too", () => {
  const w = tf.layers.dense({ units: 1, inputShape: [1], useBias: false, kernelInitializer: "ones" });
  tf.sequential({ layers: [w] });
  const kernel = w.trainableWeights[0];
  const adam = new Optimizer({ kind: "adam" }, [kernel]);
  adam.applyGradients([tf.tensor2d([[2]])], 0.1); // first Adam step moves by lr·sign(g)
  assert.ok(Math.abs(kernel.read().dataSync()[0] - 0.9) < 1e-6);
  adam.dispose();
  const sgd = new Optimizer({ kind: "sgd", momentum: 0.5 }, [kernel]);
  sgd.applyGradients([tf.tensor2d([[1]])], 0.1); // buf = 1 -> 0.8
  sgd.applyGradients([tf.tensor2d([[1]])], 0.1); // buf = 1.5 -> 0.65
  assert.ok(Math.abs(kernel.read().dataSync()[0] - 0.65) < 1e-6);
  assert.equal(sgd.getState().step, 2);
  sgd.dispose();
  assert.equal(learningRateAt({ kind: "cosine", totalEpochs: 4 }, 1, 2), 0.5);
  assert.ok(Math.abs(learningRateAt({ kind: "step", stepSize: 2, gamma: 0.1 }, 1, 5) - 0.01) < 1e-12);
  const { grads, norm } = clipByGlobalNorm([tf.tensor1d([3]), tf.tensor1d([4])], 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  assert.ok(Math.abs(grads[0].dataSync()[0] - 0.6) < 1e-5);
});

test("evaluate: a constant classifier's accuracy is its class's share, and the confusion matrix adds up", () => {
  const ds = smallMnist(40);
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [14, 14, 1] }), tf.layers.dense({ units: 10, kernelInitializer: "zeros", biasInitializer: tf.initializers.constant({ value: 0 }) })] });
  // Make class 3 always win.
  model.layers[1].setWeights([model.layers[1].getWeights()[0], tf.oneHot(tf.tensor1d([3], "int32"), 10).reshape([10]).toFloat()]);
  const ev = evaluate(model, ds, { batchSize: 16 });
  const threes = Array.from(ds.labels).filter((l) => l === 3).length;
  assert.equal(ev.accuracy, threes / 40);
  assert.equal(ev.confusion.flat().reduce((a, b) => a + b, 0), 40);
  assert.equal(ev.confusion.reduce((s, row) => s + row[3], 0), 40);
  // Uniform-ish logits: CE = log(sum(exp)) - logit of true class.
  const expected = (threes * (Math.log(9 + Math.E) - 1) + (40 - threes) * Math.log(9 + Math.E)) / 40;
  assert.ok(Math.abs(ev.loss - expected) < 1e-5);
});

test("epoch order depends only on (seed, epoch); hold-out splits are disjoint", () => {
  const a = epochBatches(50, 16, 1, 3);
  assert.deepEqual(a, epochBatches(50, 16, 1, 3));
  assert.notDeepEqual(a, epochBatches(50, 16, 1, 4));
  assert.equal(a.length, 4);
  assert.deepEqual(Array.from(a.flatMap((b) => Array.from(b))).sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  const { train, validation } = holdOut(smallMnist(20), 0.25, 1);
  assert.equal(train.count + validation.count, 20);
  assert.equal(validation.count, 5);
});

test("extractFeatures returns the backend's hidden features for a student and the last layer's input for a plain model", () => {
  const ds = smallMnist(5);
  const s = buildCompressedMetaOnn({ frontend: nonNegativeConv(4, 5, 7), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 });
  const f = extractFeatures(s, ds, { batchSize: 2 });
  assert.equal(f.count, 5);
  assert.equal(f.dims, 16);
  const x = tf.tensor4d(ds.images.slice(4 * 196, 5 * 196), [1, 14, 14, 1]);
  const direct = (s.featureModel.apply(s.sense(x)) as Tensor).dataSync();
  assert.deepEqual(Array.from(f.values.slice(4 * 16)), Array.from(direct));
  const plain = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [14, 14, 1] }), tf.layers.dense({ units: 7 }), tf.layers.dense({ units: 10 })] });
  assert.equal(extractFeatures(plain, ds).dims, 7);
  s.dispose();
});
