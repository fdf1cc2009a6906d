import { test } from "node:test";
import assert from "node:assert/strict";
import { PAPER, paperPicojoulesPerMac } from "../../src/experiments/paper";
import { MAC_ENERGY_45NM, SENSOR_READOUT_CHOI_2020, energyPerImage, formatEnergy, formatMacs, picojoulesPerMac } from "../../src/export/energy";

test("energy per image = electronic MACs × (multiply + add) + pixels × readout energy; optical MACs are free", () => {
  assert.equal(picojoulesPerMac(MAC_ENERGY_45NM.float32), 3.7 + 0.9);
  assert.ok(Math.abs(picojoulesPerMac(MAC_ENERGY_45NM.int8) - 0.23) < 1e-12);
  // Choi et al. 2020: 1.12 mW at 120 frames/s over 160×120 pixels.
  assert.ok(Math.abs(SENSOR_READOUT_CHOI_2020.pjPerPixel - 486.111) < 1e-3);
  const e = energyPerImage({ opticalMacs: 307328, electronicMacs: 51456, readoutPixels: 8 * 28 * 28 }, MAC_ENERGY_45NM.float32);
  assert.ok(Math.abs(e.computeJ - 51456 * 4.6e-12) < 1e-18);
  assert.ok(Math.abs(e.readoutJ / (6272 * 486.111e-12) - 1) < 1e-6);
  assert.equal(e.totalJ, e.computeJ + e.readoutJ);
  const moreOptics = energyPerImage({ opticalMacs: 1e12, electronicMacs: 51456, readoutPixels: 6272 }, MAC_ENERGY_45NM.float32);
  assert.equal(moreOptics.totalJ, e.totalJ);
  const custom = energyPerImage({ opticalMacs: 0, electronicMacs: 2e6, readoutPixels: 0 }, 30, { pjPerPixel: 0, source: "test" });
  assert.ok(Math.abs(custom.computeJ - 6e-5) < 1e-15);
  assert.throws(() => energyPerImage({ opticalMacs: 0, electronicMacs: -1, readoutPixels: 0 }, 1), /energyPerImage: electronicMacs must be a finite number >= 0/);
});

test("formatting picks the unit", () => {
  assert.equal(formatEnergy(2.03), "2.03 J");
  assert.equal(formatEnergy(5.83e-3), "5.83 mJ");
  assert.equal(formatEnergy(2.4e-7), "240 nJ");
  assert.equal(formatMacs(65.9e9), "65.9 GMACs");
  assert.equal(formatMacs(51456), "51.5 kMACs");
  assert.equal(formatMacs(12), "12 MACs");
});

test("the paper's §4.3 energies imply one energy per MAC for all three of its systems (≈ 30.8 pJ)", () => {
  assert.ok(Math.abs(paperPicojoulesPerMac() - 2.03 / 65.9e9 * 1e12) < 1e-9);
  for (const s of PAPER.energy.carvana) assert.ok(Math.abs((s.computeJ / s.macs) * 1e12 / paperPicojoulesPerMac() - 1) < 0.01, `${s.system}: ${(s.computeJ / s.macs) * 1e12} pJ/MAC`);
  for (const s of PAPER.energy.carvana) assert.ok(Math.abs(s.computeJ + s.captureJ - s.totalJ) / s.totalJ < 0.01, `${s.system}: compute + capture ≠ total`);
});
