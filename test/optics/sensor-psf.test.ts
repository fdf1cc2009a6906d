import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { pixelIntegrationMatrix, integratePixels, Sensor } from "../../src/optics/sensor";
import { systemPsf, systemPsfs, psfToConv2dKernel, conv2dKernelToPsf, convolveWithPsf, checkPsfEnergy } from "../../src/optics/psf";
import { CircularAperture, ThinLens, FreeSpace } from "../../src/optics/elements";
import { OpticsWarnings } from "../../src/optics/warnings";
import { RGB_WAVELENGTHS_M } from "../../src/optics/units";
import { TEST_BACKENDS, useBackend, maxAbsDiff, testRng, withoutLeaks } from "./backends";

for (const backend of TEST_BACKENDS) {
  describe(`sensor and PSF on ${backend}`, () => {
    before(() => useBackend(backend));

    test("pixel integration: hand-computed 2:1 binning, half-pixel shift, and inversion by m = −1", () => {
      const bin = pixelIntegrationMatrix({ inputSamples: 4, inputPitchM: 1, pixels: 2, pixelPitchM: 2 });
      // Samples at x = −2, −1, 0, 1 (footprints [−2.5, −1.5] ...); pixels [−3, −1] and [−1, 1].
      assert.deepEqual(Array.from(bin), [1, 0.5, 0, 0, 0, 0.5, 1, 0.5]);
      const shifted = pixelIntegrationMatrix({ inputSamples: 3, inputPitchM: 1, pixels: 3, pixelPitchM: 1, shiftPx: 0.5 });
      assert.deepEqual(Array.from(shifted), [0.5, 0.5, 0, 0, 0.5, 0.5, 0, 0, 0.5]);
      const inverted = pixelIntegrationMatrix({ inputSamples: 3, inputPitchM: 1, pixels: 3, pixelPitchM: 1, magnification: -1 });
      assert.deepEqual(Array.from(inverted), [0, 0, 1, 0, 1, 0, 1, 0, 0]);
      assert.throws(() => pixelIntegrationMatrix({ inputSamples: 3, inputPitchM: 1, pixels: 0, pixelPitchM: 1 }), /pixels must be an integer >= 1/);
      tf.tidy(() => {
        const I = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]);
        const e = integratePixels(I, 1, { pixels: [2, 2], pixelPitchM: 2, shiftPx: [0.25, 0.25] });
        // Samples sit at −2..1; a shift of 0.25 pixel (0.5 sample) aligns the pixels with the 2×2 blocks.
        assert.ok(maxAbsDiff(e.dataSync(), [1 + 2 + 5 + 6, 3 + 4 + 7 + 8, 9 + 10 + 13 + 14, 11 + 12 + 15 + 16]) < 1e-4, `got ${Array.from(e.dataSync())}`);
      });
    });

    test("sensor: gain, bit depth with straight-through gradient, and shot-noise statistics", async () => {
      await withoutLeaks(() => {
        tf.tidy(() => {
          const flat = tf.fill([64, 64], 0.25);
          const sensor = new Sensor({ pixelPitchM: 1, pixels: [64, 64], gain: 2, bitDepth: 2, fullScale: 1 });
          // 0.25·2 = 0.5 on a 2-bit ADC (steps of 1/3) rounds to 2/3.
          const frame = sensor.capture(flat, 1);
          assert.ok(maxAbsDiff(frame.dataSync(), new Array(64 * 64).fill(2 / 3)) < 1e-6);
          const g = tf.grad((x: tf.Tensor) => tf.sum(sensor.capture(x, 1)))(flat);
          assert.ok(maxAbsDiff(g.dataSync(), new Array(64 * 64).fill(2)) < 1e-6, "straight through the ADC, times the gain");
          const noisy = new Sensor({ pixelPitchM: 1, pixels: [64, 64], electronsPerUnit: 100, seed: 5 });
          const a = noisy.capture(flat, 1);
          const { mean, variance } = tf.moments(a);
          assert.ok(Math.abs(mean.dataSync()[0] - 0.25) < 0.005);
          const expectedStd = Math.sqrt(0.25 / 100);
          assert.ok(Math.abs(Math.sqrt(variance.dataSync()[0]) / expectedStd - 1) < 0.05, `std ${Math.sqrt(variance.dataSync()[0])} vs ${expectedStd}`);
          const b = noisy.capture(flat, 1);
          assert.ok(maxAbsDiff(a.dataSync(), b.dataSync()) > 0, "consecutive captures draw fresh noise");
          assert.ok(maxAbsDiff(sensor.capture(flat, 1, false).dataSync(), frame.dataSync()) === 0);
        });
      });
      assert.throws(() => new Sensor({ pixelPitchM: 1, pixels: [4, 4], bitDepth: 0 }), /Sensor: bitDepth must be an integer >= 1/);
    });

    test("systemPsf: a lens PSF is non-negative, unit-sum, peaked on axis; 'transmitted' is the efficiency ≤ 1", () => {
      tf.tidy(() => {
        const elements = [new CircularAperture({ diameterM: 64e-6 }), new ThinLens({ focalLengthM: 1e-3 }), new FreeSpace({ distanceM: 1e-3 })];
        const common = { elements, gridSize: 64, pitchM: 2e-6, kernelSize: 7, pixelPitchM: 4e-6 };
        const psf = systemPsf({ ...common, wavelengthM: 532e-9 });
        const v = Array.from(psf.dataSync());
        assert.ok(v.every((x) => x >= 0));
        assert.ok(Math.abs(v.reduce((a, b) => a + b, 0) - 1) < 1e-5);
        assert.equal(v.indexOf(Math.max(...v)), 24, "peak at the centre pixel (3, 3)");
        const eff = systemPsf({ ...common, wavelengthM: 532e-9, normalization: "transmitted" }).sum().dataSync()[0];
        // The aperture passes π·32²/128² ≈ 19.6% of the plane wave; most of it lands in the window.
        assert.ok(eff > 0.1 && eff < Math.PI * 32 * 32 / (128 * 128), `efficiency ${eff}`);
        const rgb = systemPsfs({ ...common, wavelengthsM: RGB_WAVELENGTHS_M });
        assert.deepEqual(rgb.shape, [7, 7, 3]);
        const peaks = Array.from(tf.max(rgb, [0, 1]).dataSync());
        assert.ok(peaks[2] > peaks[0], "blue focuses tighter than red (Airy radius ∝ λ)");
        assert.throws(() => systemPsf({ ...common, wavelengthM: 532e-9, kernelSize: 40 }), /kernel window .* is wider than the simulation grid/);
      });
    });

    test("optical convolution = conv2d with the flipped PSF, checked against a hand-written loop", () => {
      tf.tidy(() => {
        const rng = testRng(7);
        const H = 6, W = 7, k = 3;
        const img = Float32Array.from({ length: H * W }, () => rng());
        const psf = Float32Array.from({ length: k * k }, () => rng());
        const out = convolveWithPsf(tf.tensor4d(img, [1, H, W, 1]), tf.tensor4d(psf, [k, k, 1, 1]), "same").dataSync();
        // out(y, x) = Σ_{u,v} I(y − u, x − v)·PSF(u, v), u, v ∈ [−1, 1], zero outside the image.
        const expected = new Float32Array(H * W);
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
          let s = 0;
          for (let u = -1; u <= 1; u++) for (let v = -1; v <= 1; v++) {
            const yy = y - u, xx = x - v;
            if (yy >= 0 && yy < H && xx >= 0 && xx < W) s += img[yy * W + xx] * psf[(u + 1) * k + (v + 1)];
          }
          expected[y * W + x] = s;
        }
        assert.ok(maxAbsDiff(out, expected) < 1e-5);
        const kernel = psfToConv2dKernel(tf.tensor2d(psf, [k, k]));
        assert.equal(kernel.dataSync()[0], psf[k * k - 1]);
        assert.ok(maxAbsDiff(conv2dKernelToPsf(kernel).dataSync(), psf) === 0, "the flip is its own inverse");
      });
    });

    test("PSF energy guard: more than unit energy is reported in plain words", () => {
      tf.tidy(() => {
        const w = new OpticsWarnings();
        const sums = checkPsfEnergy(tf.fill([3, 3, 1, 2], 0.2), "test", w);
        assert.ok(Math.abs(sums[0] - 1.8) < 1e-6);
        assert.ok(w.has("psf-energy"));
        assert.match(w.toStrings()[0], /cannot amplify/);
        const ok = new OpticsWarnings();
        checkPsfEnergy(tf.fill([3, 3, 1, 1], 1 / 9), "test", ok);
        assert.equal(ok.list.length, 0);
      });
    });
  });
}
