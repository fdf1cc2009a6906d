import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { MetasurfaceFrontend, type MetasurfaceFrontendArgs } from "../../src/models/frontends/metasurface-frontend";
import { PsfConvFrontend } from "../../src/models/frontends/psf-conv";
import { CircularAperture, FreeSpace, Metasurface } from "../../src/optics/elements";
import { systemPsf } from "../../src/optics/psf";
import {
  blurHeightMaps, correlatedGaussianNoise, fabricateMetasurface, fabricatedMetasurfaceKernels, metasurfaceHeightMaps,
  metasurfaceKernelsForHeights, resolveMetasurfaceErrors, shiftKernels,
} from "../../src/fabrication/metasurface-errors";
import { makeOpticalKernels } from "../../src/models/frontends/optical-frontend";
import { maxAbsDiff } from "../optics/backends";
import { relativeError } from "../distill/helpers";

const SMALL: MetasurfaceFrontendArgs = { kernels: 2, kernelSize: 5, inputChannels: 1, gridSize: 24, cellPitchM: 2e-6, pixelPitchM: 4e-6, distanceM: 0.3e-3, seed: 1, initNoise: 0.3 };

function built(args: Partial<MetasurfaceFrontendArgs> = {}): MetasurfaceFrontend {
  const f = new MetasurfaceFrontend({ ...SMALL, ...args });
  f.apply(tf.input({ shape: [10, 10, f.inputChannels] }));
  return f;
}

test("no metasurface error gives exactly the designed PSFs (grey, RGB at non-design wavelengths, a quantised design), and the device senses what the frontend outputs", async () => {
  await initBackend({ backend: "cpu" });
  for (const args of [{}, { inputChannels: 3 }, { quantizationLevels: 4 }]) {
    const f = built(args);
    const designed = f.opticalKernels().values;
    const device = fabricateMetasurface(f, {});
    assert.deepEqual(Array.from(device.designed), Array.from(designed));
    assert.deepEqual(Array.from(device.fabricated), Array.from(designed), `as-built PSFs differ from the design for ${JSON.stringify(args)}`);
    const x = tf.randomUniform([2, 10, 10, f.inputChannels], 0, 1, "float32", 5);
    const simulated = f.apply(x) as tf.Tensor;
    const sensed = device.sense(x);
    assert.equal(maxAbsDiff(sensed.dataSync(), simulated.dataSync()), 0);
    tf.dispose([x, simulated, sensed]);
    device.dispose();
  }
});

test("heights above one design wave are not wrapped: the PSFs match systemPsf of the unwrapped surface at every wavelength", async () => {
  await initBackend({ backend: "cpu" });
  const f = built({ inputChannels: 3 });
  const maps = metasurfaceHeightMaps(f);
  // One more wave on the taller half of the cells (a uniform raise would be a mere constant phase).
  const raised = maps.designedWaves.map((w) => (w >= 0.5 ? w + 1 : w));
  const kernels = metasurfaceKernelsForHeights(f, raised);
  const designed = f.opticalKernels();
  const g = f.geometry;
  const [k, , c, n] = kernels.shape;
  const plane = (values: Float32Array, j: number, colour: number): number[] => {
    const out: number[] = [];
    for (let p = 0; p < k * k; p++) out.push(values[(p * c + colour) * n + j]);
    return out;
  };
  for (let j = 0; j < n; j++) {
    for (let colour = 0; colour < c; colour++) {
      const ref = tf.tidy(() => {
        const heightsM = tf.tensor2d(raised.subarray(j * g.gridSize * g.gridSize, (j + 1) * g.gridSize * g.gridSize), [g.gridSize, g.gridSize]).mul(f.waveHeightM) as tf.Tensor2D;
        const elements = [new CircularAperture({ diameterM: g.gridSize * g.cellPitchM }), new Metasurface({ heightsM, refractiveIndex: g.refractiveIndex }), new FreeSpace({ distanceM: g.distanceM })];
        return Array.from(systemPsf({ elements, gridSize: g.gridSize, pitchM: g.cellPitchM, wavelengthM: g.wavelengthsM[colour], kernelSize: k, pixelPitchM: g.pixelPitchM }).dataSync());
      });
      assert.ok(maxAbsDiff(plane(kernels.values, j, colour), ref) < 1e-4, `kernel ${j} colour ${colour}: off systemPsf by ${maxAbsDiff(plane(kernels.values, j, colour), ref)}`);
    }
  }
  // The extra wave is the same phase at the design wavelength (green) only.
  assert.ok(maxAbsDiff(plane(kernels.values, 0, 1), plane(designed.values, 0, 1)) < 1e-4);
  assert.ok(maxAbsDiff(plane(kernels.values, 0, 0), plane(designed.values, 0, 0)) > 1e-3);
});

test("the PSF change grows monotonically with the height error σ, seeded", async () => {
  await initBackend({ backend: "cpu" });
  const f = built({ kernels: 3 });
  const designed = f.opticalKernels().values;
  const changes = [0, 5, 10, 20, 40, 80].map((nm) => relativeError(fabricatedMetasurfaceKernels(f, { heightErrorM: nm * 1e-9, correlationLengthM: 4e-6, seed: 3 }).values, designed));
  assert.equal(changes[0], 0);
  for (let i = 1; i < changes.length; i++) assert.ok(changes[i] > changes[i - 1], `PSF change ${changes.join(", ")} is not increasing`);
  const again = fabricatedMetasurfaceKernels(f, { heightErrorM: 20e-9, correlationLengthM: 4e-6, seed: 3 }).values;
  const other = fabricatedMetasurfaceKernels(f, { heightErrorM: 20e-9, correlationLengthM: 4e-6, seed: 4 }).values;
  assert.equal(relativeError(again, designed), changes[3]);
  assert.ok(relativeError(other, again) > 0);
});

test("the correlated height noise has the requested σ and its autocorrelation falls to 1/e at the correlation length", () => {
  const size = 64;
  const std = 2.5;
  const sample = (correlationLengthCells: number) => correlatedGaussianNoise({ fields: 24, height: size, width: size, std, correlationLengthCells, seed: 7 });
  // Normalised autocorrelation at a lag, along rows and columns, pooled over the fields.
  const autocorrelation = (x: Float32Array, lag: number): number => {
    let sum = 0;
    let sumSquares = 0;
    let products = 0;
    let pairs = 0;
    for (let i = 0; i < x.length; i++) {
      sum += x[i];
      sumSquares += x[i] * x[i];
    }
    const mean = sum / x.length;
    const variance = sumSquares / x.length - mean * mean;
    for (let f = 0; f < x.length / (size * size); f++) {
      for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
          const at = (rr: number, cc: number) => x[(f * size + rr) * size + cc] - mean;
          if (c + lag < size) { products += at(r, c) * at(r, c + lag); pairs++; }
          if (r + lag < size) { products += at(r, c) * at(r + lag, c); pairs++; }
        }
      }
    }
    return products / pairs / variance;
  };
  const correlated = sample(4);
  let sumSquares = 0;
  for (const v of correlated) sumSquares += v * v;
  assert.ok(Math.abs(Math.sqrt(sumSquares / correlated.length) / std - 1) < 0.05, `std ${Math.sqrt(sumSquares / correlated.length)}`);
  assert.ok(Math.abs(autocorrelation(correlated, 4) - Math.exp(-1)) < 0.04, `autocorrelation at ℓ: ${autocorrelation(correlated, 4)}`);
  assert.ok(Math.abs(autocorrelation(correlated, 2) - Math.exp(-0.25)) < 0.04, `autocorrelation at ℓ/2: ${autocorrelation(correlated, 2)}`);
  assert.ok(Math.abs(autocorrelation(correlated, 8) - Math.exp(-4)) < 0.04, `autocorrelation at 2ℓ: ${autocorrelation(correlated, 8)}`);
  const white = sample(0);
  let whiteSquares = 0;
  for (const v of white) whiteSquares += v * v;
  assert.ok(Math.abs(Math.sqrt(whiteSquares / white.length) / std - 1) < 0.02);
  assert.ok(Math.abs(autocorrelation(white, 1)) < 0.02);
});

test("the height error in metres lands on the heights with σ in metres (white, away from the clip at 0)", async () => {
  await initBackend({ backend: "cpu" });
  const f = built({ kernels: 4, gridSize: 32 });
  const sigmaM = 20e-9;
  const maps = metasurfaceHeightMaps(f, { heightErrorM: sigmaM, seed: 2 });
  let sumSquares = 0;
  let count = 0;
  for (let i = 0; i < maps.designedWaves.length; i++) {
    if (maps.designedWaves[i] < 0.2) continue;
    sumSquares += ((maps.fabricatedWaves[i] - maps.designedWaves[i]) * maps.waveHeightM) ** 2;
    count++;
  }
  assert.ok(count > 1000);
  assert.ok(Math.abs(Math.sqrt(sumSquares / count) / sigmaM - 1) < 0.06, `height error std ${Math.sqrt(sumSquares / count)} m`);
  assert.ok(maps.fabricatedWaves.every((w) => w >= 0));
});

test("quantisation to N levels leaves exactly the N heights k/N waves, and matches a frontend that quantises itself", async () => {
  await initBackend({ backend: "cpu" });
  const f = built({ kernels: 3, initNoise: 1 });
  for (const levels of [2, 4, 8]) {
    const maps = metasurfaceHeightMaps(f, { levels });
    const distinct = [...new Set(Array.from(maps.fabricatedWaves))].sort((a, b) => a - b);
    assert.deepEqual(distinct, Array.from({ length: levels }, (_, k) => Math.fround(k / levels)));
  }
  const selfQuantised = new MetasurfaceFrontend({ ...SMALL, kernels: 3, initNoise: 1, quantizationLevels: 4 });
  selfQuantised.apply(tf.input({ shape: [10, 10, 1] }));
  selfQuantised.setWeights(f.getWeights());
  assert.ok(maxAbsDiff(fabricatedMetasurfaceKernels(f, { levels: 4 }).values, selfQuantised.opticalKernels().values) < 1e-6);
});

test("the minimum-feature blur: size 0 is the identity; the blur of an impulse is half its peak at half the feature size; flat maps stay flat", async () => {
  await initBackend({ backend: "cpu" });
  const rng = Float32Array.from({ length: 2 * 9 * 11 }, (_, i) => Math.abs(Math.sin(i * 12.9898)) % 1);
  assert.deepEqual(Array.from(blurHeightMaps(rng, 2, 9, 11, 0)), Array.from(rng));
  const f = built();
  const maps = metasurfaceHeightMaps(f, { minFeatureM: 0 });
  assert.deepEqual(Array.from(maps.fabricatedWaves), Array.from(maps.designedWaves));
  const impulse = new Float32Array(21 * 21);
  impulse[10 * 21 + 10] = 1;
  const blurred = blurHeightMaps(impulse, 1, 21, 21, 6);
  assert.ok(Math.abs(blurred[10 * 21 + 13] / blurred[10 * 21 + 10] - 0.5) < 1e-6);
  assert.ok(Math.abs(blurred[7 * 21 + 10] / blurred[10 * 21 + 10] - 0.5) < 1e-6);
  const flat = blurHeightMaps(new Float32Array(9 * 9).fill(0.4), 1, 9, 9, 5);
  assert.ok(maxAbsDiff(flat, new Float32Array(81).fill(0.4)) < 1e-6);
  // A feature of 4 cells (8 µm at 2 µm cells) smooths the as-built surface: its PSFs change.
  assert.ok(relativeError(fabricatedMetasurfaceKernels(f, { minFeatureM: 8e-6 }).values, f.opticalKernels().values) > 1e-3);
});

test("a lateral offset of one pixel pitch moves every PSF by one pixel; half a pitch averages neighbours", async () => {
  await initBackend({ backend: "cpu" });
  const f = built();
  const designed = f.opticalKernels();
  const k = designed.kernelSize;
  const n = designed.count;
  const at = (v: Float32Array, r: number, c: number, j: number) => (r < 0 || c < 0 || r >= k || c >= k ? 0 : v[(r * k + c) * n + j]);
  const down = fabricatedMetasurfaceKernels(f, { lateralOffsetM: [4e-6, 0] }).values;
  const right = fabricatedMetasurfaceKernels(f, { lateralOffsetM: 4e-6 }).values;
  const half = fabricatedMetasurfaceKernels(f, { lateralOffsetM: [0, -2e-6] }).values;
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < n; j++) {
        assert.equal(down[(r * k + c) * n + j], at(designed.values, r - 1, c, j));
        assert.equal(right[(r * k + c) * n + j], at(designed.values, r, c - 1, j));
        assert.ok(Math.abs(half[(r * k + c) * n + j] - 0.5 * (at(designed.values, r, c, j) + at(designed.values, r, c + 1, j))) < 1e-7);
      }
    }
  }
  const unshifted = shiftKernels(makeOpticalKernels(Float32Array.of(1, 2, 3, 4), [2, 2, 1, 1], "unit"), 0, 0);
  assert.deepEqual(Array.from(unshifted.values), [1, 2, 3, 4]);
});

test("bad input: one-line errors naming the argument; no tensors left behind", async () => {
  await initBackend({ backend: "cpu" });
  const psf = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, seed: 0 });
  psf.apply(tf.input({ shape: [8, 8, 1] }));
  assert.throws(() => fabricateMetasurface(psf, {}), /fabricateMetasurface: metasurface-level errors need a MetasurfaceFrontend .* got a PsfConvFrontend/);
  assert.throws(() => fabricateMetasurface(new MetasurfaceFrontend(SMALL), {}), /not built yet/);
  assert.throws(() => resolveMetasurfaceErrors({ levels: 2.5 }), /MetasurfaceErrors\.levels must be an integer >= 2/);
  assert.throws(() => resolveMetasurfaceErrors({ heightErrorM: -1e-9 }), /MetasurfaceErrors\.heightErrorM must be a finite number >= 0/);
  assert.throws(() => resolveMetasurfaceErrors({ lateralOffsetM: [1e-6] as never }), /MetasurfaceErrors\.lateralOffsetM/);
  const f = built();
  fabricateMetasurface(f, {}).dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) fabricateMetasurface(f, { heightErrorM: 10e-9, levels: 8, minFeatureM: 4e-6, lateralOffsetM: 1e-6, seed: i }).dispose();
  assert.equal(tf.memory().numTensors, before);
});
