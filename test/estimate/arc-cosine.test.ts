import { test } from "node:test";
import assert from "node:assert/strict";
import { arcCosineKappa0, arcCosineKappa1 } from "../../src/estimate/arc-cosine";

test("arc-cosine kernels at hand-known points", () => {
  assert.ok(Math.abs(arcCosineKappa0(1, 1, 0) - 0.25) < 1e-15);
  assert.ok(Math.abs(arcCosineKappa1(1, 1, 0) - 1 / (2 * Math.PI)) < 1e-15);
  // Identical inputs: E[relu(u)²] = s/2 and P(u > 0) = 1/2.
  assert.ok(Math.abs(arcCosineKappa1(3, 3, 3) - 1.5) < 1e-12);
  assert.ok(Math.abs(arcCosineKappa0(3, 3, 3) - 0.5) < 1e-12);
  // Opposite inputs never fire together.
  assert.ok(Math.abs(arcCosineKappa1(2, 2, -2)) < 1e-12);
  assert.throws(() => arcCosineKappa1(-1, 1, 0), /variances must be >= 0/);
});

test("arc-cosine kernels match Monte-Carlo expectations", () => {
  let s = 12345;
  const uniform = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const samples = 200_000;
  for (const [sxx, syy, sxy] of [[1, 1, 0.3], [2, 0.5, 0.7], [1, 3, -1.2], [0.4, 0.9, 0.59]] as const) {
    // (u, v) = (√sxx z1, ρ√syy z1 + √(1-ρ²)√syy z2)
    const rho = sxy / Math.sqrt(sxx * syy);
    let k0 = 0, k1 = 0, k1sq = 0;
    for (let i = 0; i < samples; i++) {
      const z1 = normal(), z2 = normal();
      const u = Math.sqrt(sxx) * z1;
      const v = Math.sqrt(syy) * (rho * z1 + Math.sqrt(1 - rho * rho) * z2);
      if (u > 0 && v > 0) {
        k0 += 1;
        k1 += u * v;
        k1sq += (u * v) ** 2;
      }
    }
    k0 /= samples;
    k1 /= samples;
    const se1 = Math.sqrt((k1sq / samples - k1 * k1) / samples);
    const se0 = Math.sqrt((k0 * (1 - k0)) / samples);
    assert.ok(Math.abs(arcCosineKappa0(sxx, syy, sxy) - k0) < 4 * se0, `κ0 at ${[sxx, syy, sxy]}: ${arcCosineKappa0(sxx, syy, sxy)} vs MC ${k0}`);
    assert.ok(Math.abs(arcCosineKappa1(sxx, syy, sxy) - k1) < 4 * se1, `κ1 at ${[sxx, syy, sxy]}: ${arcCosineKappa1(sxx, syy, sxy)} vs MC ${k1}`);
  }
});
