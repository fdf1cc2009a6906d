import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import {
  overlayMask, maskOverlayGrid, segmentationRows, segmentationMarkdown,
  segmentationMiouBars, segmentationCurveRows, segmentationResults, segmentationReport,
} from "../../src/experiments/segmentation-report";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import { summarizeRuns } from "../../src/experiments/stats";
import type { SegmentationStudyResult } from "../../src/experiments/segmentation-study";
import type { SegmentationFabricationStudyResult } from "../../src/experiments/segmentation-fabrication";
import type { DistillationStudyResult } from "../../src/experiments/distillation";

test("overlayMask blends only masked pixels, hand-computed, and expands grey to RGB", () => {
  const rgb = overlayMask([0.2, 0.4, 0.6, 1, 1, 1], [1, 0], 1, 2, 3, [1, 0, 0], 0.5);
  assert.deepEqual(Array.from(rgb.values).map((v) => +v.toFixed(6)), [0.6, 0.2, 0.3, 1, 1, 1]);
  const grey = overlayMask([0.5, 0.25], [0, 1], 1, 2, 1, [0, 1, 0], 1);
  assert.deepEqual(Array.from(grey.values), [0.5, 0.5, 0.5, 0, 1, 0]);
  assert.throws(() => overlayMask([0, 0, 0], [1, 0], 1, 2, 3), /overlayMask: a 1x2x3 image needs 6 values and 2 mask values, got 3 and 2/);
  assert.throws(() => overlayMask([0, 0], [1, 0], 1, 2, 1, [1, 0, 0], 2), /opacity must be in \[0, 1\]/);
});

test("maskOverlayGrid shows the image, the truth and one prediction per network, thresholded at logit 0", async () => {
  await initBackend({ backend: "cpu" });
  const ds = generateSegmentationSet({ count: 3, height: 8, width: 8, seed: 5 });
  // A "network" that predicts object everywhere: a 1x1 conv with zero weights and bias 1.
  const everywhere = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 1, kernelSize: 1, kernelInitializer: "zeros", biasInitializer: "ones" })] });
  const before = tf.memory().numTensors;
  const g = maskOverlayGrid([{ label: "all", model: everywhere }], ds, { indices: [2], opacity: 1, color: [0, 0, 1] });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(g.columns, 3);
  assert.deepEqual(g.labels, ["#2", "truth", "all"]);
  const pix = 64;
  const image = ds.images.subarray(2 * pix * 3, 3 * pix * 3);
  assert.deepEqual(Array.from(g.images[0].values), Array.from(image));
  for (let p = 0; p < pix; p++) {
    assert.deepEqual([0, 1, 2].map((c) => g.images[2].values[p * 3 + c]), [0, 0, 1]);
    const truth = ds.masks[2 * pix + p] === 1;
    assert.equal(g.images[1].values[p * 3 + 2], truth ? 1 : image[p * 3 + 2]);
  }
  assert.throws(() => maskOverlayGrid([], ds, { indices: [3] }), /index 3 is outside 0..2/);
  everywhere.dispose();
});

test("segmentationRows puts our mIoU and Dice beside the paper's Carvana column", () => {
  const s = (v: number[]) => summarizeRuns(v);
  const result = {
    teacher: { meanIoU: 0.9, dice: 0.8 },
    students: {
      none: { ...s([0.5, 0.7]), dice: s([0.4, 0.4]) },
      kd: { ...s([0.6]), dice: s([0.5]) },
      ntkd: { ...s([0.65]), dice: s([0.55]) },
    },
  } as unknown as SegmentationStudyResult;
  const rows = segmentationRows(result);
  assert.deepEqual(rows.map((r) => [r.method, r.meanIoU, r.dice, r.paperCarvana, r.seeds]), [
    ["Teacher (U-Net)", "90.0", "80.0", "95.4", 1],
    ["No transfer", "60.0 ± 14.1", "40.0 ± 0.0", "74.3 ± 0.4", 2],
    ["KD", "60.0", "50.0", "86.7 ± 0.4", 1],
    ["NTKD", "65.0", "55.0", "91.5 ± 0.4", 1],
  ]);
  assert.match(segmentationMarkdown(rows, "T", "generated-cars"), /\| mIoU \(ours, generated-cars\) \|[^\n]*paper mIoU \(Carvana\)/);
  // with the study's all-background baseline, it heads the table
  const withBaseline = segmentationRows({ ...result, baseline: { meanIoU: 0.4, dice: 0, objectFraction: 0.2 } } as SegmentationStudyResult);
  assert.deepEqual(withBaseline.map((r) => [r.method, r.meanIoU, r.dice, r.paperCarvana, r.seeds]), [
    ["All background (trivial baseline)", "40.0", "0.0", "n/a", 1],
    ...rows.map((r) => [r.method, r.meanIoU, r.dice, r.paperCarvana, r.seeds]),
  ]);
  assert.match(segmentationMarkdown(withBaseline, "T", "generated-cars"), /\| All background \(trivial baseline\) \| 40\.0 \| 0\.0 \| n\/a \| 1 \|/);
});

/** A study of hand-picked numbers: teacher 0.9/0.8, none over two seeds 0.5 and 0.7, one-epoch histories. */
function handStudy(): SegmentationStudyResult {
  const s = (v: number[]) => summarizeRuns(v);
  const run = (meanIoU: number, trainMeanIoU: number[]) => ({
    seed: 0, meanIoU, dice: 0, loaded: false,
    history: trainMeanIoU.map((v, epoch) => ({ epoch, trainMeanIoU: v })),
  });
  return {
    dataset: "generated-cars",
    preset: { size: 8, seeds: [0, 1] },
    teacher: { meanIoU: 0.9, dice: 0.8, loaded: false, history: [{ epoch: 0, trainMeanIoU: 0.25 }, { epoch: 1, trainMeanIoU: 0.5 }] },
    students: {
      none: { ...s([0.5, 0.7]), dice: s([0.4, 0.6]), details: [run(0.5, [0.1]), run(0.7, [0.9])] },
      kd: { ...s([0.6]), dice: s([0.5]), details: [run(0.6, [0.2])] },
      ntkd: { ...s([0.65]), dice: s([0.55]), details: [] },
    },
  } as unknown as SegmentationStudyResult;
}

function handFabrication(): SegmentationFabricationStudyResult {
  const s = (v: number[]) => summarizeRuns(v);
  return {
    errors: { kernelErrorStd: 0.1 }, settings: { epochs: 1 },
    simulated: s([0.6]), none: s([0.2]), e2e: s([0.4]), ntkd: s([0.5]), details: [{ seed: 0 }],
  } as unknown as SegmentationFabricationStudyResult;
}

test("segmentationMiouBars pairs each model's mean (percent, std over seeds) with the paper's Carvana figure", () => {
  const bars = segmentationMiouBars(handStudy(), "generated-cars");
  const ours = "ours (generated-cars)";
  const paper = "paper (Carvana)";
  assert.deepEqual(bars.map((b) => [b.label, b.group, +b.mean.toFixed(6), b.std === undefined ? null : +b.std.toFixed(6)]), [
    ["Teacher", ours, 90, null],
    ["Teacher", paper, 95.4, null],
    ["No transfer", ours, 60, 14.142136],
    ["No transfer", paper, 74.3, null],
    ["KD", ours, 60, 0],
    ["KD", paper, 86.7, null],
    ["NTKD", ours, 65, 0],
    ["NTKD", paper, 91.5, null],
  ]);
});

test("segmentationCurveRows: 1-based epochs, percent, teacher then each method's first seed, none for a method without runs", () => {
  assert.deepEqual(segmentationCurveRows(handStudy()), [
    { epoch: 1, mIoU: 25, model: "Teacher" },
    { epoch: 2, mIoU: 50, model: "Teacher" },
    { epoch: 1, mIoU: 10, model: "No transfer" },
    { epoch: 1, mIoU: 20, model: "KD" },
  ]);
});

/** A CIFAR-10 distillation study by hand: one seed per method, each model with its files under /r/runs. */
function handCifarStudy(): DistillationStudyResult {
  const provenance = (phase: string) => ({
    phase, seed: 0, configKey: "{}", configHash: `h-${phase}`, loaded: true,
    weights: `/r/runs/models-cifar10/quick/checkpoints/${phase}.weights`,
    log: `/r/runs/models-cifar10/quick/checkpoints/${phase}.metrics.jsonl`,
    meta: `/r/runs/models-cifar10/quick/checkpoints/${phase}.meta.json`,
  });
  const student = (phase: string, accuracy: number) => ({ ...summarizeRuns([accuracy]), details: [{ seed: 0, accuracy, provenance: provenance(phase) }] });
  return {
    dataset: "cifar10", preset: { seeds: [0] }, studentParameters: 10,
    teacher: { accuracy: 0.8, parameters: 100, provenance: provenance("teacher") },
    students: { none: student("none", 0.5), kd: student("kd", 0.6), ntkd: student("ntkd", 0.7) },
  } as unknown as DistillationStudyResult;
}

test("segmentationResults keys by our data set, keeps mean/std/runs without per-seed details, and adds CIFAR-10 only when run", () => {
  const out = segmentationResults({ dataset: "generated-cars", study: handStudy(), fabrication: handFabrication() });
  assert.deepEqual(Object.keys(out), ["generated-cars"]);
  const entry = out["generated-cars"] as Record<string, any>;
  assert.deepEqual(entry.teacher, { meanIoU: 0.9, dice: 0.8 });
  assert.deepEqual(Object.keys(entry.students), ["none", "kd", "ntkd"]);
  assert.deepEqual(Object.keys(entry.students.none).sort(), ["dice", "mean", "runs", "std"]);
  assert.deepEqual(entry.students.none.runs, [0.5, 0.7]);
  assert.deepEqual(entry.students.none.dice.runs, [0.4, 0.6]);
  assert.ok(Math.abs(entry.students.none.std - Math.SQRT2 / 10) < 1e-12);
  assert.deepEqual(entry.fabrication.none, { mean: 0.2, std: 0, runs: [0.2] });
  assert.deepEqual(entry.fabrication.errors, { kernelErrorStd: 0.1 });
  assert.deepEqual(entry.preset, { size: 8, seeds: [0, 1] });
  assert.equal(entry.baseline, undefined, "a study without a baseline writes none");
  const baseline = { meanIoU: 0.4, dice: 0, objectFraction: 0.2 };
  const withBaseline = segmentationResults({ dataset: "generated-cars", study: { ...handStudy(), baseline }, fabrication: handFabrication() });
  assert.deepEqual((withBaseline["generated-cars"] as Record<string, any>).baseline, baseline);

  const withCifar = segmentationResults({ dataset: "generated-cars", study: handStudy(), fabrication: handFabrication(), cifar: handCifarStudy() });
  assert.deepEqual((withCifar.cifar10 as any).teacher, {
    accuracy: 0.8, parameters: 100,
    model: { phase: "teacher", seed: 0, configKey: "{}", configHash: "h-teacher", log: "runs/models-cifar10/quick/checkpoints/teacher.metrics.jsonl", meta: "runs/models-cifar10/quick/checkpoints/teacher.meta.json", weights: "runs/models-cifar10/quick/checkpoints/teacher.weights" },
  });
  const ntkd = (withCifar.cifar10 as any).students.ntkd;
  assert.deepEqual({ mean: ntkd.mean, std: ntkd.std, runs: ntkd.runs }, { mean: 0.7, std: 0, runs: [0.7] });
  assert.deepEqual(ntkd.models.map((m: { accuracy: number; log: string }) => [m.accuracy, m.log]), [[0.7, "runs/models-cifar10/quick/checkpoints/ntkd.metrics.jsonl"]]);
});

test("segmentationReport holds both tables, the named figures and the CIFAR-10 table or the line saying how to add it", () => {
  const without = segmentationReport({ dataset: "generated-cars", study: handStudy(), fabrication: handFabrication(), figures: ["seg-miou"] });
  assert.match(without, /paper Table 3, Carvana column/);
  assert.match(without, /\| Compensation, NTKD \| 50\.0 \| n\/a \| 81\.2 ± 0\.6 \| 1 \|/);
  assert.match(without, /!\[seg-miou\]\(figures\/seg-miou\.svg\)/);
  assert.match(without, /CIFAR-10 was not on disk; run `npm run data:cifar10`/);
  const withCifar = segmentationReport({ dataset: "generated-cars", study: handStudy(), fabrication: handFabrication(), cifar: handCifarStudy() });
  assert.doesNotMatch(withCifar, /not on disk/);
  assert.match(withCifar, /\| NTKD \| 75\.6 ± 0\.9 \| 70\.00 \| 1 \| `h-ntkd` \|/);
});
