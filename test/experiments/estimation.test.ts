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
  trainStudentsForKernelCounts,
  withTrainedBackends,
  type EstimateRow,
} from "../../src/experiments/estimation";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/runtime/backend";
import { openRun } from "../../src/notebook/run-store";
import { resolvePreset } from "../../src/experiments/distillation";
import { loadClassificationSplits } from "../../src/experiments/datasets";
import { TINY_STUDY } from "./tiny-preset";
import { estimateCache } from "../../src/experiments/estimate-cache";
import { configHash } from "../../src/experiments/model-files";
import { layoutRects, kernelLayoutChart } from "../../src/experiments/estimation-layout-chart";
import type { ImageDataset } from "../../src/data/types";
import { halves } from "./halves-dataset";

const row = (kernels: number | "infinite", estimated: number): EstimateRow => ({ kernels, kernelSize: 7, trainPoints: 10, estimated, detail: {} as EstimateRow["detail"], loaded: false });

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

test("withTrainedBackends puts each count's trained layers beside its estimate, ∞ gets none, and a missing count is named", () => {
  const rows = withTrainedBackends(table5Rows([row(8, 0.9), row("infinite", 0.97)]), [{ kernels: 8, trained: 0.93, trainedOnRegressionPoints: 0.91 }]);
  assert.deepEqual(rows.map((r) => [r.kernels, r.accuracy, r.trained, r.trainedOnRegressionPoints]), [[8, 0.9, 0.93, 0.91], ["infinite", 0.97, null, null]]);
  assert.throws(() => withTrainedBackends(table5Rows([row(500, 0.9)]), [{ kernels: 8, trained: null, trainedOnRegressionPoints: 0.9 }]), /no trained layer for 500 kernels; trained 8/);
  const md = estimationReport({ points: [], agreement: { count: 0, correlation: null, spearman: null, meanAbsoluteGap: 0, meanSignedGap: 0 }, randomKernels: rows, trainPoints: 10, testPoints: 5 });
  assert.match(md, /\| 8 \| 90\.00 \| 91\.00 \| 93\.00 \| 96\.12 \|/);
  assert.match(md, /\| ∞ \| 97\.00 \| n\/a \| n\/a \| 97\.72 \|/);
});

test("table5Rows: the paper's MNIST numbers sit beside ours, and counts it does not report get null", () => {
  const rows = table5Rows([row(8, 0.9), row(1000, 0.95), row("infinite", 0.97), row(3, 0.5)]);
  assert.deepEqual(rows.map((r) => r.paper), [0.9612, 0.9724, 0.9772, null]);
  assert.deepEqual(rows.map((r) => r.accuracy), [0.9, 0.95, 0.97, 0.5]);
});

test("pairEstimatesWithStudents pairs by kernel count, carries the estimate's kernel size and points, and names a missing estimate", () => {
  const pts = pairEstimatesWithStudents([row(4, 0.8), row(1, 0.6), { ...row(4, 0.5), kernelSize: 5 }], [
    { kernels: 1, kernelSize: 7, accuracy: 0.7, seeds: [0, 1], runs: [0.69, 0.71], loaded: false },
    { kernels: 4, kernelSize: 7, accuracy: 0.85, seeds: [0], runs: [0.85], loaded: true },
  ]);
  assert.deepEqual(pts, [
    { kernels: 1, kernelSize: 7, trainPoints: 10, estimated: 0.6, trained: 0.7, trainedRuns: [0.69, 0.71] },
    { kernels: 4, kernelSize: 7, trainPoints: 10, estimated: 0.8, trained: 0.85, trainedRuns: [0.85] },
  ]);
  assert.throws(() => pairEstimatesWithStudents([row(4, 0.8)], [{ kernels: 9, kernelSize: 7, accuracy: 0.9, seeds: [0], runs: [0.9], loaded: false }]), /9 kernels of 7 px; estimates cover 4 of 7 px/);
  // A 5 px student pairs with the 5 px estimate of its count, not the 7 px one.
  const small = pairEstimatesWithStudents([row(4, 0.8), { ...row(4, 0.5), kernelSize: 5 }], [{ kernels: 4, kernelSize: 5, accuracy: 0.6, seeds: [0], runs: [0.6], loaded: false }]);
  assert.deepEqual([small[0]!.kernelSize, small[0]!.estimated], [5, 0.5]);
  assert.throws(() => pairEstimatesWithStudents([row(4, 0.8)], [{ kernels: 4, kernelSize: 5, accuracy: 0.6, seeds: [0], runs: [0.6], loaded: false }]), /4 kernels of 5 px/);
  const md = estimationReport({ points: pts, agreement: estimateAgreement(pts), randomKernels: table5Rows([row("infinite", 0.97)]), trainPoints: 10, testPoints: 5 });
  assert.match(md, /\| ∞ \| 97\.00 \| n\/a \| n\/a \| 97\.72 \|/);
  assert.match(md, /\| 4 \| 7 \| 80\.00 \| 85\.00 \| -5\.00 \|/);
  assert.doesNotMatch(md, /What each estimate cost/);
  const cost = { series: "designs", kernels: 4, kernelSize: 7, trainPoints: 1000, validationPoints: 100, testPoints: 900, kernelMatrixSeconds: 1.26, solveSeconds: 0.34, kernelMatrixBytes: 16 * 2 ** 20 };
  const withCosts = estimationReport({ points: pts, agreement: estimateAgreement(pts), randomKernels: [], trainPoints: 10, testPoints: 5, costs: [cost], peakMemoryBytes: 300 * 2 ** 20 });
  assert.match(withCosts, /\| designs \| 4 \| 7 \| 1000 \| 1\.3 \| 0\.3 \| 16 \|/);
  assert.match(withCosts, /Peak resident memory of the stage: 300 MiB/);
  assert.match(md, /Correlation 1\.000/);
});

test("estimationPreset: full mode uses 5,000 regression points and the whole test split; unknown modes are rejected", () => {
  assert.equal(estimationPreset("full").trainPoints, 5000);
  assert.equal(estimationPreset("full").testPoints, 10000);
  assert.ok(estimationPreset("smoke").trainPoints <= 500);
  assert.ok(estimationPreset("quick").trainPoints <= 500);
  assert.throws(() => estimationPreset("fast" as "quick"), /mode/);
});

test("estimateAcrossKernelCounts separates classes a tiny regression can learn", () => {
  // Every estimate (finite random non-negative kernels or infinite) should classify the halves almost perfectly.
  const seen: Array<number | "infinite"> = [];
  const progress: string[] = [];
  const rows = estimateAcrossKernelCounts(
    {
      dataset: halves(40, "halves-train", 12345), testDataset: halves(20, "halves-test", 54321), kernelSize: 3, network: { hiddenLayers: 1 }, trainPoints: 24, validationPoints: 10, testPoints: 20, seed: 3,
      onEstimate: (r) => seen.push(r.kernels),
      onProgress: (what, p) => progress.push(`${what.kernels}/${what.kernelSize}/${what.trainPoints}:${p.stage}:${p.fraction.toFixed(2)}`),
    },
    [2, "infinite"],
  );
  assert.deepEqual(seen, [2, "infinite"]);
  assert.deepEqual(rows.map((r) => [r.kernelSize, r.trainPoints]), [[3, 24], [3, 24]]);
  // Each estimate reports its own matrices and λ search, each stage ending at 1.
  for (const k of ["2", "infinite"]) {
    for (const stage of ["kernel", "lambda"]) assert.ok(progress.includes(`${k}/3/24:${stage}:1.00`), `${k} ${stage}: ${progress.join(" ")}`);
  }
  for (const r of rows) assert.ok(r.estimated >= 0.95, `${r.kernels} kernels: ${r.estimated}`);
  assert.throws(() => estimateAcrossKernelCounts({ dataset: halves(4, "x", 1), testDataset: halves(4, "y", 2), kernelSize: 3, network: {}, trainPoints: 2, validationPoints: 1, testPoints: 2, seed: 1 }, []), /non-empty/);
});

test("trainStudentsForKernelCounts: one no-transfer student per count and seed, at the asked kernel size, loaded on a second call", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const run = openRun("models-mnist", "a", { root: fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-kernel-count-students-")) });
  const preset = resolvePreset("mnist", "smoke", { ...TINY_STUDY, seeds: [0, 1] });
  const splits = loadClassificationSplits("mnist", preset.sizes);
  const done: number[] = [];
  const rows = await trainStudentsForKernelCounts({ dataset: "mnist", run, splits, preset, counts: [1, 2], kernelSize: 3, onModelDone: (r) => done.push(r.kernels) });
  assert.deepEqual(done, [1, 2]);
  assert.deepEqual(rows.map((r) => [r.kernels, r.kernelSize, r.seeds, r.loaded]), [[1, 3, [0, 1], false], [2, 3, [0, 1], false]]);
  for (const r of rows) assert.ok(Math.abs(r.accuracy - (r.runs[0]! + r.runs[1]!) / 2) < 1e-12);
  for (const f of ["student-none-k1-3px-seed0.weights", "student-none-k2-3px-seed1.weights"]) assert.ok(fs.existsSync(run.checkpointPath(f)), f);
  const again = await trainStudentsForKernelCounts({ dataset: "mnist", run, splits, preset, counts: [2], kernelSize: 3 });
  assert.deepEqual([again[0]!.loaded, again[0]!.runs], [true, rows[1]!.runs]);
  // The paper's size is the default and names no size in the files.
  const seven = await trainStudentsForKernelCounts({ dataset: "mnist", run, splits, preset: { ...preset, seeds: [0] }, counts: [1] });
  assert.equal(seven[0]!.kernelSize, 7);
  assert.ok(fs.existsSync(run.checkpointPath("student-none-k1-seed0.weights")));
  await assert.rejects(trainStudentsForKernelCounts({ dataset: "mnist", run, splits, preset, counts: [0] }), /counts contains 0/);
});

test("cacheDir: a second series with the same settings and data loads every estimate; other settings or data compute anew", () => {
  const make = (n: number, name: string, shift: number): ImageDataset => {
    const images = new Float32Array(n * 16);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      for (let p = 0; p < 16; p++) images[i * 16 + p] = ((p % 4 < 2) === (labels[i] === 0) ? 1 : 0) + 0.01 * ((i * 7 + p * 3 + shift) % 11);
    }
    return { name, images, labels, count: n, height: 4, width: 4, channels: 1, classNames: ["a", "b"] };
  };
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-estimate-cache-"));
  let computing = 0;
  const settings = {
    dataset: make(30, "train", 0), testDataset: make(10, "test", 1), kernelSize: 3, network: { hiddenLayers: 1 },
    trainPoints: 16, validationPoints: 8, testPoints: 10, seed: 2, cacheDir,
    onProgress: (_: unknown, p: { stage: string; fraction: number }) => { if (p.stage === "kernel" && p.fraction === 1) computing++; },
  };
  const first = estimateAcrossKernelCounts(settings, [2, "infinite"]);
  assert.deepEqual([first.map((r) => r.loaded), computing], [[false, false], 2]);
  assert.equal(fs.readdirSync(cacheDir).filter((f) => /^estimate-[0-9a-f]{8}\.json$/.test(f)).length, 2);
  const again = estimateAcrossKernelCounts(settings, [2, "infinite"]);
  assert.deepEqual([again.map((r) => r.loaded), computing], [[true, true], 2]);
  assert.deepEqual(again.map((r) => [r.estimated, r.detail.relativeLambda, r.detail.kernelMatrixSeconds]), first.map((r) => [r.estimated, r.detail.relativeLambda, r.detail.kernelMatrixSeconds]));
  // Other seeds, points or data are other estimates.
  estimateAcrossKernelCounts({ ...settings, seed: 3 }, [2]);
  estimateAcrossKernelCounts({ ...settings, dataset: make(30, "train", 5) }, [2]);
  assert.equal(computing, 4);
  // A damaged file is named, never silently replaced.
  for (const f of fs.readdirSync(cacheDir)) fs.writeFileSync(path.join(cacheDir, f), "{ half a file");
  assert.throws(() => estimateAcrossKernelCounts(settings, [2]), /estimate-[0-9a-f]{8}\.json: not a saved estimate .*remove it to compute the estimate again/);
});

test("estimateCache keeps a λ whose factorisation failed (NaN accuracy) through JSON, and ignores a file of another key", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-estimate-cache-nan-"));
  const cache = estimateCache(dir);
  const e = { accuracy: 0.9, lambda: 1, relativeLambda: 0.1, validationAccuracy: 0.8, kernelCount: 4, trainPoints: 5, validationPoints: 2, testPoints: 3, kernelMatrixSeconds: 1, solveSeconds: 2,
    lambdaTrials: [{ relativeLambda: 1e-6, lambda: 1e-5, validationAccuracy: NaN, error: "not positive definite" }, { relativeLambda: 0.1, lambda: 1, validationAccuracy: 0.8 }] };
  cache.save("k1", e);
  const back = cache.load("k1")!;
  assert.ok(Number.isNaN(back.lambdaTrials[0]!.validationAccuracy));
  assert.deepEqual({ ...back, lambdaTrials: back.lambdaTrials.slice(1) }, { ...e, lambdaTrials: e.lambdaTrials.slice(1) });
  assert.equal(cache.load("k2"), undefined);
  // A file under k2's name that holds another key (a hash collision) is not k2's estimate.
  fs.writeFileSync(path.join(dir, `estimate-${configHash("k2")}.json`), JSON.stringify({ key: "other", estimate: e }));
  assert.equal(cache.load("k2"), undefined);
});
