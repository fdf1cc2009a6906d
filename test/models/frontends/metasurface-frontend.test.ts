import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../../src/runtime/tf";
import { MetasurfaceFrontend } from "../../../src/models/frontends/metasurface-frontend";
import { CircularAperture, FreeSpace, Metasurface } from "../../../src/optics/elements";
import { systemPsf, convolveWithPsf } from "../../../src/optics/psf";
import { TEST_BACKENDS, useBackend, maxAbsDiff } from "../../optics/backends";
import { checkGradientsByFiniteDifferences, randomImages, roundTripThroughSerialization } from "./helpers";

const SMALL = { kernels: 2, kernelSize: 3, inputChannels: 1, gridSize: 16, cellPitchM: 2e-6, pixelPitchM: 4e-6, distanceM: 0.3e-3, seed: 1 };

for (const backend of TEST_BACKENDS) {
  describe(`MetasurfaceFrontend on ${backend}`, () => {
    before(() => useBackend(backend));

    test("its PSFs equal systemPsf through the optics elements (aperture, metasurface, free space)", () => {
      tf.tidy(() => {
        const layer = new MetasurfaceFrontend({ ...SMALL, inputChannels: 3, kernelSize: 5, gridSize: 24 });
        layer.apply(randomImages([1, 6, 6, 3]));
        const psfs = layer.psfs();
        assert.deepEqual(psfs.shape, [5, 5, 3, 2]);
        const heights = layer.heightsM();
        const g = layer.geometry;
        for (let j = 0; j < 2; j++) {
          for (let c = 0; c < 3; c++) {
            const elements = [
              new CircularAperture({ diameterM: g.gridSize * g.cellPitchM }),
              new Metasurface({ heightsM: tf.squeeze(tf.slice(heights, [j, 0, 0], [1, g.gridSize, g.gridSize]), [0]), refractiveIndex: g.refractiveIndex }),
              new FreeSpace({ distanceM: g.distanceM }),
            ];
            const ref = systemPsf({ elements, gridSize: g.gridSize, pitchM: g.cellPitchM, wavelengthM: g.wavelengthsM[c], kernelSize: 5, pixelPitchM: g.pixelPitchM });
            const mine = tf.squeeze(tf.slice(psfs, [0, 0, c, j], [5, 5, 1, 1]));
            assert.ok(maxAbsDiff(mine.dataSync(), ref.dataSync()) < 1e-4, `kernel ${j} colour ${c}: off by ${maxAbsDiff(mine.dataSync(), ref.dataSync())}`);
          }
        }
      });
    });

    test("a noiseless lens initialisation focuses on the centre pixel; the forward pass is the PSF convolution", () => {
      tf.tidy(() => {
        const layer = new MetasurfaceFrontend({ ...SMALL, initNoise: 0, kernelSize: 5, gridSize: 32 });
        const x = randomImages([2, 7, 7, 1]);
        const y = layer.apply(x) as tf.Tensor;
        const p = layer.psfs();
        const k0 = Array.from(tf.squeeze(tf.slice(p, [0, 0, 0, 0], [5, 5, 1, 1])).dataSync());
        assert.equal(k0.indexOf(Math.max(...k0)), 12, "peak at the centre of the 5×5 kernel");
        assert.ok(maxAbsDiff(y.dataSync(), convolveWithPsf(x, p, "same").dataSync()) < 1e-5);
      });
    });

    test("quantised heights sit on N levels of one 2π period", () => {
      tf.tidy(() => {
        const layer = new MetasurfaceFrontend({ ...SMALL, quantizationLevels: 4 });
        layer.apply(randomImages([1, 5, 5, 1]));
        const step = layer.waveHeightM / 4;
        const h = Array.from(layer.heightsM().dataSync());
        assert.ok(h.every((v) => Math.abs(v / step - Math.round(v / step)) < 1e-3 && v >= 0 && v < layer.waveHeightM));
      });
      assert.throws(() => new MetasurfaceFrontend({ ...SMALL, kernelSize: 9 }), /kernel window .* is wider than the sub-aperture grid/);
      assert.throws(() => new MetasurfaceFrontend({ ...SMALL, inputChannels: 3 }).apply(randomImages([1, 5, 5, 1])), /input has 1 channels but inputChannels is 3/);
    });

    test("optimising the heights shapes the PSF towards a two-spot target (wave optics in the loop)", () => {
      const layer = new MetasurfaceFrontend({ kernels: 1, kernelSize: 5, inputChannels: 1, gridSize: 24, cellPitchM: 2e-6, pixelPitchM: 4e-6, distanceM: 0.3e-3, initNoise: 0.05, seed: 1 });
      layer.build([null, 8, 8, 1]);
      const t = new Float32Array(25);
      t[6] = 0.5;
      t[18] = 0.5;
      const target = tf.tensor4d(t, [5, 5, 1, 1]);
      const opt = tf.train.adam(0.05);
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const mismatch = () => tf.tidy(() => tf.sum(tf.square(tf.sub(layer.psfs(), target))).dataSync()[0]);
      const start = mismatch();
      const step = () => { opt.minimize(() => tf.sum(tf.square(tf.sub(layer.psfs(), target))) as tf.Scalar, false, vars); };
      step(); // Adam creates its moment variables on the first step
      const before = tf.memory().numTensors;
      for (let i = 0; i < 39; i++) step();
      assert.equal(tf.memory().numTensors, before, "training steps leave no tensors behind");
      const end = mismatch();
      assert.ok(end < start / 3, `mismatch ${start} -> ${end}`);
      tf.dispose([target]);
      opt.dispose();
    });

    test("gradients with respect to the heights match finite differences", () => {
      const layer = new MetasurfaceFrontend(SMALL);
      const x = randomImages([1, 5, 5, 1]);
      checkGradientsByFiniteDifferences(layer, x, { eps: 1e-3, tol: 0.05 });
      x.dispose();
    });

    test("getConfig round-trips through tfjs save/load", async () => {
      const layer = new MetasurfaceFrontend({ ...SMALL, quantizationLevels: 8, padding: "valid" });
      const x = randomImages([1, 6, 6, 1]);
      assert.ok((await roundTripThroughSerialization(layer, [6, 6, 1], x)) < 1e-6);
      const cfg = layer.getConfig();
      assert.deepEqual(new MetasurfaceFrontend(cfg as never).getConfig(), cfg);
      assert.match(String(layer.draw().$schema), /vega-lite/);
      x.dispose();
    });
  });
}
