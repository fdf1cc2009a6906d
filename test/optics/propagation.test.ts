import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { gaussianBeam, fieldPower, intensity, planeWave, disposeField } from "../../src/optics/field";
import { propagate } from "../../src/optics/propagation";
import { CircularAperture, FreeSpace, ThinLens, applyElements } from "../../src/optics/elements";
import { OpticsWarnings } from "../../src/optics/warnings";
import { TEST_BACKENDS, useBackend, maxAbsDiff, withoutLeaks } from "./backends";

const LAMBDA = 532e-9;

/** 1/e² radius along x from the second moment: for I ∝ exp(−2x²/w²), <x²> = w²/4. */
function secondMomentWidth(values: ArrayLike<number>, n: number, pitchM: number): number {
  let sum = 0;
  let sxx = 0;
  const mid = Math.floor(n / 2);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    const v = values[r * n + c];
    const x = (c - mid) * pitchM;
    sum += v;
    sxx += v * x * x;
  }
  return 2 * Math.sqrt(sxx / sum);
}

for (const backend of TEST_BACKENDS) {
  describe(`free-space propagation on ${backend}`, () => {
    before(() => useBackend(backend));

    test("Gaussian beam width after propagation is within 1% of w0·√(1 + (z/zR)²)", async () => {
      await withoutLeaks(() => {
        const w0 = 20e-6, pitchM = 2e-6, n = 128, z = 5e-3;
        const beam = gaussianBeam({ height: n, width: n, pitchM, wavelengthM: LAMBDA, waistM: w0 });
        for (const method of ["angular-spectrum", "fresnel"] as const) {
          const out = propagate(beam, { distanceM: z, method });
          const I = intensity(out);
          const measured = secondMomentWidth(I.dataSync(), n, pitchM);
          const zR = (Math.PI * w0 * w0) / LAMBDA;
          const expected = w0 * Math.sqrt(1 + (z / zR) ** 2);
          assert.ok(Math.abs(measured / expected - 1) < 0.01, `${method}: width ${measured} vs analytic ${expected}`);
          I.dispose();
          disposeField(out);
        }
        disposeField(beam);
      });
    });

    test("lossless propagation preserves power (Parseval) to 1e-4, forwards and back", () => {
      tf.tidy(() => {
        const beam = gaussianBeam({ height: 64, width: 64, pitchM: 2e-6, wavelengthM: LAMBDA, waistM: 15e-6 });
        const p0 = fieldPower(beam).dataSync()[0];
        const out = propagate(beam, { distanceM: 1e-3 });
        const p1 = fieldPower(out).dataSync()[0];
        assert.ok(Math.abs(p1 / p0 - 1) < 1e-4, `power ratio ${p1 / p0}`);
        const back = propagate(out, { distanceM: -1e-3 });
        assert.ok(maxAbsDiff(back.re.dataSync(), beam.re.dataSync()) < 1e-4, "propagating by −z undoes +z");
        assert.ok(maxAbsDiff(back.im.dataSync(), beam.im.dataSync()) < 1e-4);
      });
    });

    test("Airy pattern: a circular lens focuses to a first dark ring at 1.22·λ·f/D within one pixel", () => {
      tf.tidy(() => {
        const n = 128, pitchM = 1e-6, D = 64e-6, f = 1e-3;
        const elements = [new CircularAperture({ diameterM: D }), new ThinLens({ focalLengthM: f }), new FreeSpace({ distanceM: f })];
        const out = applyElements(planeWave({ height: n, width: n, pitchM, wavelengthM: LAMBDA }), elements);
        const I = intensity(out).dataSync();
        const mid = n / 2;
        const row = Array.from({ length: n / 2 }, (_, i) => I[mid * n + mid + i]);
        assert.equal(row.indexOf(Math.max(...row)), 0, "the focus is on the axis");
        let firstMin = -1;
        for (let i = 1; i < row.length - 1; i++) if (row[i] < row[i - 1] && row[i] <= row[i + 1]) { firstMin = i; break; }
        const expectedPx = (1.22 * LAMBDA * f) / D / pitchM;
        assert.ok(Math.abs(firstMin - expectedPx) <= 1, `first zero at ${firstMin} px, analytic ${expectedPx.toFixed(2)} px`);
        assert.ok(row[firstMin] < 0.02 * row[0], "the first ring is dark");
      });
    });

    test("guard rails: unlimited ASM at long range and an undersampled Fresnel chirp are reported", () => {
      tf.tidy(() => {
        const beam = gaussianBeam({ height: 32, width: 32, pitchM: 1e-6, wavelengthM: LAMBDA, waistM: 5e-6 });
        const w1 = new OpticsWarnings();
        propagate(beam, { distanceM: 0.05, bandLimited: false, warnings: w1 });
        assert.ok(w1.has("angular-spectrum-regime"), w1.toStrings().join("\n"));
        const w2 = new OpticsWarnings();
        propagate(beam, { distanceM: 0.05, method: "fresnel", warnings: w2 });
        assert.ok(w2.has("fresnel-regime"));
        const w3 = new OpticsWarnings();
        propagate(beam, { distanceM: 10e-6, warnings: w3 });
        assert.equal(w3.list.length, 0, "a short distance is in range");
        assert.throws(() => propagate(beam, { distanceM: Number.NaN }), /distanceM must be a finite number/);
        assert.throws(() => new OpticsWarnings("throw").add("psf-energy", "x", "boom"), /x: boom/);
      });
    });
  });
}
