import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/runtime/backend";
import { openRun } from "../../src/notebook/run-store";
import { runDistillationStudy } from "../../src/experiments/distillation";
import { frontendTableMarkdown, frontendTableRows, frontendTableSummary, runFrontendTable } from "../../src/experiments/frontend-table";
import type { DistillationPreset } from "../../src/experiments/presets";

const tiny: Partial<DistillationPreset> = {
  sizes: { trainCount: 256, validationCount: 200, testCount: 200 },
  seeds: [0],
  teacherEpochs: 1,
  studentEpochs: 1,
  batchSize: 64,
};

test("the hardware table reuses the psf study's students and trains one study per other frontend", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-frontend-table-"));
  const run = openRun("models-mnist", "smoke", { root });
  const main = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: tiny, methods: ["none"], run });
  const table = await runFrontendTable({ dataset: "mnist", mode: "smoke", run, frontends: ["psf", "ideal"], methods: ["none"], preset: tiny, splits: main.splits });
  assert.deepEqual(table.studies.map((s) => s.frontend), ["psf", "ideal"]);
  const [psf, ideal] = table.studies.map((s) => s.study);
  assert.equal(psf!.students.none!.details[0].loaded, true, "psf is the main study: loaded, not trained again");
  assert.equal(psf!.students.none!.runs[0], main.students.none!.runs[0]);
  assert.equal(ideal!.students.none!.details[0].loaded, false);
  assert.equal(ideal!.preset.frontend, "ideal");
  assert.ok(fs.existsSync(run.checkpointPath("student-none-ideal-seed0.weights")));
  const rows = frontendTableRows(table);
  assert.equal(rows[1]!.frontend, "ideal");
  assert.equal(rows[1]!["No transfer"], (100 * ideal!.students.none!.runs[0]!).toFixed(2));
  const summary = frontendTableSummary(table) as Record<string, { frontend: string; students: { none: { runs: number[] } } }>;
  assert.equal(summary.ideal!.frontend, "ideal");
  assert.deepEqual(summary.psf!.students.none.runs, main.students.none!.runs);
  const md = frontendTableMarkdown(table, "hardware");
  assert.match(md, /\| frontend \| parameters \| seeds \| No transfer \|/);
  assert.match(md, new RegExp(`\\| ideal \\| ${ideal!.studentParameters} \\| 1 \\| ${rows[1]!["No transfer"]} \\|`));
  assert.doesNotMatch(md, /KD/);
  // A rerun loads every frontend's students, and the loaded ideal student is a digital conv.
  const again = await runFrontendTable({ dataset: "mnist", mode: "smoke", run, frontends: ["ideal"], methods: ["none"], preset: tiny, splits: main.splits });
  assert.equal(again.studies[0]!.study.students.none!.details[0].loaded, true);
  assert.equal(again.studies[0]!.study.students.none!.runs[0], ideal!.students.none!.runs[0]);
  await assert.rejects(runFrontendTable({ dataset: "mnist", mode: "smoke", run, frontends: [] }), /frontends is empty/);
  await assert.rejects(runFrontendTable({ dataset: "mnist", mode: "smoke", run, frontends: ["ideal", "ideal"] }), /must name each frontend once/);
});
