/**
 * Fabrication on every physical frontend: each one's default device, its optics-error sweep, and
 * where its record goes (paper Table 4 for psf students; the hardware table's row otherwise).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_FABRICATION_ERRORS, defaultFabricationErrors, fabricationResults, fabricationRunName, opticsErrorSweep,
} from "../../src/experiments/fabrication";

const SENSOR_KEYS = ["gain", "misalignment", "noiseStd"] as const;

test("every physical frontend's default device has the psf device's sensor errors; its optics errors sit at its own level", () => {
  const psf = defaultFabricationErrors("psf");
  assert.equal(psf, DEFAULT_FABRICATION_ERRORS);
  assert.equal(psf.kernelErrorStd, 0.3);
  const metasurface = defaultFabricationErrors("metasurface");
  const fourier = defaultFabricationErrors("fourier");
  for (const [kind, e] of [["metasurface", metasurface], ["fourier", fourier]] as const) {
    for (const k of SENSOR_KEYS) assert.deepEqual(e[k], psf[k], `${kind}.${k}`);
    // A PSF-level δ would bypass the optics' own model (fabricateFrontend refuses it).
    assert.equal(e.kernelErrorStd, undefined, kind);
  }
  assert.deepEqual(metasurface.metasurface, { heightErrorM: 20e-9, correlationLengthM: 4e-6 });
  assert.equal(metasurface.fourier, undefined);
  assert.deepEqual(fourier.fourier, { amplitudeErrorStd: 0.05, phaseErrorStdRad: 0.1, maskOffsetSamples: [0.5, 0.5] });
  assert.equal(fourier.metasurface, undefined);
  assert.throws(() => defaultFabricationErrors("ideal"), /frontend "ideal" is a digital convolution/);
});

test("the optics-error sweep varies δ for psf, the height in nm for a metasurface and the mask phase in rad for 4f", () => {
  const psf = opticsErrorSweep("psf");
  assert.equal(psf.key, "kernelError");
  assert.deepEqual(psf.errors(0.3), { kernelErrorStd: 0.3 });
  const meta = opticsErrorSweep("metasurface");
  assert.equal(meta.key, "heightError");
  assert.match(meta.label, /\(nm\)/);
  const at40 = meta.errors(40).metasurface!;
  assert.ok(Math.abs(at40.heightErrorM! - 40e-9) < 1e-18, `${at40.heightErrorM}`);
  assert.equal(at40.correlationLengthM, 4e-6);
  assert.equal(opticsErrorSweep("metasurface", { correlationLengthM: 8e-6 }).errors(10).metasurface!.correlationLengthM, 8e-6);
  const fourier = opticsErrorSweep("fourier");
  assert.equal(fourier.key, "maskPhaseError");
  assert.deepEqual(fourier.errors(0.3), { fourier: { phaseErrorStdRad: 0.3 } });
  assert.throws(() => opticsErrorSweep("ideal"), /frontend "ideal" has no optics to fabricate/);
});

test("a psf study keeps the paper's record; another frontend's goes to its own run and its hardware-table row", () => {
  assert.equal(fabricationRunName(), "fabrication");
  assert.equal(fabricationRunName("psf"), "fabrication");
  assert.equal(fabricationRunName("fourier"), "fabrication-fourier");
  const record = { none: { mean: 0.9 } };
  assert.deepEqual(fabricationResults("psf", record), { fabrication: record });
  assert.deepEqual(fabricationResults("metasurface", record), { frontends: { metasurface: { fabrication: record } } });
});
