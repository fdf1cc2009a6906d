import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { planeWave } from "../../src/optics/field";
import { Metasurface, ThinLens, CircularAperture, RectangularAperture, FreeSpace, PhaseMask } from "../../src/optics/elements";
import { heightFor2PiM, phaseFromHeight, heightFromPhase, fabricatedHeights, heightsToPhase } from "../../src/optics/metasurface";
import { fourFSystem } from "../../src/optics/fourf";
import { TEST_BACKENDS, useBackend, maxAbsDiff, testRng } from "./backends";

const LAMBDA = 532e-9;

for (const backend of TEST_BACKENDS) {
  describe(`elements on ${backend}`, () => {
    before(() => useBackend(backend));

    test("a height h = λ/(n − 1) delays the phase by exactly 2π", () => {
      const n = 1.509;
      const h = heightFor2PiM(LAMBDA, n);
      assert.ok(Math.abs(h - LAMBDA / 0.509) < 1e-15);
      assert.ok(Math.abs(phaseFromHeight(h, LAMBDA, n) - 2 * Math.PI) < 1e-12);
      assert.ok(Math.abs(heightFromPhase(Math.PI, LAMBDA, n) - h / 2) < 1e-15);
      tf.tidy(() => {
        const heights = tf.fill([4, 4], h);
        const phase = heightsToPhase(heights, { wavelengthM: LAMBDA, refractiveIndex: n });
        assert.ok(maxAbsDiff(phase.dataSync(), new Array(16).fill(2 * Math.PI)) < 1e-5);
        // Through the element: exp(i·2π) = 1 leaves the field unchanged.
        const out = new Metasurface({ heightsM: heights, refractiveIndex: n }).apply(planeWave({ height: 4, width: 4, pitchM: 1e-6, wavelengthM: LAMBDA }));
        assert.ok(maxAbsDiff(out.re.dataSync(), new Array(16).fill(1)) < 1e-5);
        assert.ok(maxAbsDiff(out.im.dataSync(), new Array(16).fill(0)) < 1e-5);
        // Dispersion: at another wavelength the same height is not 2π.
        const red = heightsToPhase(heights, { wavelengthM: 640e-9, refractiveIndex: n });
        assert.ok(Math.abs(red.dataSync()[0] - (2 * Math.PI * LAMBDA) / 640e-9) < 1e-4);
      });
      assert.throws(() => heightFor2PiM(LAMBDA, 0.9), /refractiveIndex must be > 1/);
    });

    test("height wrap and N-level quantisation, with a straight-through gradient", () => {
      tf.tidy(() => {
        const p = 1e-6;
        const h = tf.tensor1d([0.1e-6, 0.3e-6, 0.62e-6, 0.99e-6, 1.3e-6]);
        const q = fabricatedHeights(h, { wrapHeightM: p, quantizationLevels: 4 });
        assert.ok(maxAbsDiff(q.dataSync(), [0, 0.25e-6, 0.5e-6, 0, 0.25e-6]) < 1e-12, `got ${Array.from(q.dataSync())}`);
        const g = tf.grad((x: tf.Tensor) => tf.sum(fabricatedHeights(x, { wrapHeightM: p, quantizationLevels: 4 })))(h);
        assert.deepEqual(Array.from(g.dataSync()), [1, 1, 1, 1, 1]);
      });
      assert.throws(() => fabricatedHeights(tf.zeros([2]), { quantizationLevels: 4 }), /needs wrapHeightM/);
    });

    test("apertures transmit their area (circle πr², rectangle w·h) to within edge sampling", () => {
      const pitch = 1e-6;
      const circle = new CircularAperture({ diameterM: 40e-6 }).transmission(64, 64, pitch);
      const area = circle.reduce((a, b) => a + b, 0) * pitch * pitch;
      assert.ok(Math.abs(area / (Math.PI * 20e-6 * 20e-6) - 1) < 0.005, `circle area ratio ${area / (Math.PI * 4e-10)}`);
      const rect = new RectangularAperture({ widthM: 20e-6, heightM: 10e-6 }).transmission(64, 64, pitch);
      const rectArea = rect.reduce((a, b) => a + b, 0) * pitch * pitch;
      assert.ok(Math.abs(rectArea / 200e-12 - 1) < 1e-9);
      assert.throws(() => new CircularAperture({ diameterM: -1 }), /CircularAperture: diameterM must be a finite number > 0/);
    });

    test("a 4f system with an all-pass mask returns the flipped input, −u(−x), with unchanged power", () => {
      tf.tidy(() => {
        const n = 16;
        const rng = testRng(3);
        const re = Float32Array.from({ length: n * n }, () => rng());
        const im = Float32Array.from({ length: n * n }, () => rng() - 0.5);
        const field = { re: tf.tensor2d(re, [n, n]), im: tf.tensor2d(im, [n, n]), pitchM: 4e-6, wavelengthM: LAMBDA };
        const out = fourFSystem(field, { focalLengthM: 10e-3 });
        // Centred convention (axis at index n/2): −x is index (n − i) mod n.
        const flip = (a: Float32Array) => Float32Array.from({ length: n * n }, (_, k) => {
          const r = Math.floor(k / n), c = k % n;
          return -a[((n - r) % n) * n + ((n - c) % n)];
        });
        assert.ok(maxAbsDiff(out.re.dataSync(), flip(re)) < 1e-5, `re off by ${maxAbsDiff(out.re.dataSync(), flip(re))}`);
        assert.ok(maxAbsDiff(out.im.dataSync(), flip(im)) < 1e-5);
        // A low-pass mask (only the zero frequency) leaves the mean field everywhere.
        const mask = new Float32Array(n * n);
        mask[(n / 2) * n + n / 2] = 1;
        const dc = fourFSystem(field, { focalLengthM: 10e-3, mask: { re: tf.tensor2d(mask, [n, n]), im: tf.zeros([n, n]) } });
        const meanRe = re.reduce((a, b) => a + b, 0) / (n * n);
        assert.ok(maxAbsDiff(dc.re.dataSync(), new Array(n * n).fill(-meanRe)) < 1e-5);
      });
    });

    test("ThinLens reports undersampled Fresnel zones; PhaseMask checks its shape", () => {
      tf.tidy(() => {
        const lens = new ThinLens({ focalLengthM: 50e-6 });
        lens.apply(planeWave({ height: 64, width: 64, pitchM: 1e-6, wavelengthM: LAMBDA }));
        assert.ok(lens.warnings.has("undersampling"), "a 50 µm lens on a 1 µm grid aliases");
        const slow = new ThinLens({ focalLengthM: 10e-3 });
        slow.apply(planeWave({ height: 64, width: 64, pitchM: 1e-6, wavelengthM: LAMBDA }));
        assert.equal(slow.warnings.list.length, 0);
        const mask = new PhaseMask(tf.zeros([8, 8]));
        assert.throws(() => mask.apply(planeWave({ height: 4, width: 4, pitchM: 1e-6, wavelengthM: LAMBDA })), /PhaseMask: phaseRad is \[8,8\] but the field is 4x4/);
      });
    });

    test("every element draws a vega-lite heatmap", () => {
      const grid = { size: 16, pitchM: 2e-6 };
      const specs = [
        new FreeSpace({ distanceM: 1e-4 }).draw(grid),
        new ThinLens({ focalLengthM: 1e-3 }).draw(grid),
        new CircularAperture({ diameterM: 20e-6 }).draw(grid),
        new RectangularAperture({ widthM: 20e-6, heightM: 10e-6 }).draw(grid),
        new PhaseMask(tf.ones([8, 8])).draw(),
        new Metasurface({ heightsM: tf.fill([8, 8], 0.5e-6), refractiveIndex: 1.5 }).draw(),
      ];
      for (const s of specs) {
        assert.match(String(s.$schema), /vega-lite\/v5/);
        assert.ok(JSON.stringify(s).includes('"value"'));
      }
    });
  });
}
