/**
 * Table and chart rows of the estimation stage (notebook 01), and its results.json entry: the
 * kernel layouts, estimates against metasurface size and training points, estimates beside
 * trained students, and the random-kernel ablation beside the paper's Table 5.
 */
import type { EstimateAgreement, EstimateRow, EstimatedTrainedPoint, MetasurfaceLayout, RandomKernelRow } from "./estimation";
import { paperRandomKernelAccuracy } from "./paper";
import type { FrontendKind } from "../models/frontends/factory";

/** One row of the layout table (millimetres). */
export interface LayoutTableRow {
  "metasurface (mm)": number;
  grid: string;
  kernels: number;
  "pitch (mm)": number;
  "fill factor": number;
}

/** The kernel layout of each metasurface, in millimetres. */
export function layoutTableRows(layouts: readonly MetasurfaceLayout[]): LayoutTableRow[] {
  return layouts.map((l) => ({
    "metasurface (mm)": l.sideM * 1e3,
    grid: `${l.layout.rows} × ${l.layout.columns}`,
    kernels: l.layout.count,
    "pitch (mm)": l.layout.pitchM * 1e3,
    "fill factor": l.layout.fillFactor,
  }));
}

/** One log line of an estimate: count, points, accuracy, the λ picked and the kernel-matrix time. */
export function describeEstimate(r: EstimateRow): string {
  return `${r.kernels} kernels of ${r.kernelSize} px, ${r.trainPoints} points: estimated ${(100 * r.estimated).toFixed(2)} % ` +
    `(λ = ${r.detail.relativeLambda} × mean diag, ${r.detail.kernelMatrixSeconds.toFixed(1)} s kernels${r.loaded ? ", loaded" : ""})`;
}

/** A point of an estimation line chart (accuracy in percent). */
export interface EstimateSeriesRow {
  x: number;
  accuracy: number;
  series: string;
}

/** Estimated accuracy against metasurface side (mm); `estimates[i]` belongs to `layouts[i]`. */
export function estimateVsSizeRows(layouts: readonly MetasurfaceLayout[], estimates: readonly EstimateRow[]): EstimateSeriesRow[] {
  if (estimates.length < layouts.length) {
    throw new Error(`estimateVsSizeRows: ${layouts.length} layouts need as many estimates, got ${estimates.length}`);
  }
  layouts.forEach((l, i) => {
    if (estimates[i].kernels !== l.layout.count) {
      throw new Error(`estimateVsSizeRows: estimates[${i}] is for ${estimates[i].kernels} kernels, but layout ${i} holds ${l.layout.count}`);
    }
  });
  return layouts.map((l, i) => ({ x: l.sideM * 1e3, accuracy: 100 * estimates[i].estimated, series: `random kernels, ${estimates[i].kernelSize} px` }));
}

/** Estimated accuracy against regression training points. */
export function estimateVsPointsRows(estimates: readonly EstimateRow[]): EstimateSeriesRow[] {
  return estimates.map((r) => ({ x: r.trainPoints, accuracy: 100 * r.estimated, series: `${r.kernels === "infinite" ? "∞" : r.kernels} kernels` }));
}

/** The estimate and the trained student per kernel count, two series per kernel size. */
export function estimateVsTrainedSeriesRows(points: readonly EstimatedTrainedPoint[]): EstimateSeriesRow[] {
  return points.flatMap((p) => {
    const size = p.kernelSize === undefined ? "" : `, ${p.kernelSize} px`;
    return [
      { x: p.kernels, accuracy: 100 * p.estimated, series: `NTK estimate${size}` },
      { x: p.kernels, accuracy: 100 * p.trained, series: `trained student${size}` },
    ];
  });
}

/** One row of the estimate-vs-trained table (percent; the gap in percentage points). */
export interface EstimateTrainedTableRow {
  kernels: number;
  "kernel size (px)": number | "n/a";
  "estimated (%)": number;
  "trained (%)": number;
  "gap (pp)": number;
}

/** Estimate, trained accuracy and their gap per kernel count. */
export function estimateTrainedTableRows(points: readonly EstimatedTrainedPoint[]): EstimateTrainedTableRow[] {
  return points.map((p) => ({
    kernels: p.kernels,
    "kernel size (px)": p.kernelSize ?? "n/a",
    "estimated (%)": 100 * p.estimated,
    "trained (%)": 100 * p.trained,
    "gap (pp)": 100 * (p.estimated - p.trained),
  }));
}

/** One row of the Table 5 display (percent; "∞" for the NTK limit). */
export interface RandomKernelTableRow {
  kernels: number | "∞";
  "estimate (%)": number;
  /** Only the layer trained, on the estimate's own points. */
  "trained, estimate's points (%)": number | "n/a";
  /** Only the layer trained, on every training image (the paper's setting). */
  "trained, all images (%)": number | "n/a";
  "paper (%)": number | "n/a";
}

const percentOrNa = (v: number | null | undefined): number | "n/a" => (v === null || v === undefined ? "n/a" : 100 * v);

/** Our random-kernel estimates and trained layers beside the paper's Table 5, in percent. */
export function randomKernelTableRows(rows: readonly RandomKernelRow[]): RandomKernelTableRow[] {
  return rows.map((r) => ({
    kernels: r.kernels === "infinite" ? "∞" : r.kernels,
    "estimate (%)": 100 * r.accuracy,
    "trained, estimate's points (%)": percentOrNa(r.trainedOnRegressionPoints),
    "trained, all images (%)": percentOrNa(r.trained),
    "paper (%)": percentOrNa(r.paper),
  }));
}

/** What one estimate cost: wall time per stage and the memory of its kernel matrices. */
export interface EstimateCost {
  /** Which series of the stage it belongs to (e.g. "designs", "points", "table 5"). */
  series: string;
  kernels: number | "infinite";
  kernelSize: number;
  trainPoints: number;
  validationPoints: number;
  testPoints: number;
  /** Wall time of the train, validation and test kernel matrices, seconds. */
  kernelMatrixSeconds: number;
  /** Wall time of the λ grid search and the test prediction, seconds. */
  solveSeconds: number;
  /** Bytes of the three float64 kernel matrices, n (n + validation + test) × 8: what limits n. */
  kernelMatrixBytes: number;
}

/** The cost of every estimate of the stage, series by series. */
export function estimateCosts(series: Readonly<Record<string, readonly EstimateRow[]>>): EstimateCost[] {
  return Object.entries(series).flatMap(([name, rows]) => rows.map((r) => ({
    series: name,
    kernels: r.kernels,
    kernelSize: r.kernelSize,
    trainPoints: r.trainPoints,
    validationPoints: r.detail.validationPoints,
    testPoints: r.detail.testPoints,
    kernelMatrixSeconds: r.detail.kernelMatrixSeconds,
    solveSeconds: r.detail.solveSeconds,
    kernelMatrixBytes: 8 * r.trainPoints * (r.trainPoints + r.detail.validationPoints + r.detail.testPoints),
  })));
}

/** One row of the cost table (seconds and MiB). */
export interface EstimateCostTableRow {
  series: string;
  kernels: number | "∞";
  "kernel size (px)": number;
  "train points": number;
  "kernel matrices (s)": number;
  "λ search + test (s)": number;
  "matrices (MiB)": number;
}

/** The cost table of the notebook and the report. */
export function estimateCostTableRows(costs: readonly EstimateCost[]): EstimateCostTableRow[] {
  return costs.map((c) => ({
    series: c.series,
    kernels: c.kernels === "infinite" ? "∞" : c.kernels,
    "kernel size (px)": c.kernelSize,
    "train points": c.trainPoints,
    "kernel matrices (s)": c.kernelMatrixSeconds,
    "λ search + test (s)": c.solveSeconds,
    "matrices (MiB)": c.kernelMatrixBytes / 2 ** 20,
  }));
}

/** Inputs of {@link estimationResults}. */
export interface EstimationResultsInput {
  layouts: readonly MetasurfaceLayout[];
  points: EstimatedTrainedPoint[];
  agreement: EstimateAgreement;
  randomKernels: RandomKernelRow[];
  /** The infinite-kernel estimate of the students' architecture. */
  infinite: EstimateRow;
  /** The infinite-kernel estimates against training points. */
  trainPointsSweep: readonly EstimateRow[];
  testPoints: number;
  /** The optical layer of the trained students the estimate is checked against (default "psf"). */
  frontend?: FrontendKind;
  /** What each estimate cost ({@link estimateCosts}); omitted: not recorded. */
  costs?: readonly EstimateCost[];
  /** Peak resident memory of the process that ran the stage, bytes; omitted: not measured. */
  peakMemoryBytes?: number;
}

/** The estimation stage's MNIST entry for results.json (fractions; layouts in metres). */
export function estimationResults(r: EstimationResultsInput): Record<string, Record<string, unknown>> {
  if (r.infinite.kernels !== "infinite") throw new Error(`estimationResults: infinite must be the "infinite" kernel estimate, got ${r.infinite.kernels} kernels`);
  return {
    mnist: {
      estimation: {
        frontend: r.frontend ?? "psf",
        points: r.points,
        agreement: r.agreement,
        randomKernels: r.randomKernels,
        infinite: {
          estimated: r.infinite.estimated,
          paper: paperRandomKernelAccuracy("infinite"),
          trainPoints: r.infinite.trainPoints,
          testPoints: r.testPoints,
        },
        trainPointsSweep: r.trainPointsSweep.map((e) => ({ trainPoints: e.trainPoints, estimated: e.estimated })),
        layouts: r.layouts.map((l) => ({ sideM: l.sideM, kernelSizeM: l.kernelSizeM, spacingM: l.spacingM, kernels: l.layout.count })),
        ...(r.costs ? { costs: r.costs } : {}),
        ...(r.peakMemoryBytes !== undefined ? { peakMemoryBytes: r.peakMemoryBytes } : {}),
      },
    },
  };
}
