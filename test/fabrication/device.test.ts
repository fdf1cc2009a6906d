import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { PsfConvFrontend } from "../../src/models/frontends/psf-conv";
import { IdealConvFrontend } from "../../src/models/frontends/ideal";
import { FabricatedDevice, perturbKernels } from "../../src/fabrication/device";
import { resolveFabricationErrors } from "../../src/fabrication/errors";
import { invertMisalignment, warpFrames, warpMatrix } from "../../src/fabrication/warp";

function randomImages(n: number, h: number, w: number, c: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([n, h, w, c], 0, 1, "float32", seed) as tf.Tensor4D;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function frontend(): PsfConvFrontend {
  const f = new PsfConvFrontend({ kernels: 4, kernelSize: 5, inputChannels: 1, padding: "same", seed: 3 });
  f.apply(tf.input({ shape: [12, 12, 1] }));
  return f;
}

test("a device without errors senses exactly what the simulated frontend outputs", async () => {
  await initBackend({ backend: "cpu" });
  const f = frontend();
  const device = FabricatedDevice.fromFrontend(f);
  const x = randomImages(3, 12, 12, 1, 1);
  const simulated = f.apply(x) as tf.Tensor;
  const sensed = device.sense(x);
  assert.deepEqual(sensed.shape, simulated.shape);
  assert.ok(maxAbsDiff(sensed.dataSync(), simulated.dataSync()) < 1e-6);
  tf.dispose([x, simulated, sensed]);
  device.dispose();
});

test("gain scales the sensor image by the gain", async () => {
  await initBackend({ backend: "cpu" });
  const f = frontend();
  const clean = FabricatedDevice.fromFrontend(f);
  const bright = FabricatedDevice.fromFrontend(f, { gain: 1.7 });
  const x = randomImages(2, 12, 12, 1, 2);
  const a = clean.sense(x).dataSync();
  const b = bright.sense(x).dataSync();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(b[i] - 1.7 * a[i]) < 1e-5);
  clean.dispose();
  bright.dispose();
  x.dispose();
});

test("an integer shift moves the sensor image by the shift, zeros entering at the edge", async () => {
  await initBackend({ backend: "cpu" });
  const f = frontend();
  const clean = FabricatedDevice.fromFrontend(f);
  const shifted = FabricatedDevice.fromFrontend(f, { misalignment: { shiftRowsPx: 2, shiftColsPx: -1 } });
  const x = randomImages(1, 12, 12, 1, 4);
  const a = clean.sense(x).arraySync() as number[][][][];
  const b = shifted.sense(x).arraySync() as number[][][][];
  for (let y = 0; y < 12; y++) {
    for (let c = 0; c < 12; c++) {
      for (let k = 0; k < 4; k++) {
        const sy = y - 2;
        const sx = c + 1;
        const want = sy >= 0 && sy < 12 && sx >= 0 && sx < 12 ? a[0][sy][sx][k] : 0;
        assert.ok(Math.abs(b[0][y][c][k] - want) < 1e-5, `pixel ${y},${c},${k}`);
      }
    }
  }
  clean.dispose();
  shifted.dispose();
  x.dispose();
});

test("a half-pixel shift averages neighbouring pixels (bilinear)", () => {
  const frame = Float32Array.from({ length: 16 }, (_, i) => i);
  const out = warpFrames(frame, 1, 4, 4, 1, { shiftRowsPx: 0, shiftColsPx: 0.5, rotationDeg: 0 });
  // Output column x samples input column x − 0.5: the mean of columns x − 1 and x.
  assert.ok(Math.abs(out[1 * 4 + 2] - (frame[1 * 4 + 1] + frame[1 * 4 + 2]) / 2) < 1e-6);
  assert.ok(Math.abs(out[1 * 4 + 0] - frame[1 * 4 + 0] / 2) < 1e-6);
});

test("the dense warp matrix and the sparse warp agree, and the inverse warp undoes a rotation", () => {
  const h = 9;
  const w = 9;
  const m = { shiftRowsPx: 0.3, shiftColsPx: -0.6, rotationDeg: 1.5 };
  // A linear ramp: bilinear resampling reproduces it exactly, so the round trip is exact inside the frame.
  const frame = Float32Array.from({ length: h * w }, (_, i) => 0.3 * Math.floor(i / w) + 0.7 * (i % w) + 1);
  const sparse = warpFrames(frame, 1, h, w, 1, m);
  const r = warpMatrix(h, w, m);
  const dense = new Float32Array(h * w);
  for (let o = 0; o < h * w; o++) for (let s = 0; s < h * w; s++) dense[o] += r[o * h * w + s] * frame[s];
  assert.ok(maxAbsDiff(sparse, dense) < 1e-5);
  const back = warpFrames(sparse, 1, h, w, 1, invertMisalignment(m));
  for (let y = 3; y <= 5; y++) {
    for (let x = 3; x <= 5; x++) assert.ok(Math.abs(back[y * w + x] - frame[y * w + x]) < 1e-4, `pixel ${y},${x}: ${back[y * w + x]} vs ${frame[y * w + x]}`);
  }
});

test("sensor noise has the set standard deviation", async () => {
  await initBackend({ backend: "cpu" });
  const f = frontend();
  const device = FabricatedDevice.fromFrontend(f, { noiseStd: 0.05, seed: 9 });
  const x = tf.zeros([8, 12, 12, 1]);
  const y = Array.from(device.sense(x).dataSync());
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const std = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / y.length);
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.05) / 0.05 < 0.05, `std ${std}`);
  device.dispose();
  x.dispose();
});

test("kernel error has the set relative size, keeps PSFs non-negative, and grows the output error", async () => {
  await initBackend({ backend: "cpu" });
  const designed = Float32Array.from({ length: 7 * 7 * 1 * 8 }, (_, i) => 0.5 + 0.5 * Math.abs(Math.sin(i)));
  const shape = [7, 7, 1, 8];
  const fab = perturbKernels(designed, shape, resolveFabricationErrors({ kernelErrorStd: 0.05, kernelErrorMode: "multiplicative", seed: 1 }));
  const rel = Array.from(fab, (v, i) => v / designed[i] - 1);
  const std = Math.sqrt(rel.reduce((a, b) => a + b * b, 0) / rel.length);
  assert.ok(Math.abs(std - 0.05) < 0.01, `relative kernel error std ${std}`);
  const additive = perturbKernels(designed, shape, resolveFabricationErrors({ kernelErrorStd: 2, seed: 2 }));
  assert.ok(additive.every((v) => v >= 0));
  const f = frontend();
  const x = randomImages(4, 12, 12, 1, 5);
  const clean = FabricatedDevice.fromFrontend(f).sense(x).dataSync();
  const errorOf = (sigma: number): number => {
    const d = FabricatedDevice.fromFrontend(f, { kernelErrorStd: sigma, seed: 3 });
    const y = Array.from(d.sense(x).dataSync());
    d.dispose();
    return Math.sqrt(y.reduce((a, v, i) => a + (v - clean[i]) ** 2, 0) / y.length);
  };
  const small = errorOf(0.05);
  const large = errorOf(0.2);
  assert.ok(small > 0 && large > 2.5 * small, `output error ${small} at σ 0.05, ${large} at σ 0.2`);
  x.dispose();
});

test("bad fabrication parameters are named in the error", () => {
  assert.throws(() => resolveFabricationErrors({ gain: -1 }), /gain/);
  assert.throws(() => resolveFabricationErrors({ noiseStd: Number.NaN }), /noiseStd/);
  assert.throws(() => resolveFabricationErrors({ misalignment: { rotationDeg: Infinity } }), /rotationDeg/);
  assert.throws(() => new FabricatedDevice(new Float32Array([0.5, -0.1, 0.2, 0.1]), [2, 2, 1, 1]), /value 1 is -0.1/);
});

test("a colour (depthwise) device and a binned device sense at zero error exactly what their frontends output", async () => {
  await initBackend({ backend: "cpu" });
  const colour = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 3, colorMode: "depthwise", seed: 5 });
  const x = randomImages(2, 8, 8, 3, 7);
  const simulated = colour.apply(x) as tf.Tensor;
  const device = FabricatedDevice.fromFrontend(colour);
  assert.equal(device.sensorChannels, 6);
  const sensed = device.sense(x);
  assert.deepEqual(sensed.shape, [2, 8, 8, 6]);
  assert.ok(maxAbsDiff(sensed.dataSync(), simulated.dataSync()) < 1e-6, "depthwise");
  // The frontend reads a 2x2-binned sensor (kernels in binned pixels); the device works at full resolution and bins.
  const binnedX = tf.avgPool(x, 2, 2, "valid");
  const onBinned = colour.apply(binnedX) as tf.Tensor;
  const binned = FabricatedDevice.fromFrontend(colour, {}, { binning: 2 });
  assert.deepEqual(binned.kernelShape, [5, 5, 3, 2], "taps 2 pixels apart on the full-resolution sensor");
  assert.equal(binned.sensorPixels(8, 8), 16);
  const sensedBinned = binned.sense(x);
  assert.deepEqual(sensedBinned.shape, [2, 4, 4, 6]);
  assert.ok(maxAbsDiff(sensedBinned.dataSync(), onBinned.dataSync()) < 1e-6, "binned readout");
  // Sensor noise acts per full-resolution pixel, so binning 2x2 averages it down to σ/2.
  const noisy = FabricatedDevice.fromFrontend(colour, { noiseStd: 0.2, seed: 3 }, { binning: 2 });
  const big = randomImages(16, 8, 8, 3, 8);
  const [a, b] = [noisy.sense(big), binned.sense(big)];
  const diff = Array.from(a.dataSync(), (v, i) => v - b.dataSync()[i]);
  const std = Math.sqrt(diff.reduce((s, d) => s + d * d, 0) / diff.length);
  assert.ok(Math.abs(std - 0.1) < 0.01, `binned noise std ${std}, expected 0.1`);
  assert.throws(() => binned.sense(randomImages(1, 6, 6, 3, 1).slice([0, 0, 0, 0], [1, 5, 6, 3])), /not divisible by the binning 2/);
  tf.dispose([x, simulated, sensed, binnedX, onBinned, sensedBinned, big, a, b]);
  [device, binned, noisy].forEach((d) => d.dispose());
});

test("fromFrontend rejects kernels that are not intensity PSFs", async () => {
  await initBackend({ backend: "cpu" });
  const ideal = new IdealConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1 });
  ideal.apply(tf.input({ shape: [6, 6, 1] }));
  assert.throws(() => FabricatedDevice.fromFrontend(ideal), /energy rule is "signed"; a fabricated device holds intensity PSFs/);
  const pairs = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, signed: "pairs" });
  pairs.apply(tf.input({ shape: [6, 6, 1] }));
  assert.throws(() => FabricatedDevice.fromFrontend(pairs), /signed readout "pairs" is not modelled/);
});
