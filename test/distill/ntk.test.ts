import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { exactNtk, ntkSubject, probeValues, sketchNtk, traceNtk, withProbe, kernelLossAndGrads } from "../../src/distill/ntk";
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

test("Rademacher probes are ±ε, deterministic in (seed, probe, variable), with mean 0 and variance ε²", () => {
  const n = 200_000;
  const eps = 0.01;
  const a = probeValues(n, 7, 1, 2, eps);
  const prefix = probeValues(100, 7, 1, 2, eps);
  assert.deepEqual(Array.from(prefix), Array.from(a.subarray(0, 100)), "same (seed, probe, variable): same probe");
  const others = [probeValues(n, 8, 1, 2, eps), probeValues(n, 7, 2, 2, eps), probeValues(n, 7, 1, 3, eps)];
  for (const other of others) {
    let agree = 0;
    for (let i = 0; i < n; i++) if (other[i] === a[i]) agree++;
    // Independent signs agree half the time: 0.5 ± 5 standard deviations (0.0011 each).
    assert.ok(Math.abs(agree / n - 0.5) < 0.006, `agreement ${agree / n}`);
  }
  let sum = 0;
  let sumSq = 0;
  let lag1 = 0;
  for (let i = 0; i < n; i++) {
    assert.ok(a[i] === Math.fround(eps) || a[i] === -Math.fround(eps), `entry ${i} is ${a[i]}`);
    sum += a[i] / eps;
    sumSq += (a[i] / eps) ** 2;
    if (i > 0) lag1 += (a[i] * a[i - 1]) / eps ** 2;
  }
  // Mean and neighbour correlation (bits of one 32-bit draw must be independent): within 5 s.d. (1/√n).
  assert.ok(Math.abs(sum / n) < 5 / Math.sqrt(n), `mean ${sum / n}`);
  assert.ok(Math.abs(lag1 / (n - 1)) < 5 / Math.sqrt(n), `lag-1 correlation ${lag1 / (n - 1)}`);
  assert.ok(Math.abs(sumSq / n - 1) < 1e-6, `variance ${sumSq / n}`);
});

test("normal probes are deterministic, with mean 0 and variance ε²; a bad distribution is rejected", () => {
  const n = 100_000;
  const eps = 0.5;
  const a = probeValues(n, 3, 0, 1, eps, "normal");
  assert.deepEqual(Array.from(probeValues(n, 3, 0, 1, eps, "normal")), Array.from(a));
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    sum += a[i] / eps;
    sumSq += (a[i] / eps) ** 2;
  }
  // Standard normal: mean ± 5/√n, variance 1 ± 5·√(2/n).
  assert.ok(Math.abs(sum / n) < 5 / Math.sqrt(n), `mean ${sum / n}`);
  assert.ok(Math.abs(sumSq / n - 1) < 5 * Math.sqrt(2 / n), `variance ${sumSq / n}`);
  const bad = "uniform" as never;
  assert.throws(() => probeValues(4, 1, 0, 0, 1, bad), /probeValues: distribution must be "rademacher" or "normal"/);
  const model = tinyMlp(2, 3, 2, 1);
  const x = tf.zeros([2, 2]);
  assert.throws(() => sketchNtk(ntkSubject(model), x, { probes: 2, seed: 1, distribution: bad }), /sketchNtk: distribution must be/);
  x.dispose();
  model.dispose();
});

test("the estimators perturb each variable by exactly probeValues (either distribution)", () => {
  // A linear model f(x) = xW + b: D_r = (x ΔW_r + Δb_r) / ε exactly, so the sketch can be
  // recomputed by hand from the probes probeValues reports.
  const kernelInitializer = tf.initializers.randomNormal({ seed: 5 });
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, kernelInitializer })] });
  const subject = ntkSubject(model);
  const x = tf.randomNormal([4, 3], 0, 1, "float32", 6);
  const xs = x.arraySync() as number[][];
  for (const distribution of ["rademacher", "normal"] as const) {
    const opts = { probes: 3, epsilon: 0.25, seed: 9, distribution };
    const got = sketchNtk(subject, x, opts).dataSync();
    const expected = new Float64Array(16);
    for (let r = 0; r < opts.probes; r++) {
      const dW = probeValues(6, opts.seed, r, 0, 1, distribution);
      const db = probeValues(2, opts.seed, r, 1, 1, distribution);
      const d = xs.map((row) => [0, 1].map((c) => row.reduce((s, v, k) => s + v * dW[k * 2 + c], 0) + db[c]));
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) expected[i * 4 + j] += (d[i][0] * d[j][0] + d[i][1] * d[j][1]) / opts.probes;
      }
    }
    // Float32 finite differences at ε = 0.25 of a linear model: rounding only.
    const err = relativeError(got as Float32Array, expected);
    assert.ok(err < 1e-5, `${distribution}: relative error ${err}`);
  }
  x.dispose();
  model.dispose();
});
