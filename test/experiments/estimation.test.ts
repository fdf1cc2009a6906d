import { test } from "node:test";
import * as assert from "node:assert/strict";
import {
  estimateAgreement,
  metasurfaceLayouts,
  table5Rows,
  pairEstimatesWithStudents,
  estimationReport,
  estimationPreset,
  estimateAcrossKernelCounts,
  type EstimateRow,
} from "../../src/experiments/estimation";
import { layoutRects, kernelLayoutChart } from "../../src/experiments/estimation-layout-chart";
import type { ImageDataset } from "../../src/data/types";

const row = (kernels: number | "infinite", estimated: number): EstimateRow => ({ kernels, trainPoints: 10, estimated, detail: {} as EstimateRow["detail"] });

test("estimateAgreement: hand-computed correlation and gaps", () => {
  // estimated = trained + 0.1 exactly: correlation 1, gap 0.1.
  const shifted = estimateAgreement([{ estimated: 0.6, trained: 0.5 }, { estimated: 0.8, trained: 0.7 }, { estimated: 0.9, trained: 0.8 }]);
  assert.ok(Math.abs(shifted.correlation! - 1) < 1e-12);
  assert.ok(Math.abs(shifted.meanAbsoluteGap - 0.1) < 1e-12);
  assert.ok(Math.abs(shifted.meanSignedGap - 0.1) < 1e-12);
  // e = (0, 1, 0.5), t = (1, 0, 0.5): deviations are exact negatives, correlation −1; |gaps| = 1, 1, 0.
  const anti = estimateAgreement([{ estimated: 0, trained: 1 }, { estimated: 1, trained: 0 }, { estimated: 0.5, trained: 0.5 }]);
  assert.ok(Math.abs(anti.correlation! + 1) < 1e-12);
  assert.ok(Math.abs(anti.meanAbsoluteGap - 2 / 3) < 1e-12);
  assert.equal(anti.meanSignedGap, 0);
  // e = (0.1, 0.2, 0.3, 0.4), t = (0.1, 0.3, 0.2, 0.4): deviations ±0.15, ±0.05: Σde·dt = 0.0225 − 0.0025 − 0.0025 + 0.0225 = 0.04, Σde² = Σdt² = 0.05 -> 0.8.
  const partial = estimateAgreement([0.1, 0.2, 0.3, 0.4].map((e, i) => ({ estimated: e, trained: [0.1, 0.3, 0.2, 0.4][i]! })));
  assert.ok(Math.abs(partial.correlation! - 0.8) < 1e-12);
  // Ranks 1 and 2 swap in the middle: Spearman of (1, 2, 3, 4) against (1, 3, 2, 4) is the same 0.8.
  assert.ok(Math.abs(partial.spearman! - 0.8) < 1e-12);
});

test("estimateAgreement: Spearman ranks the designs as training does, whatever the scale; ties share their mean rank", () => {
  // The same order, far from a line: Spearman 1, Pearson below it.
  const monotone = estimateAgreement([0.1, 0.5, 0.2, 0.9].map((e, i) => ({ estimated: e, trained: [0.3, 0.35, 0.31, 0.99][i]! })));
  assert.equal(monotone.spearman, 1);
  assert.ok(monotone.correlation! < 0.99);
  // e ranks (1.5, 1.5, 3), t ranks (1, 2, 3): deviations (−0.5, −0.5, 1) and (−1, 0, 1): 1.5 / √(1.5 · 2) = 0.8660.
  const tied = estimateAgreement([{ estimated: 0.5, trained: 0.1 }, { estimated: 0.5, trained: 0.2 }, { estimated: 0.9, trained: 0.3 }]);
  assert.ok(Math.abs(tied.spearman! - 1.5 / Math.sqrt(3)) < 1e-12);
  assert.equal(estimateAgreement([{ estimated: 0.9, trained: 0.5 }, { estimated: 0.9, trained: 0.7 }]).spearman, null);
});

test("estimateAgreement: constant series has no correlation; bad input is rejected", () => {
  assert.equal(estimateAgreement([{ estimated: 0.9, trained: 0.5 }, { estimated: 0.9, trained: 0.7 }]).correlation, null);
  assert.throws(() => estimateAgreement([{ estimated: 0.9, trained: 0.5 }]), /at least 2/);
  assert.throws(() => estimateAgreement([{ estimated: NaN, trained: 0.5 }, { estimated: 0.9, trained: 0.7 }]), /points\[0\]\.estimated/);
  assert.throws(() => estimateAgreement([{ estimated: 0.5, trained: 97 }, { estimated: 0.9, trained: 0.7 }]), /fraction/);
});

test("metasurfaceLayouts: square surfaces of 0.6, 1.2, 1.8, 2.4 mm hold 1, 4, 9, 16 kernels of 0.5 mm with 0.1 mm gaps", () => {
  // n = floor((s + d)/(k + d)): 0.7/0.6 -> 1, 1.3/0.6 -> 2, 1.9/0.6 -> 3, 2.5/0.6 -> 4.
  const layouts = metasurfaceLayouts({ sidesM: [0.6e-3, 1.2e-3, 1.8e-3, 2.4e-3], kernelSizeM: 0.5e-3, spacingM: 0.1e-3 });
  assert.deepEqual(layouts.map((l) => l.layout.count), [1, 4, 9, 16]);
  assert.throws(() => metasurfaceLayouts({ sidesM: [0.3e-3], kernelSizeM: 0.5e-3, spacingM: 0.1e-3 }), /not even one kernel fits/);
  assert.throws(() => metasurfaceLayouts({ sidesM: [], kernelSizeM: 0.5e-3, spacingM: 0.1e-3 }), /sidesM/);
});

test("layoutRects: kernels lie inside their metasurface, do not overlap, and keep the spacing", () => {
  const [m] = metasurfaceLayouts({ sidesM: [1.2e-3], kernelSizeM: 0.5e-3, spacingM: 0.1e-3 });
  const rects = layoutRects([m!]);
  assert.equal(rects.length, 1 + 4);
  const [surface, ...kernels] = rects;
  assert.equal(surface!.kind, "metasurface");
  for (const r of kernels) {
    assert.ok(r.x0 >= surface!.x0 - 1e-9 && r.x1 <= surface!.x1 + 1e-9 && r.y0 >= surface!.y0 - 1e-9 && r.y1 <= surface!.y1 + 1e-9);
    assert.ok(Math.abs(r.x1 - r.x0 - 0.5) < 1e-9);
  }
  // Two kernels of one row: the gap between them is the 0.1 mm spacing.
  const row0 = kernels.filter((r) => Math.abs(r.y0 - kernels[0]!.y0) < 1e-9).sort((a, b) => a.x0 - b.x0);
  assert.ok(Math.abs(row0[1]!.x0 - row0[0]!.x1 - 0.1) < 1e-9);
  const spec = kernelLayoutChart([m!]);
  assert.equal((spec.data as { values: unknown[] }).values.length, 5);
  assert.throws(() => kernelLayoutChart([]), /non-empty/);
});

test("table5Rows: the paper's MNIST numbers sit beside ours, and counts it does not report get null", () => {
  const rows = table5Rows([row(8, 0.9), row(1000, 0.95), row("infinite", 0.97), row(3, 0.5)]);
  assert.deepEqual(rows.map((r) => r.paper), [0.9612, 0.9724, 0.9772, null]);
  assert.deepEqual(rows.map((r) => r.accuracy), [0.9, 0.95, 0.97, 0.5]);
});

test("pairEstimatesWithStudents pairs by kernel count and names a missing estimate", () => {
  const pts = pairEstimatesWithStudents([row(4, 0.8), row(1, 0.6)], [{ kernels: 1, accuracy: 0.7, seeds: [0, 1], runs: [0.69, 0.71], loaded: false }, { kernels: 4, accuracy: 0.85, seeds: [0], runs: [0.85], loaded: true }]);
  assert.deepEqual(pts, [{ kernels: 1, estimated: 0.6, trained: 0.7, trainedRuns: [0.69, 0.71] }, { kernels: 4, estimated: 0.8, trained: 0.85, trainedRuns: [0.85] }]);
  assert.throws(() => pairEstimatesWithStudents([row(4, 0.8)], [{ kernels: 9, accuracy: 0.9, seeds: [0], runs: [0.9], loaded: false }]), /9 kernels/);
  const md = estimationReport({ points: pts, agreement: estimateAgreement(pts), randomKernels: table5Rows([row("infinite", 0.97)]), trainPoints: 10, testPoints: 5 });
  assert.match(md, /\| ∞ \| 97\.00 \| 97\.72 \|/);
  assert.match(md, /Correlation 1\.000/);
});

test("estimationPreset: full mode uses 5,000 regression points; unknown modes are rejected", () => {
  assert.equal(estimationPreset("full").trainPoints, 5000);
  assert.ok(estimationPreset("smoke").trainPoints <= 500);
  assert.ok(estimationPreset("quick").trainPoints <= 500);
  assert.throws(() => estimationPreset("fast" as "quick"), /mode/);
});

test("estimateAcrossKernelCounts separates classes a tiny regression can learn", () => {
  // Two classes of 8x8 images: a bright left half or a bright right half, with noise.
  // Every estimate (finite random non-negative kernels or infinite) should classify them almost perfectly.
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const make = (n: number, name: string): ImageDataset => {
    const images = new Float32Array(n * 64);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      for (let p = 0; p < 64; p++) images[i * 64 + p] = ((p % 8 < 4) === (labels[i] === 0) ? 1 : 0) * 0.6 + 0.4 * rand();
    }
    return { name, images, labels, count: n, height: 8, width: 8, channels: 1, classNames: ["left", "right"] };
  };
  const seen: Array<number | "infinite"> = [];
  const rows = estimateAcrossKernelCounts(
    { dataset: make(40, "halves-train"), testDataset: make(20, "halves-test"), kernelSize: 3, network: { hiddenLayers: 1 }, trainPoints: 24, validationPoints: 10, testPoints: 20, seed: 3, onEstimate: (r) => seen.push(r.kernels) },
    [2, "infinite"],
  );
  assert.deepEqual(seen, [2, "infinite"]);
  for (const r of rows) assert.ok(r.estimated >= 0.95, `${r.kernels} kernels: ${r.estimated}`);
  assert.throws(() => estimateAcrossKernelCounts({ dataset: make(4, "x"), testDataset: make(4, "y"), kernelSize: 3, network: {}, trainPoints: 2, validationPoints: 1, testPoints: 2, seed: 1 }, []), /non-empty/);
});
