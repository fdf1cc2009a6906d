import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { flattenedSubject } from "../../src/distill/ntk";
import { ntkdLoss, ntkdLossAndGrads, resolveNtkMatchOptions, teacherKernel } from "../../src/distill/ntkd";
import { binaryCrossEntropyWithLogits, segmentationKdLoss, segmentationTaskLoss, softDiceLoss } from "../../src/distill/segmentation-losses";

before(async () => {
  await initBackend({ backend: "wasm" });
});

test("BCE with logits, soft Dice and per-pixel KD against hand-computed values", () => {
  const z = tf.tensor4d([0, 2, -3, 40], [1, 2, 2, 1]);
  const y = tf.tensor4d([1, 0, 1, 1], [1, 2, 2, 1]);
  const bce = binaryCrossEntropyWithLogits(z, y).dataSync();
  const want = [Math.log(2), Math.log(1 + Math.exp(2)), Math.log(1 + Math.exp(3)), 0];
  want.forEach((w, i) => assert.ok(Math.abs(bce[i] - w) < 1e-5, `bce[${i}] ${bce[i]} vs ${w}`));
  const task = segmentationTaskLoss(z, y).dataSync()[0];
  assert.ok(Math.abs(task - want.reduce((a, b) => a + b) / 4) < 1e-5);
  const s = [0.5, 1 / (1 + Math.exp(-2)), 1 / (1 + Math.exp(3)), 1];
  const diceWant = 1 - (2 * (s[0] + s[2] + s[3]) + 1) / (s.reduce((a, b) => a + b) + 3 + 1);
  assert.ok(Math.abs(softDiceLoss(z, y).dataSync()[0] - diceWant) < 1e-5);
  assert.ok(Math.abs(segmentationTaskLoss(z, y, { diceWeight: 0.5 }).dataSync()[0] - (task + 0.5 * diceWant)) < 1e-5);
  // KD of one pixel: t = 1, s = -1, T = 2, α = 1 -> T² · KL(Bern(σ(0.5)) || Bern(σ(-0.5)))
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const p = sig(0.5), q = sig(-0.5);
  const kl = p * Math.log(p / q) + (1 - p) * Math.log((1 - p) / (1 - q));
  const one = (v: number) => tf.tensor4d([v], [1, 1, 1, 1]);
  const kd = segmentationKdLoss(one(-1), one(1), one(1), { temperature: 2, alpha: 1 }).dataSync()[0];
  assert.ok(Math.abs(kd - 4 * kl) < 1e-5, `kd ${kd} vs ${4 * kl}`);
  assert.ok(Math.abs(segmentationKdLoss(z, z, y, { temperature: 3, alpha: 1 }).dataSync()[0]) < 1e-6, "KL of identical maps must be 0");
  const mixed = segmentationKdLoss(one(-1), one(1), one(1), { temperature: 2, alpha: 0.25 }).dataSync()[0];
  assert.ok(Math.abs(mixed - (0.25 * 4 * kl + 0.75 * Math.log(1 + Math.exp(1)))) < 1e-5);
  assert.throws(() => segmentationTaskLoss(z, tf.zeros([1, 2, 2, 2])), /differ in shape/);
  assert.throws(() => segmentationKdLoss(z, z, y, { temperature: 0 }), /temperature/);
});

test("BCE + soft Dice: the gradient autodiff takes matches central finite differences of the loss", () => {
  const z = tf.tensor4d([0.3, -1.2, 2.0, -0.4, 0.9, -2.5, 1.1, 0.1], [2, 2, 2, 1]);
  const y = tf.tensor4d([1, 0, 1, 1, 0, 0, 1, 0], [2, 2, 2, 1]);
  const loss = (logits: tf.Tensor) => segmentationTaskLoss(logits as tf.Tensor4D, y, { diceWeight: 1 }) as tf.Scalar;
  const grad = tf.grad(loss)(z).dataSync();
  const base = z.dataSync();
  const eps = 1e-2;
  const at = (i: number, d: number) => {
    const v = Float32Array.from(base);
    v[i] += d;
    return tf.tidy(() => loss(tf.tensor4d(v, [2, 2, 2, 1])).dataSync()[0]);
  };
  for (let i = 0; i < base.length; i++) {
    const fd = (at(i, eps) - at(i, -eps)) / (2 * eps);
    assert.ok(Math.abs(grad[i] - fd) < 2e-3, `logit ${i}: autodiff ${grad[i]} vs finite difference ${fd}`);
  }
  // The Dice term pushes object pixels up harder than BCE alone would: its gradient on them is negative.
  const bceOnly = tf.grad((l: tf.Tensor) => segmentationTaskLoss(l as tf.Tensor4D, y) as tf.Scalar)(z).dataSync();
  [0, 2, 3, 6].forEach((i) => assert.ok(grad[i] < bceOnly[i], `object pixel ${i}: ${grad[i]} vs BCE ${bceOnly[i]}`));
  tf.dispose([z, y]);
});

test("NTKD over output pixels: the first-order gradient matches finite differences of the sketched loss", () => {
  const student = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 3], filters: 3, kernelSize: 3, padding: "same", activation: "tanh", kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }),
      tf.layers.conv2d({ filters: 1, kernelSize: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
    ],
  });
  const teacher = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 3], filters: 4, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }),
      tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: "same", kernelInitializer: tf.initializers.glorotNormal({ seed: 4 }) }),
    ],
  });
  const x = tf.randomUniform([3, 6, 6, 3], 0, 1, "float32", 5);
  const match = resolveNtkMatchOptions({ probes: 3, epsilon: 1e-2, normalisation: "trace" });
  const vars = student.trainableWeights.map((w) => w.read() as tf.Variable);
  const subject = flattenedSubject((t) => student.apply(t) as tf.Tensor, vars);
  const tSubject = flattenedSubject((t) => teacher.apply(t) as tf.Tensor, teacher.trainableWeights.map((w) => w.read() as tf.Variable));
  const kT = teacherKernel(tSubject, x, match, 77);
  assert.deepEqual(kT.shape, [3, 3]);
  const { value, grads } = ntkdLossAndGrads(subject, x, kT, match, 99);
  assert.ok(value.dataSync()[0] > 0);
  // directional derivative along a random direction d, by central differences with the same probes
  const dirs = vars.map((v, k) => tf.randomNormal(v.shape, 0, 1, "float32", 200 + k));
  const analytic = vars.reduce((s, v, k) => s + tf.tidy(() => tf.sum(tf.mul(grads[v.name], dirs[k])).dataSync()[0]), 0);
  const originals = vars.map((v) => tf.clone(v));
  const lossAt = (h: number) => {
    vars.forEach((v, k) => v.assign(tf.tidy(() => tf.add(originals[k], tf.mul(dirs[k], h)))));
    const l = ntkdLoss(subject, x, kT, match, 99);
    const out = l.dataSync()[0];
    l.dispose();
    return out;
  };
  const h = 2e-3;
  const numeric = (lossAt(h) - lossAt(-h)) / (2 * h);
  vars.forEach((v, k) => v.assign(originals[k]));
  assert.ok(Math.abs(analytic) > 1e-4, `directional derivative ${analytic} too small for a meaningful check`);
  assert.ok(Math.abs(numeric - analytic) <= 0.05 * Math.abs(analytic), `finite differences ${numeric} vs first-order gradient ${analytic}`);
  tf.dispose([x, kT, value, ...Object.values(grads), ...dirs, ...originals]);
  student.dispose();
  teacher.dispose();
});

