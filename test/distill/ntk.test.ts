import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { exactNtk, ntkSubject, sketchNtk, traceNtk, withProbe, kernelLossAndGrads } from "../../src/distill/ntk";
import { tinyMlp, relativeError } from "./helpers";

before(async () => {
  await initBackend({ backend: "cpu" });
});

test("exact NTK of a linear model equals the analytic C·(x_i·x_j + 1)", () => {
  const C = 3;
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: C, kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) })] });
  const x = tf.randomNormal([5, 4], 0, 1, "float32", 2);
  const theta = exactNtk(ntkSubject(model), x);
  const xs = x.arraySync() as number[][];
  const expected: number[] = [];
  for (const a of xs) for (const b of xs) expected.push(C * (a.reduce((s, v, k) => s + v * b[k], 0) + 1));
  assert.ok(relativeError(theta.dataSync() as Float32Array, expected) < 1e-5);
  tf.dispose([theta, x]);
  model.dispose();
});

test("the sketch NTK converges to the exact NTK as probes grow", () => {
  const model = tinyMlp(5, 8, 3, 11);
  const subject = ntkSubject(model);
  const x = tf.randomNormal([6, 5], 0, 1, "float32", 12);
  const exact = exactNtk(subject, x);
  const exactValues = exact.dataSync() as Float32Array;
  const errors = [4, 64, 1024].map((probes) => {
    // Average over three seeds so one lucky draw cannot make the sequence non-monotone.
    let e = 0;
    for (const seed of [1, 2, 3]) {
      const s = sketchNtk(subject, x, { probes, epsilon: 1e-3, seed });
      e += relativeError(s.dataSync() as Float32Array, exactValues) / 3;
      s.dispose();
    }
    return e;
  });
  assert.ok(errors[0] > errors[1] && errors[1] > errors[2], `errors ${errors}`);
  assert.ok(errors[2] < 0.1, `error at 1024 probes ${errors[2]}`);
  // Monte-Carlo rate: 256x more probes should shrink the error by about 16x; demand 5x.
  assert.ok(errors[0] / errors[2] > 5, `errors ${errors}`);
  const trace = traceNtk(subject, x, { probes: 1024, epsilon: 1e-3, seed: 4 });
  const diag = tf.tidy(() => tf.sum(tf.mul(exact, tf.eye(6)), 1));
  assert.ok(relativeError(trace.dataSync() as Float32Array, diag.dataSync() as Float32Array) < 0.1);
  tf.dispose([x, exact, trace, diag]);
  model.dispose();
});

test("probing restores the weights bit-for-bit and leaks no tensors", () => {
  const model = tinyMlp(5, 8, 3, 21);
  const subject = ntkSubject(model);
  const before = subject.variables.map((v) => Array.from(v.dataSync()));
  const x = tf.randomNormal([4, 5], 0, 1, "float32", 22);
  const count = tf.memory().numTensors;
  withProbe(subject.variables, 0, 5, 0.1, () => {
    assert.notDeepEqual(Array.from(subject.variables[0].dataSync()), before[0]);
  });
  const s = sketchNtk(subject, x, { probes: 3, seed: 1 });
  s.dispose();
  const r = kernelLossAndGrads(subject, x, "matrix", { probes: 2, seed: 3 }, (k) => tf.mean(tf.square(k)));
  r.value.dispose();
  tf.dispose(Object.values(r.grads));
  assert.equal(tf.memory().numTensors, count);
  subject.variables.forEach((v, k) => assert.deepEqual(Array.from(v.dataSync()), before[k]));
  x.dispose();
  model.dispose();
});

test("NTK estimators reject bad options with a clear message", () => {
  const model = tinyMlp(2, 3, 2, 1);
  const x = tf.zeros([2, 2]);
  assert.throws(() => sketchNtk(ntkSubject(model), x, { probes: 0, seed: 1 }), /probes must be an integer >= 1/);
  assert.throws(() => sketchNtk(ntkSubject(model), x, { probes: 2, epsilon: -1, seed: 1 }), /epsilon must be a positive number/);
  x.dispose();
  model.dispose();
});
