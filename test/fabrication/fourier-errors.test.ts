import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { FourierFrontend } from "../../src/models/frontends/fourier";
import { asBuiltFourierMasks, fabricateFourier, resolveFourierMaskErrors } from "../../src/fabrication/fourier-errors";
import { captureDataset } from "../../src/fabrication/compensation";
import { roll } from "../../src/optics/dft";
import { makeRng } from "../../src/runtime/seed";

function built(inputChannels = 1, kernels = 3): FourierFrontend {
  const f = new FourierFrontend({ kernels, kernelSize: 5, inputChannels, seed: 4, initNoise: 0.3 });
  f.apply(tf.input({ shape: [12, 12, inputChannels] }));
  return f;
}

function images(n: number, h: number, c: number, seed = 1): tf.Tensor4D {
  const rand = makeRng(seed);
  return tf.tensor4d(Float32Array.from({ length: n * h * h * c }, () => rand()), [n, h, h, c]);
}

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

test("a 4f device with no mask error senses exactly what the frontend outputs, grey and RGB (colour-major channels)", async () => {
  await initBackend({ backend: "cpu" });
  for (const c of [1, 3]) {
    const f = built(c);
    const x = images(2, 12, c);
    const device = fabricateFourier(f, {}, {}, { height: 12, width: 12 });
    const sensed = device.sense(x);
    const expected = f.apply(x) as tf.Tensor;
    assert.deepEqual(sensed.shape, expected.shape);
    const scale = tf.max(expected).dataSync()[0]!;
    assert.ok(maxAbs(sensed, expected) < 1e-5 * scale, `c = ${c}: ${maxAbs(sensed, expected)} of ${scale}`);
    assert.equal(device.sensorChannels, c * 3);
    tf.dispose([x, sensed, expected]);
    device.dispose();
  }
});

test("mask errors: a whole-sample offset is a roll of the mask, the phase error's mean is exp(−σ²/2), masks stay passive", async () => {
  await initBackend({ backend: "cpu" });
  const f = built();
  const designed = f.fourierMasks(24);
  const moved = asBuiltFourierMasks(designed, { maskOffsetSamples: [2, -3] });
  const rolled = { re: roll(roll(designed.re, 2, 1), -3, 2), im: roll(roll(designed.im, 2, 1), -3, 2) };
  assert.ok(maxAbs(moved.re, rolled.re) < 1e-5 && maxAbs(moved.im, rolled.im) < 1e-5, "M'(f) = M(f − Δ)");
  // E[exp(iφ)] = exp(−σ²/2) for φ ~ N(0, σ²): the mean of M'/M over all samples where |M| is not tiny.
  const sigma = 0.6;
  const noisy = asBuiltFourierMasks(designed, { phaseErrorStdRad: sigma, seed: 3 });
  const ratio = tf.tidy(() => {
    const m2 = tf.add(tf.square(designed.re), tf.square(designed.im));
    // (M' · conj M) / |M|², real part, averaged
    const re = tf.div(tf.add(tf.mul(noisy.re, designed.re), tf.mul(noisy.im, designed.im)), m2);
    return tf.mean(re).dataSync()[0]!;
  });
  assert.ok(Math.abs(ratio - Math.exp(-sigma * sigma / 2)) < 0.02, `mean ${ratio} against ${Math.exp(-sigma * sigma / 2)}`);
  const amp = asBuiltFourierMasks(designed, { amplitudeErrorStd: 0.5, seed: 3 });
  const peak = tf.tidy(() => tf.max(tf.sqrt(tf.add(tf.square(amp.re), tf.square(amp.im)))).dataSync()[0]!);
  assert.ok(peak <= 1 + 1e-6, `|M'| ≤ 1, got ${peak}`);
  // The same seed builds the same masks, another seed others.
  const again = asBuiltFourierMasks(designed, { phaseErrorStdRad: sigma, seed: 3 });
  const other = asBuiltFourierMasks(designed, { phaseErrorStdRad: sigma, seed: 4 });
  assert.equal(maxAbs(again.re, noisy.re), 0);
  assert.ok(maxAbs(other.re, noisy.re) > 0.1);
  tf.dispose([designed.re, designed.im, moved.re, moved.im, rolled.re, rolled.im, noisy.re, noisy.im, amp.re, amp.im, again.re, again.im, other.re, other.im]);
});

test("a fabricated 4f device senses differently as its errors grow, captures a data set, and refuses what it does not model", async () => {
  await initBackend({ backend: "cpu" });
  const f = built();
  const x = images(4, 12, 1, 7);
  const ideal = f.apply(x) as tf.Tensor;
  const errorOf = (maskErrors: Parameters<typeof fabricateFourier>[1]) => {
    const d = fabricateFourier(f, maskErrors, {}, { height: 12, width: 12 });
    const y = d.sense(x);
    const e = tf.tidy(() => tf.norm(tf.sub(y, ideal)).dataSync()[0]! / tf.norm(ideal).dataSync()[0]!);
    tf.dispose(y);
    d.dispose();
    return e;
  };
  const small = errorOf({ phaseErrorStdRad: 0.05 });
  const large = errorOf({ phaseErrorStdRad: 0.5 });
  assert.ok(small > 1e-4 && large > 3 * small, `relative error ${small} at 0.05 rad, ${large} at 0.5 rad`);
  assert.ok(errorOf({ maskOffsetSamples: 0.5 }) > 1e-3, "a half-sample mask offset changes the image");
  const device = fabricateFourier(f, { amplitudeErrorStd: 0.1 }, { noiseStd: 0.01, seed: 2 }, { height: 12, width: 12 });
  const ds = { name: "random", images: x.dataSync() as Float32Array, labels: new Uint8Array(4), count: 4, height: 12, width: 12, channels: 1, classNames: ["a"] };
  const captured = captureDataset(ds, device);
  // Packed per pixel: the clean image, then the device's three sensor channels.
  assert.equal(captured.sensorChannels, 3);
  assert.equal(captured.images.length, 4 * 12 * 12 * (1 + 3));
  device.dispose();
  assert.throws(() => fabricateFourier(f, {}, { kernelErrorStd: 0.1 }), /kernelErrorStd must be 0; a 4f system's errors are its masks'/);
  assert.throws(() => fabricateFourier(f, {}, {}, { height: 2, width: 2 }), /kernel size 5 does not fit the 4×4 grid/);
  assert.throws(() => resolveFourierMaskErrors({ phaseErrorStdRad: -1 }), /FourierMaskErrors\.phaseErrorStdRad must be a finite number >= 0, got -1/);
  assert.throws(() => resolveFourierMaskErrors({ maskOffsetSamples: [1] as never }), /maskOffsetSamples must be a finite number or \[rows, cols\]/);
  const wrong = fabricateFourier(f, {}, {}, { height: 12, width: 12 });
  const bigger = images(1, 14, 1);
  assert.throws(() => wrong.sense(bigger), /built for 12×12 images, got 14×14/);
  wrong.dispose();
  tf.dispose([x, ideal, bigger]);
});
