/**
 * The pre-training estimation study of paper §2.2-3.1 and Table 5 (notebook 01): how many
 * kernels fit on a metasurface of a given size, what accuracy the NTK kernel-regression estimate
 * predicts for that many kernels, how close that comes to students actually trained with that
 * many kernels, and the random-PSF ablation (random non-negative kernels, only the backend trained).
 *
 * The estimates themselves live in src/estimate/; this module sizes them per mode, runs the
 * series the notebook plots, and shapes the results for summary.json and the report.
 */
import type { ImageDataset } from "../data/types";
import { estimateAccuracy, type AccuracyEstimate, type EstimateProgress } from "../estimate/estimate";
import type { RandomKernelDistribution, ReferenceNetwork } from "../estimate/reference-network";
import { kernelLayout, type KernelLayout } from "../optics/layout";
import type { NotebookMode } from "../notebook/params";
import type { RunStore } from "../notebook/run-store";
import { buildTeacherFor, PAPER_KERNEL_SIZE } from "./architectures";
import type { ClassificationDatasetName, ClassificationSplits } from "./datasets";
import { obtainStudent, type StudyProgress } from "./distillation";
import { PAPER } from "./paper";
import { summarizeRuns } from "./stats";
import { estimateCache, estimateCacheKey } from "./estimate-cache";

export * from "./estimation-layout-chart";
import type { EstimateCost } from "./estimation-tables";
import type { DistillationPreset } from "./presets";

/** Sizes of the estimation study in one mode. */
export interface EstimationPreset {
  /** Training points of every kernel regression (kernel cost grows with its square). */
  trainPoints: number;
  /** Validation points of the λ grid search. */
  validationPoints: number;
  /** Test points each estimate is scored on (drawn from the official test split). */
  testPoints: number;
  /** Training-point counts of the "estimate against data size" curve (infinite kernels, cheap). */
  trainPointsSweep: number[];
  /** Finite random-kernel counts of the Table 5 ablation (the infinite row is always added). */
  table5Kernels: number[];
  /** Epochs of each trained layer of Table 5's trained column (per learning rate tried). */
  backendEpochs: number;
  /** Overrides of the distillation preset for the students trained beside the estimates. */
  student: Partial<DistillationPreset>;
}

/** The regressions of smoke and quick mode: a few hundred points, about a minute here. */
const SMALL_REGRESSIONS = { trainPoints: 400, validationPoints: 200, testPoints: 500, trainPointsSweep: [100, 200, 400], table5Kernels: [8, 500, 1000], backendEpochs: 4 };

/**
 * The study's sizes: smoke is CI scale (about a minute here), quick the same regressions beside
 * students trained on 5,000 full-size images, full uses 5,000 training points.
 */
export function estimationPreset(mode: NotebookMode): EstimationPreset {
  if (mode === "quick") {
    // Four students within about half a minute on 2 cores: 5,000 training images, 3 epochs, one seed.
    return { ...SMALL_REGRESSIONS, student: { sizes: { trainCount: 5000, validationCount: 5000 }, studentEpochs: 3, seeds: [0] } };
  }
  if (mode === "smoke") {
    // The smoke distillation sizes (3,000 training images) and epochs; one seed.
    return { ...SMALL_REGRESSIONS, student: { studentEpochs: 6, seeds: [0] } };
  }
  if (mode === "full") {
    return {
      trainPoints: 5000,
      validationPoints: 1000,
      // The whole official test split, as the trained students are scored on it.
      testPoints: 10000,
      trainPointsSweep: [500, 1000, 2000, 5000],
      table5Kernels: [8, 500, 1000],
      backendEpochs: 20,
      // Notebook 03's protocol (all 50,000 training images, 15 epochs), three seeds: the accuracy
      // a design gets when it is trained, which the estimate must predict (issue 18). The
      // default kernel count's students are notebook 03's; the others are ~2-9 min each here.
      student: { seeds: [0, 1, 2] },
    };
  }
  throw new Error(`estimationPreset: mode must be "smoke", "quick" or "full", got ${JSON.stringify(mode)}`);
}

/** Options of {@link metasurfaceLayouts}. */
export interface MetasurfaceSweepOptions {
  /** Sides of the square metasurfaces to lay out, metres. */
  sidesM: number[];
  /** Physical side of one kernel (sub-aperture), metres. */
  kernelSizeM: number;
  /** Minimum edge-to-edge spacing between kernels, metres. */
  spacingM: number;
  /** Grid symmetry of paper Eq. 1 (default "square": n² kernels). */
  symmetry?: "rectangular" | "square";
}

/** One metasurface of the sweep and its kernel layout. */
export interface MetasurfaceLayout {
  /** Side of the square metasurface, metres. */
  sideM: number;
  /** Physical kernel side and spacing the layout used, metres. */
  kernelSizeM: number;
  spacingM: number;
  layout: KernelLayout;
}

/** Kernel layouts (paper Eq. 1) of square metasurfaces of several sizes. */
export function metasurfaceLayouts(opts: MetasurfaceSweepOptions): MetasurfaceLayout[] {
  if (!Array.isArray(opts.sidesM) || opts.sidesM.length === 0) throw new Error("metasurfaceLayouts: sidesM must be a non-empty array of metasurface sides in metres");
  return opts.sidesM.map((sideM) => ({
    sideM,
    kernelSizeM: opts.kernelSizeM,
    spacingM: opts.spacingM,
    layout: kernelLayout({
      metasurfaceHeightM: sideM,
      metasurfaceWidthM: sideM,
      kernelSizeM: opts.kernelSizeM,
      spacingM: opts.spacingM,
      symmetry: opts.symmetry ?? "square",
    }),
  }));
}

/** What every estimate of a series shares. */
export interface EstimationSettings {
  /** Pool of training and validation points (the students' training split, so both see the same data). */
  dataset: ImageDataset;
  /** Images the estimates are scored on (the official test split). */
  testDataset: ImageDataset;
  /** Side k of the optical kernels in sensor pixels (the students use 7). */
  kernelSize: number;
  /** Distribution of finite random kernels (default "nonnegative": incoherent PSFs, as in Table 5). */
  randomKernels?: RandomKernelDistribution;
  /** Reference network without its optical layer (hidden layers, whether the frontend trains). */
  network: Omit<ReferenceNetwork, "kernelSize" | "kernels">;
  trainPoints: number;
  validationPoints: number;
  testPoints: number;
  /** Integer seed of the sample choice and the random kernels. */
  seed: number;
  /**
   * Folder of saved estimates (e.g. a run store's `checkpointPath("estimates")`): an estimate
   * saved there with the same settings and data is loaded instead of computed. Omitted: none.
   */
  cacheDir?: string;
  /** Called after each estimate. */
  onEstimate?: (row: EstimateRow) => void;
  /**
   * Called as each estimate's kernel matrices fill and its λ grid is searched, with the count and
   * points of the estimate under way (a 5,000-point estimate takes minutes).
   */
  onProgress?: (what: EstimateUnderWay, p: EstimateProgress) => void;
}

/** Which estimate a progress report is about. */
export interface EstimateUnderWay {
  kernels: number | "infinite";
  /** Side of the kernels in sensor pixels. */
  kernelSize: number;
  trainPoints: number;
}

/** One estimate of a series. */
export interface EstimateRow {
  /** Kernel count, or "infinite" for the NTK regime. */
  kernels: number | "infinite";
  /** Side of the optical kernels in sensor pixels. */
  kernelSize: number;
  /** Training points of the regression. */
  trainPoints: number;
  /** Estimated test accuracy, fraction in [0, 1]. */
  estimated: number;
  /** The full estimate (λ, validation accuracy, timings: those of its computation when loaded). */
  detail: AccuracyEstimate;
  /** Whether it came from the settings' `cacheDir` instead of being computed. */
  loaded: boolean;
}

function runEstimate(s: EstimationSettings, kernels: number | "infinite", trainPoints: number): EstimateRow {
  const identity = {
    dataset: s.dataset,
    testDataset: s.testDataset,
    kernels,
    kernelSize: s.kernelSize,
    randomKernels: s.randomKernels ?? "nonnegative",
    network: s.network,
    trainPoints,
    validationPoints: s.validationPoints,
    testPoints: s.testPoints,
    seed: s.seed,
  };
  const cache = s.cacheDir === undefined ? undefined : estimateCache(s.cacheDir);
  const key = estimateCacheKey(identity);
  const saved = cache?.load(key);
  const detail = saved ?? estimateAccuracy({
    ...identity,
    onProgress: s.onProgress && ((p: EstimateProgress) => s.onProgress!({ kernels, kernelSize: s.kernelSize, trainPoints }, p)),
  });
  if (!saved) cache?.save(key, detail);
  const row: EstimateRow = { kernels, kernelSize: s.kernelSize, trainPoints, estimated: detail.accuracy, detail, loaded: saved !== undefined };
  s.onEstimate?.(row);
  return row;
}

/** Estimated accuracy for each kernel count (finite counts are random kernels held fixed). */
export function estimateAcrossKernelCounts(s: EstimationSettings, counts: Array<number | "infinite">): EstimateRow[] {
  if (!Array.isArray(counts) || counts.length === 0) throw new Error("estimateAcrossKernelCounts: counts must be a non-empty array of kernel counts or \"infinite\"");
  return counts.map((k) => runEstimate(s, k, s.trainPoints));
}

/** Estimated accuracy for each number of training points, at one kernel count. */
export function estimateAcrossTrainPoints(s: EstimationSettings, trainPoints: number[], kernels: number | "infinite"): EstimateRow[] {
  if (!Array.isArray(trainPoints) || trainPoints.length === 0) throw new Error("estimateAcrossTrainPoints: trainPoints must be a non-empty array of counts");
  return trainPoints.map((n) => runEstimate(s, kernels, n));
}

/** One trained student of the comparison. */
export interface TrainedStudentRow {
  kernels: number;
  /** Side of the optical kernels in sensor pixels. */
  kernelSize: number;
  /** Test accuracy, fraction in [0, 1]: the mean over {@link runs}. */
  accuracy: number;
  /** The seeds trained, one student each. */
  seeds: number[];
  /** Test accuracy per seed, in the order of {@link seeds}. */
  runs: number[];
  /** Whether every student's weights came from the run store instead of training. */
  loaded: boolean;
}

/** Options of {@link trainStudentsForKernelCounts}. */
export interface KernelCountStudentsOptions {
  dataset: ClassificationDatasetName;
  /** Run store of the models (shared with the other notebooks: `openRun("models-<dataset>", mode)`). */
  run: RunStore;
  splits: ClassificationSplits;
  /** The resolved distillation preset: one student per seed and kernel count. */
  preset: DistillationPreset;
  /** Kernel counts, one student each. */
  counts: number[];
  /** Side of the students' optical kernels in sensor pixels (default: the paper's 7). */
  kernelSize?: number;
  onProgress?: (p: StudyProgress) => void;
  onModelDone?: (row: TrainedStudentRow) => void;
}

/**
 * Trains (or loads) one student per kernel count and seed with no knowledge transfer (method
 * "none"), the accuracy a designer would get without a teacher, which the estimate predicts.
 */
export async function trainStudentsForKernelCounts(opts: KernelCountStudentsOptions): Promise<TrainedStudentRow[]> {
  const seeds = opts.preset.seeds;
  if (seeds.length === 0) throw new Error("trainStudentsForKernelCounts: preset.seeds is empty; expected at least one seed");
  // obtainStudent takes a teacher, but method "none" never calls it: an untrained one is enough.
  const unusedTeacher = buildTeacherFor(opts.splits.train, 1000, "quick"); // never trained nor read: the cheaper widths
  const kernelSize = opts.kernelSize ?? PAPER_KERNEL_SIZE;
  const preset = { ...opts.preset, studentKernelSize: kernelSize };
  const rows: TrainedStudentRow[] = [];
  try {
    for (const kernels of opts.counts) {
      if (!Number.isInteger(kernels) || kernels < 1) throw new Error(`trainStudentsForKernelCounts: counts contains ${kernels}; expected integers >= 1`);
      const runs: number[] = [];
      let loaded = true;
      for (const seed of seeds) {
        const { student, run } = await obtainStudent({ dataset: opts.dataset, run: opts.run, onProgress: opts.onProgress }, opts.splits, preset, unusedTeacher, "none", seed, kernels);
        student.dispose();
        runs.push(run.accuracy);
        loaded &&= run.loaded;
      }
      const row = { kernels, kernelSize, accuracy: summarizeRuns(runs, `the ${kernels}-kernel students' accuracies`).mean, seeds: [...seeds], runs, loaded };
      opts.onModelDone?.(row);
      rows.push(row);
    }
  } finally {
    unusedTeacher.dispose();
  }
  return rows;
}

/** How well the estimate tracks trained accuracy. */
export interface EstimateAgreement {
  /** Points compared. */
  count: number;
  /** Pearson correlation of estimated and trained accuracy; null when either is constant. */
  correlation: number | null;
  /**
   * Spearman's rank correlation (Pearson's of the ranks, ties given their mean rank): whether the
   * estimate orders the designs as training does, which is what a designer ranks by; null when either is constant.
   */
  spearman: number | null;
  /** Mean |estimated − trained|, fraction. */
  meanAbsoluteGap: number;
  /** Mean (estimated − trained), fraction: positive when the estimate is optimistic. */
  meanSignedGap: number;
}

/** Correlation and gaps of estimated against trained accuracy (fractions in [0, 1]). */
export function estimateAgreement(points: ReadonlyArray<{ estimated: number; trained: number }>): EstimateAgreement {
  if (!Array.isArray(points) || points.length < 2) throw new Error(`estimateAgreement: points must hold at least 2 { estimated, trained } pairs, got ${Array.isArray(points) ? points.length : typeof points}`);
  points.forEach((p, i) => {
    for (const key of ["estimated", "trained"] as const) {
      const v = p[key];
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 1) throw new Error(`estimateAgreement: points[${i}].${key} is ${String(v)}; expected a fraction in [0, 1]`);
    }
  });
  const n = points.length;
  const meanE = points.reduce((a, p) => a + p.estimated, 0) / n;
  const meanT = points.reduce((a, p) => a + p.trained, 0) / n;
  const estimated = points.map((p) => p.estimated);
  const trained = points.map((p) => p.trained);
  return {
    count: n,
    correlation: pearson(estimated, trained),
    spearman: pearson(ranks(estimated), ranks(trained)),
    meanAbsoluteGap: points.reduce((a, p) => a + Math.abs(p.estimated - p.trained), 0) / n,
    meanSignedGap: meanE - meanT,
  };
}

/** Pearson's correlation; null for a constant series (no defined correlation, rather than NaN). */
function pearson(x: readonly number[], y: readonly number[]): number | null {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
    sxy += (x[i]! - mx) * (y[i]! - my);
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}

/** Ranks from 1, tied values sharing their mean rank. */
function ranks(x: readonly number[]): number[] {
  const order = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** A row of the random-kernel ablation beside the paper's Table 5. */
export interface RandomKernelRow {
  /** Kernel count, or "infinite". */
  kernels: number | "infinite";
  /** Our estimated accuracy, fraction. */
  accuracy: number;
  /** The paper's accuracy for this count (MNIST, mono), fraction, or null when it reports none. */
  paper: number | null;
  /**
   * Test accuracy of the same network with only its layer trained, on all training images (the
   * paper's setting); absent for ∞ or when not trained. See `trainRandomKernelBackends`.
   */
  trained?: number | null;
  /** The same, trained on the estimate's own training points: the like-for-like check of the estimate. */
  trainedOnRegressionPoints?: number | null;
}

/** Our Table 5 estimates beside the paper's MNIST column. */
export function table5Rows(rows: ReadonlyArray<EstimateRow>): RandomKernelRow[] {
  return rows.map((r) => {
    const paper = PAPER.table5.mnist.find((p) => (r.kernels === "infinite" ? p.kernels === Infinity : p.kernels === r.kernels));
    return { kernels: r.kernels, accuracy: r.estimated, paper: paper?.accuracy ?? null };
  });
}

/** Table 5 rows with the trained column beside each finite count's estimate (∞ has none). */
export function withTrainedBackends(rows: readonly RandomKernelRow[], trained: ReadonlyArray<{ kernels: number; trained: number | null; trainedOnRegressionPoints: number }>): RandomKernelRow[] {
  return rows.map((r) => {
    if (r.kernels === "infinite") return { ...r, trained: null, trainedOnRegressionPoints: null };
    const t = trained.find((x) => x.kernels === r.kernels);
    if (!t) throw new Error(`withTrainedBackends: no trained layer for ${r.kernels} kernels; trained ${trained.map((x) => x.kernels).join(", ") || "none"}`);
    return { ...r, trained: t.trained, trainedOnRegressionPoints: t.trainedOnRegressionPoints };
  });
}

/** One design (kernel count and size) with its estimate and its trained students. */
export interface EstimatedTrainedPoint {
  kernels: number;
  /** Side of the optical kernels in sensor pixels (absent in points built by hand). */
  kernelSize?: number;
  /** Training points of the estimate's regression (absent in points built by hand). */
  trainPoints?: number;
  estimated: number;
  /** Mean test accuracy of the trained students. */
  trained: number;
  /** Their accuracy per seed (absent in points built by hand). */
  trainedRuns?: number[];
}

/** Pairs estimates with trained students by kernel count and size; every student needs its estimate. */
export function pairEstimatesWithStudents(estimates: ReadonlyArray<EstimateRow>, students: ReadonlyArray<TrainedStudentRow>): EstimatedTrainedPoint[] {
  return students.map((s) => {
    const e = estimates.find((r) => r.kernels === s.kernels && r.kernelSize === s.kernelSize);
    if (!e) {
      const covered = estimates.map((r) => `${r.kernels} of ${r.kernelSize} px`).join(", ");
      throw new Error(`pairEstimatesWithStudents: no estimate for the student with ${s.kernels} kernels of ${s.kernelSize} px; estimates cover ${covered}`);
    }
    return { kernels: s.kernels, kernelSize: e.kernelSize, trainPoints: e.trainPoints, estimated: e.estimated, trained: s.accuracy, trainedRuns: [...s.runs] };
  });
}

function pct(v: number | null): string {
  return v === null ? "n/a" : `${(100 * v).toFixed(2)}`;
}

/** Inputs of {@link estimationReport}. */
export interface EstimationReportInput {
  points: EstimatedTrainedPoint[];
  agreement: EstimateAgreement;
  randomKernels: RandomKernelRow[];
  /** Training points of the estimates. */
  trainPoints: number;
  testPoints: number;
  /** Figure file names (without extension) in the run's figures/ folder to embed. */
  figures?: string[];
  /** What each estimate cost; omitted: no cost table. */
  costs?: readonly EstimateCost[];
  /** Peak resident memory of the stage's process, bytes. */
  peakMemoryBytes?: number;
}

function costLines(costs: readonly EstimateCost[] | undefined, peakMemoryBytes: number | undefined): string[] {
  if (!costs || costs.length === 0) return [];
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  return [
    "",
    "### What each estimate cost (wall time on this machine; float64 kernel matrices)",
    "",
    "| series | kernels | kernel size (px) | train points | kernel matrices (s) | λ search + test (s) | matrices (MiB) |",
    "|---|---|---|---|---|---|---|",
    ...costs.map((c) => `| ${c.series} | ${c.kernels === "infinite" ? "∞" : c.kernels} | ${c.kernelSize} | ${c.trainPoints} | ${c.kernelMatrixSeconds.toFixed(1)} | ${c.solveSeconds.toFixed(1)} | ${mib(c.kernelMatrixBytes)} |`),
    ...(peakMemoryBytes !== undefined ? ["", `Peak resident memory of the stage: ${mib(peakMemoryBytes)} MiB.`] : []),
  ];
}

/** The markdown the stage puts in the report: estimate vs trained, agreement, Table 5 beside the paper's. */
export function estimationReport(r: EstimationReportInput): string {
  const lines = [
    `### Estimated vs trained accuracy (MNIST, ${r.trainPoints} regression points, ${r.testPoints} test images)`,
    "",
    "| kernels | kernel size (px) | estimated (%) | trained, no transfer (%) | gap (pp) |",
    "|---|---|---|---|---|",
    ...r.points.map((p) => `| ${p.kernels} | ${p.kernelSize ?? "n/a"} | ${pct(p.estimated)} | ${pct(p.trained)} | ${(100 * (p.estimated - p.trained)).toFixed(2)} |`),
    "",
    `Correlation ${r.agreement.correlation === null ? "undefined (a constant series)" : r.agreement.correlation.toFixed(3)} ` +
      `(Spearman ${r.agreement.spearman === null ? "undefined" : r.agreement.spearman.toFixed(3)}), ` +
      `mean absolute gap ${(100 * r.agreement.meanAbsoluteGap).toFixed(2)} pp, mean signed gap ${(100 * r.agreement.meanSignedGap).toFixed(2)} pp over ${r.agreement.count} designs (kernel count and size).`,
    "",
    "### Random non-negative kernels, only the backend trained (paper Table 5, mono)",
    "",
    "| kernels | ours: NTK estimate (%) | ours: trained on the estimate's points (%) | ours: trained on all training images (%) | paper (%) |",
    "|---|---|---|---|---|",
    ...r.randomKernels.map((row) => `| ${row.kernels === "infinite" ? "∞" : row.kernels} | ${pct(row.accuracy)} | ${pct(row.trainedOnRegressionPoints ?? null)} | ${pct(row.trained ?? null)} | ${pct(row.paper)} |`),
    ...costLines(r.costs, r.peakMemoryBytes),
    ...(r.figures ?? []).flatMap((f) => ["", `![${f}](figures/${f}.svg)`]),
  ];
  return lines.join("\n");
}
