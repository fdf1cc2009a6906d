import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../../src/runtime/tf";
import { PsfConvFrontend } from "../../../src/models/frontends/psf-conv";
import { TEST_BACKENDS, useBackend, maxAbsDiff } from "../../optics/backends";
import { checkGradientsByFiniteDifferences, randomImages, roundTripThroughSerialization } from "./helpers";

/**
 * Direct optical convolution by a hand-written loop: out[b, y, x, o] = Σ_{u,v,c} I[b, y − u, x − v, c]·K[u, v, c, o]
 * with u, v centred on the kernel, zero outside the image ("same"), or only full overlaps ("valid").
 * For depthwise, output channel c·n + j uses colour c only.
 */
function directConvolution(img: Float32Array, [B, H, W, C]: number[], psf: Float32Array, [k, , , n]: number[], mode: "depthwise" | "sum", padding: "same" | "valid"): Float32Array {
  const r = Math.floor(k / 2);
  const outC = mode === "depthwise" ? C * n : n;
  const off = padding === "valid" ? r : 0;
  const Ho = padding === "valid" ? H - k + 1 : H;
  const Wo = padding === "valid" ? W - k + 1 : W;
  const out = new Float32Array(B * Ho * Wo * outC);
  for (let b = 0; b < B; b++) for (let y = 0; y < Ho; y++) for (let x = 0; x < Wo; x++) for (let c = 0; c < C; c++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let u = -r; u <= k - 1 - r; u++) for (let v = -r; v <= k - 1 - r; v++) {
      const yy = y + off - u, xx = x + off - v;
      if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
      s += img[((b * H + yy) * W + xx) * C + c] * psf[(((u + r) * k + (v + r)) * C + c) * n + j];
    }
    const o = mode === "depthwise" ? c * n + j : j;
    out[((b * Ho + y) * Wo + x) * outC + o] += s;
  }
  return out;
}

for (const backend of TEST_BACKENDS) {
  describe(`PsfConvFrontend on ${backend}`, () => {
    before(() => useBackend(backend));

    test("equals a direct (hand-loop) optical convolution with its PSFs: grey, RGB depthwise, RGB summed, same and valid", () => {
      for (const [C, mode, padding] of [[1, "depthwise", "same"], [3, "depthwise", "valid"], [3, "sum", "same"]] as const) {
        tf.tidy(() => {
          const layer = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: C, colorMode: mode, padding, seed: 3 });
          const x = randomImages([2, 6, 5, C]);
          const y = layer.apply(x) as tf.Tensor;
          const psf = layer.psfs();
          const expected = directConvolution(x.dataSync() as Float32Array, x.shape, psf.dataSync() as Float32Array, psf.shape, mode, padding);
          assert.deepEqual(y.shape, [2, padding === "valid" ? 4 : 6, padding === "valid" ? 3 : 5, mode === "depthwise" ? C * 2 : 2]);
          assert.ok(maxAbsDiff(y.dataSync(), expected) < 1e-5, `C=${C} ${mode} ${padding}: off by ${maxAbsDiff(y.dataSync(), expected)}`);
          layer.dispose();
        });
      }
    });

    test("PSFs are non-negative with unit (or bounded) energy for both parametrisations", () => {
      tf.tidy(() => {
        for (const parametrization of ["softplus", "square"] as const) {
          const layer = new PsfConvFrontend({ kernels: 4, kernelSize: 5, inputChannels: 3, parametrization, seed: 1 });
          layer.apply(randomImages([1, 8, 8, 3]));
          const p = layer.psfs();
          assert.ok(p.min().dataSync()[0] >= 0);
          assert.ok(maxAbsDiff(tf.sum(p, [0, 1]).dataSync(), new Array(12).fill(1)) < 1e-5);
          layer.dispose();
        }
        const bounded = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, energy: "bounded", seed: 1 });
        bounded.apply(randomImages([1, 5, 5, 1]));
        assert.ok(Math.max(...Array.from(tf.sum(bounded.psfs(), [0, 1]).dataSync())) <= 1 + 1e-6);
      });
    });

    test("signed strategies: 'pairs' subtracts the negative PSFs, 'offset' subtracts c·box mean", () => {
      tf.tidy(() => {
        const x = randomImages([1, 7, 7, 1], 4);
        const pairs = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, signed: "pairs", seed: 2 });
        const yPairs = pairs.apply(x) as tf.Tensor;
        const p = pairs.psfs();
        assert.deepEqual(p.shape, [3, 3, 1, 4], "2n physical PSFs");
        const pos = directConvolution(x.dataSync() as Float32Array, x.shape, tf.slice(p, [0, 0, 0, 0], [3, 3, 1, 2]).dataSync() as Float32Array, [3, 3, 1, 2], "sum", "same");
        const neg = directConvolution(x.dataSync() as Float32Array, x.shape, tf.slice(p, [0, 0, 0, 2], [3, 3, 1, 2]).dataSync() as Float32Array, [3, 3, 1, 2], "sum", "same");
        assert.ok(maxAbsDiff(yPairs.dataSync(), pos.map((v, i) => v - neg[i])) < 1e-5);
        const offset = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, signed: "offset", seed: 2 });
        const yOff = offset.apply(x) as tf.Tensor;
        const optical = directConvolution(x.dataSync() as Float32Array, x.shape, offset.psfs().dataSync() as Float32Array, [3, 3, 1, 2], "sum", "same");
        const box = directConvolution(x.dataSync() as Float32Array, x.shape, new Float32Array(9).fill(1 / 9), [3, 3, 1, 1], "sum", "same");
        const c = offset.offsets()!.dataSync();
        const expected = optical.map((v, i) => v - c[i % 2] * box[Math.floor(i / 2)]);
        assert.ok(maxAbsDiff(yOff.dataSync(), expected) < 1e-5);
      });
    });

    test("setPsfs inverts the parametrisation and freezes; bad PSFs are refused in plain words", () => {
      tf.tidy(() => {
        const layer = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, parametrization: "softplus", seed: 5 });
        layer.apply(randomImages([1, 5, 5, 1]));
        const ramp = tf.div(tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3, 1]), 45);
        const delta = tf.tensor3d([0, 0, 0, 0, 1, 0, 0, 0, 0], [3, 3, 1]);
        const target = tf.stack([ramp, delta], 3);
        layer.setPsfs(target as tf.Tensor4D, { trainable: false });
        assert.ok(maxAbsDiff(layer.psfs().dataSync(), target.dataSync()) < 1e-5);
        assert.equal(layer.trainableWeights.length, 0, "frozen");
        assert.throws(() => layer.setPsfs(tf.fill([3, 3, 1, 2], -0.1) as tf.Tensor4D), /values must be finite and >= 0/);
        assert.throws(() => layer.setPsfs(tf.fill([3, 3, 1, 2], 0.05) as tf.Tensor4D), /energy "unit" needs 1/);
        assert.throws(() => layer.setPsfs(tf.fill([3, 3, 1, 3], 1 / 9) as tf.Tensor4D), /must have shape \[3,3,1,2\]/);
        const bounded = new PsfConvFrontend({ kernels: 1, kernelSize: 3, inputChannels: 1, energy: "bounded", parametrization: "square" });
        bounded.apply(randomImages([1, 5, 5, 1]));
        bounded.setPsfs(tf.fill([3, 3, 1, 1], 0.05) as tf.Tensor4D);
        assert.ok(maxAbsDiff(bounded.psfs().dataSync(), new Array(9).fill(0.05)) < 1e-6, "an efficiency below 1 is representable");
      });
      assert.throws(() => new PsfConvFrontend({ kernels: 0, kernelSize: 3, inputChannels: 1 }), /PsfConvFrontend: kernels must be an integer >= 1/);
      assert.throws(() => new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, signed: "both" as "none" }), /signed must be one of/);
      assert.throws(() => new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1 }).psfs(), /not built yet/);
    });

    test("gradients match finite differences (softplus/pairs and square/offset) and training leaks no tensors", () => {
      const x = randomImages([2, 6, 6, 1], 9);
      for (const args of [{ parametrization: "softplus", signed: "pairs" }, { parametrization: "square", signed: "offset" }] as const) {
        const layer = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, seed: 7, ...args });
        checkGradientsByFiniteDifferences(layer, x);
        const opt = tf.train.adam(0.01);
        const step = () => opt.minimize(() => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar);
        step();
        const before = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) step();
        assert.equal(tf.memory().numTensors, before, "a training step leaves no tensors");
        opt.dispose();
        layer.dispose();
      }
      x.dispose();
    });

    test("getConfig round-trips through tfjs save/load", async () => {
      const layer = new PsfConvFrontend({ kernels: 3, kernelSize: 3, inputChannels: 3, signed: "offset", parametrization: "square", energy: "bounded", colorMode: "sum", padding: "valid", seed: 4 });
      const x = randomImages([1, 6, 6, 3]);
      const diff = await roundTripThroughSerialization(layer, [6, 6, 3], x);
      assert.ok(diff < 1e-6);
      const cfg = layer.getConfig();
      assert.deepEqual(new PsfConvFrontend(cfg as never).getConfig(), cfg);
      x.dispose();
    });

    test("draw() returns a heatmap of the PSFs", () => {
      const layer = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1 });
      tf.tidy(() => { layer.apply(randomImages([1, 4, 4, 1])); });
      assert.match(String(layer.draw().$schema), /vega-lite/);
    });
  });
}
