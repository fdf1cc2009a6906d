import { test, before } from "node:test";
import assert from "node:assert/strict";
import type { Scalar } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { crossEntropy, kdLoss } from "../../src/distill/losses";

before(async () => {
  await initBackend({ backend: "cpu" });
});

test("cross-entropy matches a hand-computed case", () => {
  // softmax([0, ln 3]) = [1/4, 3/4]; label 1 -> -ln(3/4); label 0 -> -ln(1/4).
  const logits = tf.tensor2d([[0, Math.log(3)], [0, Math.log(3)]]);
  const ce = crossEntropy(logits, tf.tensor1d([1, 0], "int32"));
  assert.ok(Math.abs(ce.dataSync()[0] - (-Math.log(0.75) - Math.log(0.25)) / 2) < 1e-6);
  assert.throws(() => crossEntropy(logits, tf.zeros([2, 3])), /expected class indices/);
});

test("KD with T = 1 and α = 1 equals cross-entropy on the teacher's soft labels (up to the teacher's entropy)", () => {
  const student = tf.variable(tf.randomNormal([6, 5], 0, 2, "float32", 1));
  const teacher = tf.randomNormal([6, 5], 0, 2, "float32", 2);
  const labels = tf.tensor1d([0, 1, 2, 3, 4, 0], "int32");
  const soft = tf.softmax(teacher);
  const entropy = tf.neg(tf.mean(tf.sum(tf.mul(soft, tf.logSoftmax(teacher)), 1))).dataSync()[0];
  const kd = tf.variableGrads(() => kdLoss(student, teacher, labels, { temperature: 1, alpha: 1 }) as Scalar, [student]);
  const ce = tf.variableGrads(() => crossEntropy(student, soft) as Scalar, [student]);
  assert.ok(Math.abs(kd.value.dataSync()[0] - (ce.value.dataSync()[0] - entropy)) < 1e-5);
  const gk = kd.grads[student.name].dataSync();
  const gc = ce.grads[student.name].dataSync();
  for (let i = 0; i < gk.length; i++) assert.ok(Math.abs(gk[i] - gc[i]) < 1e-6);
});

test("KD with α = 0 is the hard-label cross-entropy; T² keeps the soft term's scale", () => {
  const s = tf.randomNormal([4, 3], 0, 1, "float32", 3);
  const t = tf.randomNormal([4, 3], 0, 1, "float32", 4);
  const y = tf.tensor1d([0, 1, 2, 1], "int32");
  assert.ok(Math.abs(kdLoss(s, t, y, { temperature: 4, alpha: 0 }).dataSync()[0] - crossEntropy(s, y).dataSync()[0]) < 1e-6);
  // Identical logits: KL = 0 at any temperature.
  assert.ok(Math.abs(kdLoss(s, s, y, { temperature: 10, alpha: 1 }).dataSync()[0]) < 1e-5);
  assert.throws(() => kdLoss(s, t, y, { temperature: 0, alpha: 0.5 }), /temperature must be a positive number/);
  assert.throws(() => kdLoss(s, t, y, { temperature: 1, alpha: 2 }), /alpha must be in \[0, 1\]/);
});
