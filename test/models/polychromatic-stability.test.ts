/**
 * Issue 17: the Polychromatic Meta ONN's first Adam steps on real CIFAR-10 (lr 1e-2) sent the loss
 * from 2.6 to hundreds. Cause: a non-negative optic with unit-sum PSFs gives every binned sensor pixel the
 * same large offset (about 1.2 ± 0.5 on CIFAR-10), so the 4,096 inputs of the first dense layer
 * move together. The fix standardises each image's readout (ReadoutStandardisation).
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { cifar10Available, cifar10Dir, loadCifar10 } from "../../src/data/cifar10";
import { buildCompressedMetaOnn, buildPolychromaticMetaOnn } from "../../src/models/students";
import { ReadoutStandardisation } from "../../src/models/optical-student";
import { trainStudent } from "../../src/train/api";
import { evaluate } from "../../src/train/metrics";
import type { ImageDataset } from "../../src/data/types";

before(async () => {
  await initBackend({ backend: "wasm", threads: 1 });
});

test("ReadoutStandardisation: each row to mean 0 and norm 1, checked by hand; gradients flow", () => {
  const layer = new ReadoutStandardisation({});
  const x = tf.tensor2d([[1, 2, 3, 6], [5, 5, 5, 9]]);
  const y = layer.apply(x) as tf.Tensor;
  // row 1: mean 3, variance (4+1+0+9)/4 = 3.5; row 2: mean 6, variance (1+1+1+9)/4 = 3; 4 features
  const s1 = Math.sqrt(4 * (3.5 + 1e-6));
  const s2 = Math.sqrt(4 * (3 + 1e-6));
  const want = [-2 / s1, -1 / s1, 0, 3 / s1, -1 / s2, -1 / s2, -1 / s2, 3 / s2];
  (y.dataSync() as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `element ${i}: ${v} vs ${want[i]}`));
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, tf.tensor2d([[1, 0, 0, 0], [0, 0, 0, 1]]))))(x);
  assert.ok((g.dataSync() as Float32Array).every(Number.isFinite));
  tf.dispose([x, y, g]);
});

test("the Polychromatic Meta ONN standardises its readout (no added parameters); the Compressed Meta ONN does not", () => {
  const poly = buildPolychromaticMetaOnn({ seed: 0 });
  const plain = buildPolychromaticMetaOnn({ seed: 0, sensorNormalisation: "none" });
  assert.equal(poly.countParams(), 1651450);
  assert.equal(plain.countParams(), 1651450);
  assert.ok(poly.backend.layers.some((l) => l instanceof ReadoutStandardisation));
  assert.ok(!plain.backend.layers.some((l) => l instanceof ReadoutStandardisation));
  const mnist = buildCompressedMetaOnn({ seed: 0 });
  assert.ok(!mnist.backend.layers.some((l) => l instanceof ReadoutStandardisation));
  for (const s of [poly, plain, mnist]) s.dispose();
});

const head = (ds: ImageDataset, n: number): ImageDataset => ({ ...ds, images: ds.images.subarray(0, n * 3072), labels: ds.labels.subarray(0, n), count: n });

async function trainBriefly(train: ImageDataset, testSet: ImageDataset, sensorNormalisation: "none" | "per-image") {
  const student = buildPolychromaticMetaOnn({ seed: 0, sensorNormalisation });
  const initLoss = tf.tidy(() => {
    const x = tf.tensor4d(train.images.subarray(0, 256 * 3072), [256, 32, 32, 3]);
    const y = tf.oneHot(tf.tensor1d(Array.from(train.labels.subarray(0, 256)), "int32"), 10);
    return tf.losses.softmaxCrossEntropy(y, student.apply(x)).dataSync()[0]!;
  });
  const batchLosses: number[] = [];
  const r = await trainStudent({
    student, method: "none", train, epochs: 2, batchSize: 128, learningRate: 1e-2, schedule: { kind: "cosine", totalEpochs: 2 }, seed: 1,
    onBatchEnd: (p) => batchLosses.push(p.loss),
  });
  const accuracy = evaluate(student, testSet).accuracy;
  student.dispose();
  return { initLoss, maxBatchLoss: Math.max(...batchLosses), firstEpochLoss: r.history[0]!.trainLoss, accuracy };
}

// Runs wherever `npm run data:cifar10` has been run (skips only when CIFAR-10 is absent).
test("on real CIFAR-10 at the preset's lr 1e-2 the standardised student starts at ln 10, never jumps, and learns more than the unstandardised one", { skip: !cifar10Available() && `CIFAR-10 not in ${cifar10Dir()}` }, async () => {
  const train = head(loadCifar10({ split: "train", limit: 2000 }), 2000);
  const testSet = loadCifar10({ split: "test", limit: 1000 });
  const fixed = await trainBriefly(train, testSet, "per-image");
  const unfixed = await trainBriefly(train, testSet, "none");
  console.log(`per-image: ${JSON.stringify(fixed)}; none: ${JSON.stringify(unfixed)}`);
  // unit-norm readouts make the initial logits small: the loss starts at ln 10 = 2.303
  assert.ok(Math.abs(fixed.initLoss - Math.log(10)) < 0.05, `loss at init ${fixed.initLoss}`);
  assert.ok(fixed.maxBatchLoss < 3.5, `largest batch loss ${fixed.maxBatchLoss}`);
  assert.ok(fixed.firstEpochLoss < 2.35, `first-epoch mean loss ${fixed.firstEpochLoss}`);
  // the cause, shown: the same student without standardisation jumps after its first step
  assert.ok(unfixed.maxBatchLoss > 20, `unstandardised largest batch loss ${unfixed.maxBatchLoss}`);
  assert.ok(fixed.accuracy > unfixed.accuracy + 0.04, `accuracy ${fixed.accuracy} standardised vs ${unfixed.accuracy} not`);
});
