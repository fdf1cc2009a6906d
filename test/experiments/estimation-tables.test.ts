import { test } from "node:test";
import assert from "node:assert/strict";
import {
  layoutTableRows, describeEstimate, estimateVsSizeRows, estimateVsPointsRows, estimateVsTrainedSeriesRows,
  estimateTrainedTableRows, randomKernelTableRows, estimationResults,
} from "../../src/experiments/estimation-tables";
import { metasurfaceLayouts, type EstimateRow } from "../../src/experiments/estimation";
import { paperRandomKernelAccuracy } from "../../src/experiments/paper";

const estimate = (kernels: number | "infinite", trainPoints: number, estimated: number): EstimateRow =>
  ({ kernels, trainPoints, estimated, detail: { relativeLambda: 0.01, kernelMatrixSeconds: 2.345 } }) as unknown as EstimateRow;

test("layoutTableRows: 0.5 mm kernels with 0.1 mm gaps on 1.2 mm give a 2 x 2 grid at 0.6 mm pitch, fill 4·0.25/1.44", () => {
  const layouts = metasurfaceLayouts({ sidesM: [0.6e-3, 1.2e-3], kernelSizeM: 0.5e-3, spacingM: 0.1e-3 });
  const rows = layoutTableRows(layouts);
  assert.deepEqual(rows.map((r) => [r.grid, r.kernels]), [["1 × 1", 1], ["2 × 2", 4]]);
  assert.ok(Math.abs(rows[1]["metasurface (mm)"] - 1.2) < 1e-9);
  assert.ok(Math.abs(rows[1]["pitch (mm)"] - 0.6) < 1e-9);
  assert.ok(Math.abs(rows[1]["fill factor"] - 1 / 1.44) < 1e-9);
  assert.deepEqual(estimateVsSizeRows(layouts, [estimate(1, 400, 0.5), estimate(4, 400, 0.75), estimate("infinite", 400, 0.9)]), [
    { x: 0.6, accuracy: 50, series: "random kernels" },
    { x: 1.2, accuracy: 75, series: "random kernels" },
  ]);
  assert.throws(() => estimateVsSizeRows(layouts, [estimate(4, 400, 0.5), estimate(1, 400, 0.5)]), /estimates\[0\] is for 4 kernels, but layout 0 holds 1/);
});

test("describeEstimate, points and trained series, and the two tables, in percent", () => {
  assert.equal(describeEstimate(estimate(9, 400, 0.8625)), "9 kernels, 400 points: estimated 86.25 % (λ = 0.01 × mean diag, 2.3 s kernels)");
  assert.deepEqual(estimateVsPointsRows([estimate("infinite", 100, 0.5)]), [{ x: 100, accuracy: 50, series: "∞ kernels" }]);
  const points = [{ kernels: 4, estimated: 0.75, trained: 0.5 }];
  assert.deepEqual(estimateVsTrainedSeriesRows(points), [
    { x: 4, accuracy: 75, series: "NTK estimate" },
    { x: 4, accuracy: 50, series: "trained student" },
  ]);
  assert.deepEqual(estimateTrainedTableRows(points), [{ kernels: 4, "estimated (%)": 75, "trained (%)": 50, "gap (pp)": 25 }]);
  assert.deepEqual(randomKernelTableRows([{ kernels: "infinite", accuracy: 0.5, paper: 0.75 }, { kernels: 3, accuracy: 0.25, paper: null }]), [
    { kernels: "∞", "ours (%)": 50, "paper (%)": 75 },
    { kernels: 3, "ours (%)": 25, "paper (%)": "n/a" },
  ]);
});

test("paperRandomKernelAccuracy reads Table 5 (∞ = 97.72 %), and estimationResults carries it beside our infinite estimate", () => {
  assert.equal(paperRandomKernelAccuracy("infinite"), 0.9772);
  assert.equal(paperRandomKernelAccuracy(500), 0.9681);
  assert.equal(paperRandomKernelAccuracy(7), null);
  const layouts = metasurfaceLayouts({ sidesM: [0.6e-3], kernelSizeM: 0.5e-3, spacingM: 0.1e-3 });
  const out = estimationResults({
    layouts, points: [], agreement: { count: 0, correlation: null, spearman: null, meanAbsoluteGap: 0, meanSignedGap: 0 }, randomKernels: [],
    infinite: estimate("infinite", 400, 0.8), trainPointsSweep: [estimate("infinite", 100, 0.6)], testPoints: 500,
  });
  const e = (out.mnist as Record<string, any>).estimation;
  assert.deepEqual(e.infinite, { estimated: 0.8, paper: 0.9772, trainPoints: 400, testPoints: 500 });
  assert.deepEqual(e.trainPointsSweep, [{ trainPoints: 100, estimated: 0.6 }]);
  assert.deepEqual(e.layouts, [{ sideM: 0.6e-3, kernelSizeM: 0.5e-3, spacingM: 0.1e-3, kernels: 1 }]);
  assert.throws(() => estimationResults({ layouts, points: [], agreement: e.agreement, randomKernels: [], infinite: estimate(4, 1, 1), trainPointsSweep: [], testPoints: 1 }),
    /infinite must be the "infinite" kernel estimate, got 4 kernels/);
});
