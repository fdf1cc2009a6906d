import { test } from "node:test";
import assert from "node:assert/strict";
import { kernelLayout, metasurfaceSideForKernels } from "../../src/optics/layout";

const MM = 1e-3;

test("layout matches hand-counted cases", () => {
  // 1 mm square, k = 0.2 mm, d = 0.05 mm: 4·0.2 + 3·0.05 = 0.95 ≤ 1 but 5 kernels need 1.2 mm.
  const a = kernelLayout({ metasurfaceHeightM: 1 * MM, metasurfaceWidthM: 1 * MM, kernelSizeM: 0.2 * MM, spacingM: 0.05 * MM });
  assert.equal(a.columns, 4);
  assert.equal(a.rows, 4);
  assert.equal(a.count, 16);
  assert.ok(Math.abs(a.kernels[0].xM + 0.375 * MM) < 1e-12 && Math.abs(a.kernels[15].yM - 0.375 * MM) < 1e-12, "centred grid, pitch k + d");
  // Rectangular 0.5 × 1 mm: 2 rows × 4 columns; the symmetric (square) reading keeps 2 × 2.
  const r = kernelLayout({ metasurfaceHeightM: 0.5 * MM, metasurfaceWidthM: 1 * MM, kernelSizeM: 0.2 * MM, spacingM: 0.05 * MM });
  assert.deepEqual([r.rows, r.columns, r.count], [2, 4, 8]);
  const s = kernelLayout({ metasurfaceHeightM: 0.5 * MM, metasurfaceWidthM: 1 * MM, kernelSizeM: 0.2 * MM, spacingM: 0.05 * MM, symmetry: "square" });
  assert.deepEqual([s.rows, s.columns, s.count], [2, 2, 4]);
  // An exact fit (4·0.2 + 3·0.05 = 0.95 mm) counts, despite float rounding.
  assert.equal(kernelLayout({ metasurfaceHeightM: 0.95 * MM, metasurfaceWidthM: 0.95 * MM, kernelSizeM: 0.2 * MM, spacingM: 0.05 * MM }).count, 16);
  // One kernel exactly as large as the surface.
  assert.equal(kernelLayout({ metasurfaceHeightM: 0.2 * MM, metasurfaceWidthM: 0.2 * MM, kernelSizeM: 0.2 * MM, spacingM: 0.05 * MM }).count, 1);
  assert.ok(Math.abs(metasurfaceSideForKernels(8, 0.2 * MM, 0.05 * MM) - 0.7 * MM) < 1e-12, "8 kernels need a 3×3 grid");
});

test("layout rejects impossible inputs and overlapping sensor tiles, naming the argument", () => {
  const base = { metasurfaceHeightM: 1 * MM, metasurfaceWidthM: 1 * MM, kernelSizeM: 0.2 * MM, spacingM: 0.05 * MM };
  assert.throws(() => kernelLayout({ ...base, kernelSizeM: 2 * MM }), /kernelSizeM .* is larger than metasurfaceWidthM/);
  assert.throws(() => kernelLayout({ ...base, metasurfaceHeightM: 0.1 * MM }), /larger than metasurfaceHeightM/);
  assert.throws(() => kernelLayout({ ...base, spacingM: -1 }), /spacingM must be a finite number >= 0/);
  assert.throws(() => kernelLayout({ ...base, metasurfaceWidthM: Number.NaN }), /metasurfaceWidthM must be a finite number > 0/);
  assert.throws(() => kernelLayout({ ...base, symmetry: "hex" as "square" }), /symmetry must be one of/);
  assert.throws(() => kernelLayout({ ...base, sensorTileSizeM: 0.3 * MM }), /sensor tiles of 300 µm overlap/);
  assert.equal(kernelLayout({ ...base, sensorTileSizeM: 0.25 * MM }).count, 16, "tiles exactly one pitch wide touch but do not overlap");
});
