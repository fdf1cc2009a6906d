import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import type { Matrix64 } from "../../src/estimate/linalg";
import { infiniteWidthNtk, type NtkImages } from "../../src/estimate/infinite-width-ntk";
import { kernelBankQuadraticForm, patchCoverage, randomOpticalKernels, resolveReferenceNetwork, type ReferenceNetwork } from "../../src/estimate/reference-network";
import { disposeWideNetwork, initWideNetwork, wideNetworkForward, wideNetworkNtk, wideNetworkNtkOf } from "../../src/estimate/wide-network-ntk";

/** Smooth random 4 x 4 "images" in [0, 1], seeded. */
function smallImages(count: number, size: number, seed: number): NtkImages {
  let s = seed;
  const u = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const images = new Float32Array(count * size * size);
  for (let n = 0; n < count; n++) {
    const fx = u() * 2, fy = u() * 2, ph = u() * 6;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) images[n * size * size + y * size + x] = 0.5 + 0.4 * Math.sin(fx * x + fy * y + ph) + 0.1 * u();
  }
  return { images, count, height: size, width: size, channels: 1 };
}

function relativeFrobenius(a: Matrix64, b: Matrix64): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.data.length; i++) {
    num += (a.data[i]! - b.data[i]!) ** 2;
    den += b.data[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

test("patch coverage matches hand counts on a 4 x 4 image, 3 x 3 kernel", () => {
  assert.deepEqual(Array.from(patchCoverage(4, 4, 3, "same")), [4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4]);
  assert.deepEqual(Array.from(patchCoverage(4, 4, 3, "valid")), [1, 2, 2, 1, 2, 4, 4, 2, 2, 4, 4, 2, 1, 2, 2, 1]);
  assert.throws(() => patchCoverage(2, 2, 3, "valid"), /does not fit a 2 x 2 image/);
  assert.throws(() => resolveReferenceNetwork({ kernelSize: 4, kernels: "infinite" }), /odd kernel size/);
});

test("the kernel-bank quadratic form equals the Gram of tf.conv2d features", async () => {
  await initBackend({ backend: "cpu" });
  const imgs = smallImages(5, 5, 4);
  for (const padding of ["same", "valid"] as const) {
    const bank = randomOpticalKernels({ count: 3, size: 3, distribution: "gaussian", seed: 2 });
    const form = kernelBankQuadraticForm(bank, 5, 5, padding);
    const feats = tf.tidy(() => tf.reshape(tf.conv2d(tf.tensor4d(Float32Array.from(imgs.images), [5, 5, 5, 1]), tf.tensor4d(Float32Array.from(bank.values), [3, 3, 1, 3]), 1, padding), [5, -1]).arraySync() as number[][]);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) {
      const ref = feats[i]!.reduce((s, v, k) => s + v * feats[j]![k]!, 0);
      let q = 0;
      for (let a = 0; a < 25; a++) for (let b = 0; b < 25; b++) q += imgs.images[i * 25 + a]! * form[a * 25 + b]! * imgs.images[j * 25 + b]!;
      assert.ok(Math.abs(q - ref) < 1e-4 * (1 + Math.abs(ref)), `${padding} pair ${i},${j}: ${q} vs ${ref}`);
    }
  }
});

test("closed-form empirical NTK equals the tf.grad Jacobian NTK of the same finite network", async () => {
  await initBackend({ backend: "cpu" });
  const imgs = smallImages(4, 4, 9);
  const before = tf.memory().numTensors;
  for (const network of [
    { kernelSize: 3, kernels: "infinite", hiddenLayers: 2, biasVariance: 0.1 },
    { kernelSize: 3, kernels: randomOpticalKernels({ count: 2, size: 3, distribution: "nonnegative", seed: 1 }), hiddenLayers: 1, trainFrontend: false, padding: "valid" },
  ] as ReferenceNetwork[]) {
    const p = initWideNetwork(network, 1, 4, 4, { width: 6, outputs: 3, seed: 5 });
    const closed = wideNetworkNtkOf(p, imgs);
    const closedValues = closed.arraySync();
    closed.dispose();
    const trainables: tf.Tensor[] = [...(p.net.trainFrontend ? [p.conv] : []), ...p.weights, ...p.biases.filter((b): b is tf.Tensor1D => b !== null)];
    const jac: number[][][] = []; // [sample][output][flattened params]
    for (let n = 0; n < 4; n++) {
      jac.push([]);
      for (let o = 0; o < 3; o++) {
        const grads = tf.tidy(() => {
          const x = tf.tensor4d(Float32Array.from(imgs.images.slice(n * 16, (n + 1) * 16)), [1, 4, 4, 1]);
          const f = (...params: tf.Tensor[]) => {
            const q = { ...p };
            let i = 0;
            if (p.net.trainFrontend) q.conv = params[i++] as tf.Tensor4D;
            q.weights = p.weights.map(() => params[i++] as tf.Tensor2D);
            q.biases = p.biases.map((b) => (b ? (params[i++] as tf.Tensor1D) : null));
            return tf.sum(tf.slice(wideNetworkForward(q, x).output, [0, o], [1, 1]));
          };
          return tf.grads(f)(trainables).map((g) => Array.from(g.dataSync()));
        });
        jac[n]!.push(grads.flat());
      }
    }
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let o = 0; o < 3; o++) s += jac[i]![o]!.reduce((acc, v, k) => acc + v * jac[j]![o]![k]!, 0);
      s /= 3;
      assert.ok(Math.abs(closedValues[i]![j]! - s) < 1e-4 * (1 + Math.abs(s)), `pair ${i},${j}: closed ${closedValues[i]![j]} vs autodiff ${s}`);
    }
    disposeWideNetwork(p);
  }
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});

test("wide empirical NTK approaches the analytic infinite-width NTK as the width grows", async () => {
  await initBackend({ backend: "wasm" });
  const imgs = smallImages(10, 4, 21);
  const bank = randomOpticalKernels({ count: 3, size: 3, distribution: "gaussian", seed: 8 });
  // Fluctuations of the empirical kernel shrink like 1/√width, so a 16x wider network should
  // show about a 4x smaller error; steps of 16x keep the trend clear of sampling noise.
  const widths = [8, 128, 2048];
  const cases: { name: string; network: ReferenceNetwork }[] = [
    // "valid" keeps P = 4 so the first layer (m·P x width, m = width) stays small at width 2048.
    { name: "infinite kernels, trained frontend", network: { kernelSize: 3, kernels: "infinite", hiddenLayers: 1, padding: "valid" } },
    { name: "3 fixed kernels, backend only", network: { kernelSize: 3, kernels: bank, hiddenLayers: 2, trainFrontend: false, biasVariance: 0.05 } },
    { name: "infinite kernels, backend only, biases", network: { kernelSize: 3, kernels: "infinite", hiddenLayers: 2, trainFrontend: false, biasVariance: 0.1, padding: "valid" } },
  ];
  const before = tf.memory().numTensors;
  for (const c of cases) {
    const analytic = infiniteWidthNtk(c.network, imgs).ntk;
    const errors = widths.map((width) => relativeFrobenius(wideNetworkNtk(c.network, imgs, { width, outputs: 2, initialisations: 2, seed: 100 + width }), analytic));
    for (let i = 1; i < errors.length; i++) assert.ok(errors[i]! < errors[i - 1]!, `${c.name}: errors ${errors.map((e) => e.toFixed(4))} should decrease with width`);
    // 256x wider should be about 16x closer; demand 4x to stay clear of sampling noise.
    assert.ok(errors[errors.length - 1]! < errors[0]! / 4, `${c.name}: errors ${errors.map((e) => e.toFixed(4))} shrink too slowly`);
    assert.ok(errors[errors.length - 1]! < 0.1, `${c.name}: relative error ${errors[errors.length - 1]} at width ${widths[widths.length - 1]}`);
  }
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  assert.throws(() => infiniteWidthNtk({ kernelSize: 3, kernels: bank, trainFrontend: true }, imgs), /no deterministic infinite-width limit/);
});

test("analytic NTK: symmetric, cross block consistent, finite-bank kernel tends to the infinite one", () => {
  const imgs = smallImages(6, 6, 33);
  const half: NtkImages = { ...imgs, images: imgs.images.slice(0, 3 * 36), count: 3 };
  const net: ReferenceNetwork = { kernelSize: 3, kernels: "infinite", hiddenLayers: 2, trainFrontend: false };
  const full = infiniteWidthNtk(net, imgs).ntk;
  const cross = infiniteWidthNtk(net, half, imgs).ntk;
  for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) assert.equal(full.data[i * 6 + j], full.data[j * 6 + i]);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 6; j++) assert.ok(Math.abs(cross.data[i * 6 + j]! - full.data[i * 6 + j]!) < 1e-12 * full.data[0]!);
  // Many random Gaussian kernels average to the patch-covariance limit.
  const errs = [4, 256, 4096].map((count) => relativeFrobenius(infiniteWidthNtk({ ...net, kernels: randomOpticalKernels({ count, size: 3, distribution: "gaussian", seed: 3 }) }, imgs).ntk, full));
  assert.ok(errs[0]! > errs[1]! && errs[1]! > errs[2]!, `errors ${errs}`);
  assert.ok(errs[2]! < 0.03, `errors ${errs}`);
  assert.throws(() => infiniteWidthNtk(net, { ...imgs, images: new Float32Array(3) }), /a.images: has 3 values/);
});
