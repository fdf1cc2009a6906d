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

test("one-tape kernel gradient equals separate pull-backs at θ and at each probe (the reference method)", () => {
  const model = tinyMlp(6, 10, 4, 31);
  const subject = ntkSubject(model);
  const x = tf.randomNormal([5, 6], 0, 1, "float32", 32);
  const opts = { probes: 3, epsilon: 1e-2, seed: 17 };
  const lossOfKernel = (k: tf.Tensor) => tf.mean(tf.square(tf.sub(k, tf.eye(5))));
  const fast = kernelLossAndGrads(subject, x, "matrix", opts, lossOfKernel);
  // Reference: outputs at θ and at each probe, d loss / d outputs, then one VJP per output at
  // the weights that produced it (forward + backward each), summed.
  const outs = [tf.tidy(() => subject.forward(x))];
  for (let r = 0; r < opts.probes; r++) outs.push(withProbe(subject.variables, r, opts.seed, opts.epsilon, () => tf.tidy(() => subject.forward(x))));
  const { value, grads: outGrads } = tf.valueAndGrads((...o: tf.Tensor[]) => {
    const ds = o.slice(1).map((fr) => tf.div(tf.sub(fr, o[0]), opts.epsilon));
    const k = tf.div(tf.addN(ds.map((d) => tf.matMul(d, d, false, true))), opts.probes);
    return lossOfKernel(k) as tf.Scalar;
  })(outs);
  const vjp = (g: tf.Tensor) => {
    const r = tf.variableGrads(() => tf.sum(tf.mul(subject.forward(x), g)) as tf.Scalar, subject.variables);
    r.value.dispose();
    return subject.variables.map((v) => r.grads[v.name]);
  };
  const parts = [vjp(outGrads[0])];
  for (let r = 0; r < opts.probes; r++) parts.push(withProbe(subject.variables, r, opts.seed, opts.epsilon, () => vjp(outGrads[r + 1])));
  assert.ok(Math.abs(fast.value.dataSync()[0] - value.dataSync()[0]) <= 1e-5 * Math.abs(value.dataSync()[0]));
  // Compared as one vector: the output bias's gradient is zero in exact arithmetic (a kernel of
  // differences does not see a shift of the outputs), so its own relative error is noise.
  const expected = tf.concat(subject.variables.map((v, k) => tf.reshape(tf.addN(parts.map((p) => p[k])), [-1])));
  const got = tf.concat(subject.variables.map((v) => tf.reshape(fast.grads[v.name], [-1])));
  const err = relativeError(got.dataSync() as Float32Array, expected.dataSync() as Float32Array);
  assert.ok(err < 1e-4, `relative error ${err}`);
  tf.dispose([expected, got]);
  tf.dispose([x, value, fast.value, ...outs, ...outGrads, ...parts.flat(), ...Object.values(fast.grads)]);
  model.dispose();
});
