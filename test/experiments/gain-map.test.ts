/**
 * The gain map on a tiny study: points below 1 train their own students on a share of the data,
 * the protocol point loads the study's, and the rows pair methods by seed (checked by hand).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/runtime/backend";
import { openRun } from "../../src/notebook/run-store";
import { runDistillationStudy } from "../../src/experiments/distillation";
import { gainChartRows, gainMapAccuracyRows, gainMapMarkdown, gainMapRows, gainMapSummary, gainVerdict, paperRegime, runGainMap } from "../../src/experiments/gain-map";
import { TINY_STUDY } from "./tiny-preset";

test("runGainMap: a share of the data trains its own paired students, the whole split loads the study's", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const run = openRun("models-mnist", "smoke", { root: fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-gain-map-")) });
  const study = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: TINY_STUDY, methods: ["none", "kd", "ntkd"], run });
  const map = await runGainMap({
    dataset: "mnist", mode: "smoke", run, preset: TINY_STUDY, trainFractions: [0.5, 1], seeds: [0, 1], methods: ["none", "kd", "kd+ntkd"],
    // 8 is the Compressed Meta ONN's own count: the data axis's point at 0.5, not trained twice.
    kernels: { counts: [2, 8], trainFraction: 0.5 },
  });
  assert.deepEqual(map.points.map((p) => [p.tag, p.trainFraction, p.kernels, p.axes]), [
    ["f0.5", 0.5, 8, ["data", "kernels"]], ["protocol", 1, 8, ["data"]], ["k2-f0.5", 0.5, 2, ["kernels"]],
  ]);
  const [half, protocol, two] = map.points;
  assert.equal(two!.study.teacher.loaded, true, "the kernel axis shares the teacher");
  assert.ok(two!.study.students.none!.details.every((d) => !d.loaded));
  assert.ok(fs.existsSync(run.checkpointPath("student-none-k2-f0.5-seed1.weights")), "the kernel count names the file");
  // Six kernels fewer: six 7x7 PSFs and their 6·49 binned features into 128 hidden units fewer (by hand).
  assert.equal(half!.study.studentParameters - two!.study.studentParameters, 6 * 49 + 6 * 49 * 128);
  assert.ok(protocol!.study.students.ntkd!.details.every((d) => d.loaded), "the protocol's students load");
  assert.deepEqual(protocol!.study.students.none!.runs, study.students.none!.runs);
  assert.ok(half!.study.students.none!.details.every((d) => !d.loaded), "the half point trains its own");
  assert.equal(half!.study.teacher.loaded, true, "the teacher is the study's");
  // The share is drawn per class: half of each class, rounded (by hand from the split's labels).
  const labels = Array.from(half!.study.splits.train.labels);
  const halfCount = Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length).reduce((n, k) => n + Math.max(1, Math.round(k / 2)), 0);
  assert.deepEqual(gainMapAccuracyRows(map).map((r) => [r.share, r.kernels, r.images, r.method, r.seeds]), [
    ["50 %", 8, halfCount, "none", 2], ["50 %", 8, halfCount, "kd", 2], ["50 %", 8, halfCount, "kd+ntkd", 2],
    ["all", 8, 256, "none", 1], ["all", 8, 256, "kd", 1], ["all", 8, 256, "ntkd", 1],
    ["50 %", 2, halfCount, "none", 2], ["50 %", 2, halfCount, "kd", 2], ["50 %", 2, halfCount, "kd+ntkd", 2],
  ]);

  const rows = gainMapRows(map);
  assert.deepEqual(rows.map((r) => `${r.trainFraction} k${r.kernels} ${r.comparison}`), [
    "0.5 k8 kd − none", "0.5 k8 kd+ntkd − kd", "1 k8 ntkd − kd", "1 k8 ntkd − none", "1 k8 kd − none", "0.5 k2 kd − none", "0.5 k2 kd+ntkd − kd",
  ]);
  // KD + NTKD's students are files of their own in the run store, beside the point's others.
  assert.ok(fs.existsSync(run.checkpointPath("student-kd+ntkd-f0.5-seed1.weights")));
  // By hand: the per-seed differences, their mean, and t(0.975, 1) = 12.7062 · std / √2.
  const acc = (m: "none" | "kd") => half!.study.students[m]!.details.map((d) => d.accuracy);
  const diffs = acc("kd").map((a, i) => a - acc("none")[i]!);
  const mean = (diffs[0]! + diffs[1]!) / 2;
  const std = Math.abs(diffs[0]! - diffs[1]!) / Math.SQRT2;
  const d = rows[0]!.difference!;
  assert.ok(Math.abs(d.mean - mean) < 1e-12);
  assert.ok(Math.abs(d.interval[1] - (mean + (12.7062 * std) / Math.SQRT2)) < 1e-4);
  assert.equal(rows[0]!.noTransfer, half!.study.students.none!.mean);
  assert.equal(rows[2]!.difference, null, "one seed at the protocol: no interval");
  assert.equal(gainVerdict(null), "one seed");
  const chart = gainChartRows(rows);
  assert.deepEqual(chart.map((c) => [c.point, c.axis]), [
    [`50 % of the data, 8 kernels (${halfCount} images)`, "data"], [`50 % of the data, 8 kernels (${halfCount} images)`, "data"],
    [`50 % of the data, 2 kernels (${halfCount} images)`, "kernels"], [`50 % of the data, 2 kernels (${halfCount} images)`, "kernels"],
  ], "only intervals are drawn");
  assert.match(gainMapMarkdown(rows, "t"), new RegExp(`\\| 50 % \\| 2 \\| ${halfCount} \\| [0-9.]+ \\| kd − none \\| -?[0-9.]+ \\| \\[`));

  const summary = gainMapSummary(map);
  assert.deepEqual(Object.keys(summary), ["f0.5", "k2-f0.5"], "the protocol is the data set's own record");
  assert.equal(summary["f0.5"]!.axis, "studentTrainFraction");
  assert.equal(summary["f0.5"]!.value, 0.5);
  assert.deepEqual([summary["k2-f0.5"]!.axis, summary["k2-f0.5"]!.value, summary["k2-f0.5"]!.setting], ["studentKernels", 2, { studentKernels: 2, studentTrainFraction: 0.5 }]);
  assert.ok(Math.abs((summary["f0.5"]!.gains as Record<string, { mean: number }>)["kd-none"]!.mean - mean) < 1e-12);
});

test("runGainMap rejects what it cannot map, naming the argument", async () => {
  const run = openRun("models-mnist", "smoke", { root: fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-gain-map-")) });
  const base = { dataset: "mnist" as const, mode: "smoke" as const, run, preset: TINY_STUDY };
  await assert.rejects(runGainMap({ ...base, trainFractions: [] }), /runGainMap: trainFractions is empty/);
  await assert.rejects(runGainMap({ ...base, trainFractions: [0] }), /runGainMap: trainFractions holds 0; expected numbers in \(0, 1\]/);
  await assert.rejects(runGainMap({ ...base, trainFractions: [0.5, 0.5] }), /trainFractions holds 0\.5 twice/);
  await assert.rejects(runGainMap({ ...base, trainFractions: [0.5], methods: ["none", "dk"] }), /methods holds dk; expected some of none, kd/);
  await assert.rejects(runGainMap({ ...base, trainFractions: [0.5], methods: ["kd"] }), /methods must include "none"/);
  await assert.rejects(runGainMap({ ...base, trainFractions: [1], kernels: { counts: [0], trainFraction: 0.5 } }), /kernels\.counts holds 0; expected integers >= 1/);
  await assert.rejects(runGainMap({ ...base, trainFractions: [1], kernels: { counts: [2, 2], trainFraction: 0.5 } }), /kernels\.counts holds 2 twice/);
  await assert.rejects(runGainMap({ ...base, trainFractions: [1], kernels: { counts: [], trainFraction: 0.5 } }), /kernels\.counts is empty/);
  await assert.rejects(runGainMap({ ...base, trainFractions: [1], kernels: { counts: [2], trainFraction: 2 } }), /kernels\.trainFraction is 2; expected a number in \(0, 1\]/);
});

test("paperRegime: the point whose no-transfer students come closest to the paper's, among those with two seeds of none, KD and NTKD", () => {
  const students = (none: number[], kd: number[], ntkd?: number[]) => {
    const s = (runs: number[]) => ({ mean: runs.reduce((a, b) => a + b, 0) / runs.length, std: 0, runs, details: [] });
    return { none: s(none), kd: s(kd), ...(ntkd ? { ntkd: s(ntkd) } : {}) };
  };
  const point = (tag: string, st: object) => ({ trainFraction: 0.1, kernels: 8, axes: ["data" as const], tag, study: { students: st } as never });
  const paper = { none: { mean: 0.914, std: 0.008 }, kd: { mean: 0.959 }, ntkd: { mean: 0.973 } };
  const map = {
    dataset: "mnist" as const,
    points: [
      point("a", students([0.95, 0.95], [0.96, 0.96], [0.97, 0.97])), // 3.6 points off
      point("b", students([0.91, 0.92], [0.9, 0.9])), // closest (0.1), but no NTKD: not eligible
      point("c", students([0.90, 0.90], [0.91, 0.91], [0.92, 0.92])), // 1.4 points off
      point("d", students([0.914], [0.95], [0.96])), // exact, but one seed
    ],
  };
  const r = paperRegime(map, paper)!;
  assert.equal(r.point.tag, "c");
  assert.deepEqual(r.rows.map((x) => [x.method, x.ours.mean, x.paper.mean]), [["none", 0.9, 0.914], ["kd", 0.91, 0.959], ["ntkd", 0.92, 0.973]]);
  assert.equal(paperRegime({ dataset: "mnist", points: [map.points[1]!] }, paper), null);
});
