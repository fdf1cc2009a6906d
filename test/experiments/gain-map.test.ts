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
import { gainChartRows, gainMapAccuracyRows, gainMapMarkdown, gainMapRows, gainMapSummary, gainVerdict, runGainMap } from "../../src/experiments/gain-map";
import { TINY_STUDY } from "./tiny-preset";

test("runGainMap: a share of the data trains its own paired students, the whole split loads the study's", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const run = openRun("models-mnist", "smoke", { root: fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-gain-map-")) });
  const study = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: TINY_STUDY, methods: ["none", "kd", "ntkd"], run });
  const map = await runGainMap({ dataset: "mnist", mode: "smoke", run, preset: TINY_STUDY, trainFractions: [0.5, 1], seeds: [0, 1], methods: ["none", "kd", "kd+ntkd"] });
  assert.deepEqual(map.points.map((p) => [p.tag, p.trainFraction]), [["f0.5", 0.5], ["protocol", 1]]);
  const [half, protocol] = map.points;
  assert.ok(protocol!.study.students.ntkd!.details.every((d) => d.loaded), "the protocol's students load");
  assert.deepEqual(protocol!.study.students.none!.runs, study.students.none!.runs);
  assert.ok(half!.study.students.none!.details.every((d) => !d.loaded), "the half point trains its own");
  assert.equal(half!.study.teacher.loaded, true, "the teacher is the study's");
  // The share is drawn per class: half of each class, rounded (by hand from the split's labels).
  const labels = Array.from(half!.study.splits.train.labels);
  const halfCount = Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length).reduce((n, k) => n + Math.max(1, Math.round(k / 2)), 0);
  assert.deepEqual(gainMapAccuracyRows(map).map((r) => [r.share, r.images, r.method, r.seeds]), [
    ["50 %", halfCount, "none", 2], ["50 %", halfCount, "kd", 2], ["50 %", halfCount, "kd+ntkd", 2],
    ["all", 256, "none", 1], ["all", 256, "kd", 1], ["all", 256, "ntkd", 1],
  ]);

  const rows = gainMapRows(map);
  assert.deepEqual(rows.map((r) => `${r.trainFraction} ${r.comparison}`), ["0.5 kd − none", "0.5 kd+ntkd − kd", "1 ntkd − kd", "1 ntkd − none", "1 kd − none"]);
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
  assert.equal(gainChartRows(rows).length, 2, "only intervals are drawn");
  assert.match(gainMapMarkdown(rows, "t"), new RegExp(`\\| 50 % \\| ${halfCount} \\| [0-9.]+ \\| kd − none \\| -?[0-9.]+ \\| \\[`));

  const summary = gainMapSummary(map);
  assert.deepEqual(Object.keys(summary), ["f0.5"], "the protocol is the data set's own record");
  assert.equal(summary["f0.5"]!.axis, "studentTrainFraction");
  assert.equal(summary["f0.5"]!.value, 0.5);
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
});
