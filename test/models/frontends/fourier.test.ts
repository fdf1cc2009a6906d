import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../../src/runtime/tf";
import { FourierFrontend } from "../../../src/models/frontends/fourier";
import { fourFSystem } from "../../../src/optics/fourf";
import { TEST_BACKENDS, useBackend, maxAbsDiff } from "../../optics/backends";
import { checkGradientsByFiniteDifferences, randomImages, roundTripThroughSerialization } from "./helpers";

for (const backend of TEST_BACKENDS) {
  describe(`FourierFrontend on ${backend}`, () => {
    before(() => useBackend(backend));

    test("the conv fast path equals the full 4f simulation with the layer's Fourier mask", () => {
      tf.tidy(() => {
        const layer = new FourierFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, initNoise: 0.3, seed: 2 });
        const H = 6, W = 6, P = 10;
        const x = randomImages([1, H, W, 1], 5);
        const y = layer.apply(x) as tf.Tensor;
        const masks = layer.fourierMasks(P);
        for (let j = 0; j < 2; j++) {
          // The input amplitude, zero-padded so the image sits with its centre on the grid centre.
          const top = P / 2 - H / 2;
          const u = tf.pad(tf.reshape(x, [H, W]), [[top, P - H - top], [top, P - W - top]]);
          const mask = { re: tf.squeeze(tf.slice(masks.re, [j, 0, 0], [1, P, P]), [0]), im: tf.squeeze(tf.slice(masks.im, [j, 0, 0], [1, P, P]), [0]) };
          const out = fourFSystem({ re: u, im: tf.zerosLike(u), pitchM: layer.inputPitchM, wavelengthM: layer.wavelengthM }, { focalLengthM: layer.focalLengthM, mask });
          // Undo the 4f inversion (index i ↔ (P − i) mod P), take the intensity, crop the image window.
          const flip = (t: tf.Tensor) => tf.concat([tf.slice(t, [0], [1]), tf.reverse(tf.slice(t, [1], [P - 1]), 0)], 0);
          const unflip = (t: tf.Tensor) => tf.transpose(flip(tf.transpose(flip(t))));
          const I = tf.add(tf.square(unflip(out.re)), tf.square(unflip(out.im)));
          const expected = tf.slice(I, [top, top], [H, W]);
          const mine = tf.squeeze(tf.slice(y, [0, 0, 0, j], [1, H, W, 1]));
          assert.ok(maxAbsDiff(mine.dataSync(), expected.dataSync()) < 1e-4, `kernel ${j}: off by ${maxAbsDiff(mine.dataSync(), expected.dataSync())}`);
        }
        const peak = (m: { re: tf.Tensor; im: tf.Tensor }) => tf.sqrt(tf.add(tf.square(m.re), tf.square(m.im))).max().dataSync()[0];
        assert.ok(peak(layer.fourierMasks(layer.passivityGridSize)) <= 1 + 1e-4, "passive on the enforcement grid: |M| ≤ 1");
        assert.ok(peak(masks) <= 1.05, "and within a few per cent of it on any other grid");
      });
    });

    test("an all-pass (delta PSF) 4f images the input: output = |u|², and RGB keeps colours apart", () => {
      tf.tidy(() => {
        const layer = new FourierFrontend({ kernels: 2, kernelSize: 3, inputChannels: 3, initNoise: 0 });
        const x = randomImages([2, 5, 5, 3], 8);
        const y = layer.apply(x) as tf.Tensor;
        assert.deepEqual(y.shape, [2, 5, 5, 6]);
        // Channel c·n + j = |x_c|² for every kernel j.
        const expected = tf.reshape(tf.tile(tf.reshape(tf.square(x), [2, 5, 5, 3, 1]), [1, 1, 1, 1, 2]), [2, 5, 5, 6]);
        assert.ok(maxAbsDiff(y.dataSync(), expected.dataSync()) < 1e-5);
      });
    });

    test("gradients match finite differences", () => {
      const layer = new FourierFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, initNoise: 0.2, seed: 4 });
      const x = randomImages([1, 5, 5, 1], 3);
      checkGradientsByFiniteDifferences(layer, x, { eps: 1e-3, tol: 0.05 });
      x.dispose();
    });

    test("getConfig round-trips through tfjs save/load", async () => {
      const layer = new FourierFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, padding: "valid", focalLengthM: 5e-3, seed: 6 });
      const x = randomImages([1, 6, 6, 1]);
      assert.ok((await roundTripThroughSerialization(layer, [6, 6, 1], x)) < 1e-6);
      const cfg = layer.getConfig();
      assert.deepEqual(new FourierFrontend(cfg as never).getConfig(), cfg);
      assert.match(String(layer.draw().$schema), /vega-lite/);
      x.dispose();
    });
  });
}
