import { test } from "node:test";
import assert from "node:assert/strict";
import {
  layoutTableRows, describeEstimate, estimateVsSizeRows, estimateVsPointsRows, estimateVsTrainedSeriesRows,
  estimateTrainedTableRows, randomKernelTableRows, estimationResults, estimateCosts, estimateCostTableRows,
} from "../../src/experiments/estimation-tables";
import { metasurfaceLayouts, type EstimateRow } from "../../src/experiments/estimation";
import { paperRandomKernelAccuracy } from "../../src/experiments/paper";

const estimate = (kernels: number | "infinite", trainPoints: number, estimated: number): EstimateRow =>
  ({ kernels, kernelSize: 7, trainPoints, estimated, detail: { relativeLambda: 0.01, kernelMatrixSeconds: 2.345, solveSeconds: 0.5, validationPoints: 100, testPoints: 1000 } }) as unknown as EstimateRow;

test("layoutTableRows: 0.5 mm kernels with 0.1 mm gaps on 1.2 mm give a 2 x 2 grid at 0.6 mm pitch, fill 4·0.25/1.44", () => {
  const layouts = metasurfaceLayouts({ sidesM: [0.6e-3, 1.2e-3], kernelSizeM: 0.5e-3, spacingM: 0.1e-3 });
  const rows = layoutTableRows(layouts);
  assert.deepEqual(rows.map((r) => [r.grid, r.kernels]), [["1 × 1", 1], ["2 × 2", 4]]);
  assert.ok(Math.abs(rows[1]["metasurface (mm)"] - 1.2) < 1e-9);
  assert.ok(Math.abs(rows[1]["pitch (mm)"] - 0.6) < 1e-9);
  assert.ok(Math.abs(rows[1]["fill factor"] - 1 / 1.44) < 1e-9);
  assert.deepEqual(estimateVsSizeRows(layouts, [estimate(1, 400, 0.5), estimate(4, 400, 0.75), estimate("infinite", 400, 0.9)]), [
    { x: 0.6, accuracy: 50, series: "random kernels, 7 px" },
    { x: 1.2, accuracy: 75, series: "random kernels, 7 px" },
  ]);
  assert.throws(() => estimateVsSizeRows(layouts, [estimate(4, 400, 0.5), estimate(1, 400, 0.5)]), /estimates\[0\] is for 4 kernels, but layout 0 holds 1/);
});

test("describeEstimate, points and trained series, and the two tables, in percent", () => {
  assert.equal(describeEstimate(estimate(9, 400, 0.8625)), "9 kernels of 7 px, 400 points: estimated 86.25 % (λ = 0.01 × mean diag, 2.3 s kernels)");
  assert.deepEqual(estimateVsPointsRows([estimate("infinite", 100, 0.5)]), [{ x: 100, accuracy: 50, series: "∞ kernels" }]);
  const points = [{ kernels: 4, estimated: 0.75, trained: 0.5 }];
  assert.deepEqual(estimateVsTrainedSeriesRows(points), [
    { x: 4, accuracy: 75, series: "NTK estimate" },
    { x: 4, accuracy: 50, series: "trained student" },
  ]);
  assert.deepEqual(estimateVsTrainedSeriesRows([{ ...points[0]!, kernelSize: 5 }]).map((r) => r.series), ["NTK estimate, 5 px", "trained student, 5 px"]);
  assert.deepEqual(estimateTrainedTableRows(points), [{ kernels: 4, "kernel size (px)": "n/a", "estimated (%)": 75, "trained (%)": 50, "gap (pp)": 25 }]);
  assert.equal(estimateTrainedTableRows([{ ...points[0]!, kernelSize: 5 }])[0]!["kernel size (px)"], 5);
  assert.deepEqual(randomKernelTableRows([{ kernels: "infinite", accuracy: 0.5, paper: 0.75 }, { kernels: 3, accuracy: 0.25, paper: null, trained: 0.5, trainedOnRegressionPoints: 0.375 }]), [
    { kernels: "∞", "estimate (%)": 50, "trained, estimate's points (%)": "n/a", "trained, all images (%)": "n/a", "paper (%)": 75 },
    { kernels: 3, "estimate (%)": 25, "trained, estimate's points (%)": 37.5, "trained, all images (%)": 50, "paper (%)": "n/a" },
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

test("estimateCosts: each estimate's stage times and the bytes of its three float64 kernel matrices, series by series", () => {
  const costs = estimateCosts({ designs: [estimate(4, 400, 0.8)], points: [estimate("infinite", 200, 0.7), estimate("infinite", 400, 0.75)] });
  assert.deepEqual(costs.map((c) => [c.series, c.kernels, c.trainPoints]), [["designs", 4, 400], ["points", "infinite", 200], ["points", "infinite", 400]]);
  // 400 x (400 + 100 validation + 1000 test) doubles.
  assert.equal(costs[0]!.kernelMatrixBytes, 8 * 400 * 1500);
  assert.equal(costs[1]!.kernelMatrixBytes, 8 * 200 * 1300);
  assert.deepEqual([costs[0]!.kernelMatrixSeconds, costs[0]!.solveSeconds, costs[0]!.kernelSize], [2.345, 0.5, 7]);
  const row = estimateCostTableRows(costs)[1]!;
  assert.deepEqual([row.kernels, row["kernel size (px)"]], ["∞", 7]);
  assert.equal(row["matrices (MiB)"], (8 * 200 * 1300) / 2 ** 20);
  const layouts = metasurfaceLayouts({ sidesM: [0.6e-3], kernelSizeM: 0.5e-3, spacingM: 0.1e-3 });
  const agreement = { count: 0, correlation: null, spearman: null, meanAbsoluteGap: 0, meanSignedGap: 0 };
  const base = { layouts, points: [], agreement, randomKernels: [], infinite: estimate("infinite", 400, 0.8), trainPointsSweep: [], testPoints: 500 };
  const e = (estimationResults({ ...base, costs, peakMemoryBytes: 123 }).mnist as Record<string, any>).estimation;
  assert.deepEqual(e.costs, costs);
  assert.equal(e.peakMemoryBytes, 123);
  const bare = (estimationResults(base).mnist as Record<string, any>).estimation;
  assert.ok(!("costs" in bare) && !("peakMemoryBytes" in bare));
});
