import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/runtime/backend";
import { openRun } from "../../src/notebook/run-store";
import { obtainStudent, obtainTeacher, resolvePreset, runDistillationStudy, studySummary } from "../../src/experiments/distillation";
import { comparisonMarkdown, distillationRows, fabricationRows } from "../../src/experiments/report";
import { fabricationSummary, prepareFabrication, runFabricationStudy } from "../../src/experiments/fabrication";
import { loadClassificationSplits } from "../../src/experiments/datasets";
import { readTrainingLog, trainingLogPath } from "../../src/experiments/model-files";
import type { DistillationPreset } from "../../src/experiments/presets";
import { runSegmentationStudy, type SegmentationPreset } from "../../src/experiments/segmentation-study";
import { segmentationMarkdown, segmentationModelsSummary, segmentationRows } from "../../src/experiments/segmentation-report";

const tiny: Partial<DistillationPreset> = {
  sizes: { trainCount: 128, validationCount: 96, testCount: 96 },
  seeds: [0, 1],
  teacherEpochs: 3,
  studentEpochs: 2,
  batchSize: 64,
};

const PHASE_OF_ROW: Record<string, string> = { Teacher: "teacher", "No transfer": "none", KD: "kd", NTKD: "ntkd" };

/** What a row's models must be: the log lines' phase, how many epochs each trained, which weights it reports. */
type Expected = { phase: string; epochs: number; selection: "best-validation" | "last" };

/** Every markdown link `[text](target)` of a table row, with the row's first cell. */
function rowLinks(markdown: string): { row: string; text: string; target: string }[] {
  return markdown
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| method"))
    .flatMap((l) => [...l.matchAll(/\[([^\]]*)\]\(([^)]+)\)/g)].map((m) => ({ row: l.split("|")[1].trim(), text: m[1], target: m[2] })));
}

async function wasm(): Promise<void> {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
}

/**
 * Checks every link of a comparison table resolves from `from` and that each log is that model's
 * own complete log: one line per epoch it trained, 0..n-1, its phase and seed, its config hash;
 * and that its metadata names the best validation epoch the log itself shows.
 */
function checkLinks(markdown: string, from: string, expected: (row: string) => Expected): number {
  const links = rowLinks(markdown);
  for (const link of links) {
    const file = path.resolve(from, link.target);
    assert.ok(fs.existsSync(file), `${link.row}: link ${link.target} does not resolve from ${from}`);
    if (link.text !== "meta") {
      const seed = Number(/^seed (\d+)$/.exec(link.text)?.[1]);
      const { phase, epochs, selection } = expected(link.row);
      const lines = readTrainingLog(file);
      assert.equal(lines.length, epochs, `${link.row} seed ${seed}: ${lines.length} log lines`);
      assert.deepEqual(lines.map((l) => l.epoch), lines.map((_, i) => i), `${link.row}: epochs out of order`);
      for (const l of lines) {
        assert.equal(l.phase, phase);
        assert.equal(l.seed, phase === "teacher" ? 1000 : seed);
      }
      const meta = JSON.parse(fs.readFileSync(file.replace(/\.metrics\.jsonl$/, ".meta.json"), "utf8"));
      assert.ok(lines.every((l) => l.configHash === meta.configHash), `${link.row}: log lines of another configuration`);
      if (selection === "best-validation") {
        const accuracies = lines.map((l) => l.validationAccuracy as number);
        assert.deepEqual(meta.reported, { selection, epoch: accuracies.indexOf(Math.max(...accuracies)), epochsTrained: lines.length });
        assert.match(markdown, new RegExp(`best val epoch ${meta.reported.epoch + 1} of ${lines.length}`));
      } else {
        assert.deepEqual(meta.reported, { selection, epoch: lines.length - 1, epochsTrained: lines.length });
        assert.match(markdown, new RegExp(`last epoch \\(${lines.length}\\)`));
      }
    }
  }
  return links.length;
}

test("the report table links each number to its models' own logs and metadata, from the report fragment and from report.md", async () => {
  await wasm();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-report-"));
  const root = path.join(out, "runs"); // as `reproduce` lays out results/<mode>/
  const models = openRun("models-mnist", "quick", { root });
  const study = await runDistillationStudy({ dataset: "mnist", mode: "quick", preset: tiny, methods: ["none", "ntkd"], run: models });
  const report = openRun("ntkd", "quick", { root });
  const markdown = comparisonMarkdown(distillationRows(study, { linkFrom: report.dir }), "mnist");
  assert.match(markdown, /\| method \| original work \(paper\) \| ours \| n \| config \| weights \| log \|/);
  const epochs = (row: string): Expected => ({ phase: PHASE_OF_ROW[row], epochs: row === "Teacher" ? study.teacher.history.length : 2, selection: "best-validation" });
  // Teacher: log + meta; two methods x two seeds: log + meta each.
  assert.equal(checkLinks(markdown, report.dir, epochs), 2 + 2 * 2 * 2);

  // reproduce re-anchors a fragment's relative links at its run folder (`runs/ntkd/quick/<link>`).
  const runRel = path.relative(out, report.dir).split(path.sep).join("/");
  const anchored = markdown.replace(/\]\((?!https?:|\/|#)([^)]+)\)/g, (_m, link: string) => `](${runRel}/${link})`);
  checkLinks(anchored, out, epochs);

  // summary.json's entries resolve from the folder holding the runs root (summary.json's folder).
  const summary = studySummary(study) as { teacher: { model: { log: string; configKey: string } }; students: Record<string, { models: { seed: number; log: string; meta: string; accuracy: number; reported: { selection: string } }[] }> };
  assert.equal(summary.teacher.model.log, "runs/models-mnist/quick/checkpoints/teacher.metrics.jsonl");
  assert.equal(JSON.parse(summary.teacher.model.configKey).what, "teacher");
  assert.deepEqual(summary.students.ntkd.models.map((m) => m.seed), [0, 1]);
  for (const m of summary.students.ntkd.models) {
    assert.equal(readTrainingLog(path.join(out, m.log)).length, 2);
    assert.ok(fs.existsSync(path.join(out, m.meta)));
    assert.equal(m.reported.selection, "best-validation");
  }

  // A rerun loads every model: the logs stay, byte for byte, and the links still hold.
  const before = fs.readFileSync(study.students.ntkd!.details[1].provenance.log, "utf8");
  const rerun = await runDistillationStudy({ dataset: "mnist", mode: "quick", preset: tiny, methods: ["none", "ntkd"], run: models });
  assert.ok(rerun.teacher.loaded && rerun.students.ntkd!.details.every((d) => d.loaded));
  assert.equal(fs.readFileSync(rerun.students.ntkd!.details[1].provenance.log, "utf8"), before);
  checkLinks(comparisonMarkdown(distillationRows(rerun, { linkFrom: report.dir }), "mnist"), report.dir, epochs);
});

test("a model's log is written while it trains, continues on resume, and is its own again when the model is loaded", async () => {
  await wasm();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-report-log-"));
  const models = openRun("models-mnist", "quick", { root });
  const preset = resolvePreset("mnist", "quick", { ...tiny, seeds: [0], teacherEpochs: 1, studentEpochs: 3 });
  const splits = loadClassificationSplits("mnist", preset.sizes);
  const teacher = await obtainTeacher({ dataset: "mnist", mode: "quick", run: models }, splits, preset);
  const log = trainingLogPath(models.checkpointPath("student-none-seed0.weights"));
  const linesAtStartOf: Record<number, number> = {};
  const interrupted = obtainStudent(
    {
      dataset: "mnist",
      run: models,
      onProgress: (p) => {
        if (p.batch === 0) linesAtStartOf[p.epoch] = readTrainingLog(log).length;
        if (p.epoch === 1 && p.batch === 0) throw new Error("simulated kill");
      },
    },
    splits, preset, teacher.model, "none", 0,
  );
  await assert.rejects(interrupted, /simulated kill/);
  assert.deepEqual(linesAtStartOf, { 0: 0, 1: 1 }, "the log holds each finished epoch while training goes on");

  const resumedAt: Record<number, number> = {};
  const resumed = await obtainStudent(
    { dataset: "mnist", run: models, onProgress: (p) => { if (p.batch === 0) resumedAt[p.epoch] = readTrainingLog(log).length; } },
    splits, preset, teacher.model, "none", 0,
  );
  // The resume starts at epoch 1 with epoch 0 (from the resume checkpoint) already in the log.
  assert.deepEqual(resumedAt, { 1: 1, 2: 2 });
  const lines = readTrainingLog(log);
  assert.deepEqual(lines.map((l) => l.epoch), [0, 1, 2]);
  assert.deepEqual(lines.map((l) => l.trainLoss), resumed.run.history.map((h) => h.trainLoss));
  resumed.student.dispose();

  // Another configuration starts training under the same name and is killed: its partial log replaces this one...
  const other = resolvePreset("mnist", "quick", { ...tiny, seeds: [0], teacherEpochs: 1, studentEpochs: 3, studentLearningRate: 2e-3 });
  await assert.rejects(
    obtainStudent({ dataset: "mnist", run: models, onProgress: (p) => { if (p.epoch === 1) throw new Error("simulated kill"); } }, splits, other, teacher.model, "none", 0),
    /simulated kill/,
  );
  assert.equal(readTrainingLog(log).length, 1);
  // ...but the finished weights are still the first configuration's: loading them restores their own log.
  const loaded = await obtainStudent({ dataset: "mnist", run: models }, splits, preset, teacher.model, "none", 0);
  assert.ok(loaded.run.loaded);
  assert.deepEqual(readTrainingLog(log).map((l) => l.trainLoss), resumed.run.history.map((h) => h.trainLoss));
  assert.ok(readTrainingLog(log).every((l) => l.configHash === loaded.run.provenance.configHash));
  loaded.student.dispose();
  teacher.model.dispose();
});

test("the fabrication table links the measured students and each compensation fine-tune's own log", async () => {
  await wasm();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-report-fab-"));
  const distillRun = openRun("models-mnist", "quick", { root });
  const ctx = await prepareFabrication({ dataset: "mnist", mode: "quick", distillRun, preset: { ...tiny, teacherEpochs: 1 } });
  const study = await runFabricationStudy(ctx, { mode: "quick", settings: { epochs: 2, fraction: 0.5, batchSize: 32 } });
  ctx.teacher.dispose();
  const report = openRun("fabrication", "quick", { root });
  const markdown = comparisonMarkdown(fabricationRows("mnist", study, { linkFrom: report.dir }), "mnist fabricated");
  const expected = (row: string): Expected =>
    row === "Compensation, end-to-end" ? { phase: "compensation-e2e", epochs: 2, selection: "last" }
      : row === "Compensation, NTKD" ? { phase: "compensation-ntkd", epochs: 2, selection: "last" }
        : { phase: "ntkd", epochs: 2, selection: "best-validation" };
  // Four rows, two seeds each, log + meta.
  assert.equal(checkLinks(markdown, report.dir, expected), 4 * 2 * 2);
  const summary = fabricationSummary(study) as { models: { seed: number; ntkd: { log: string; phase: string } }[] };
  assert.deepEqual(summary.models.map((m) => [m.seed, m.ntkd.phase]), [[0, "compensation-ntkd"], [1, "compensation-ntkd"]]);
  assert.equal(readTrainingLog(path.join(path.dirname(root), summary.models[1].ntkd.log)).length, 2);
});

test("the segmentation table links the U-Net and each student's own log, and their last-epoch weights", async () => {
  await wasm();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-report-seg-"));
  const tinySeg: Partial<SegmentationPreset> = {
    size: 8, trainCount: 16, testCount: 8, teacherDepth: 1, teacherBaseFilters: 4, teacherEpochs: 2, studentEpochs: 1,
    groups: [2, 3], decoderWidths: [4], seeds: [0, 1], ntkd: { probes: 2, betaScale: 0.1 },
  };
  const run = openRun("models-seg-generated-cars", "quick", { root });
  const study = await runSegmentationStudy({ dataset: "generated-cars", run, mode: "quick", preset: tinySeg });
  const report = openRun("segmentation", "quick", { root });
  const markdown = segmentationMarkdown(segmentationRows(study, { linkFrom: report.dir }), "seg", "generated-cars");
  assert.match(markdown, /\| method \| original work \(paper, Carvana mIoU\) \| ours \(mIoU, generated-cars\) \|/);
  const phases: Record<string, string> = { "Teacher (U-Net)": "seg-teacher", "No transfer": "seg-none", KD: "seg-kd", NTKD: "seg-ntkd" };
  const expected = (row: string): Expected => ({ phase: phases[row], epochs: row === "Teacher (U-Net)" ? 2 : 1, selection: "last" });
  assert.equal(checkLinks(markdown, report.dir, expected), 2 + 3 * 2 * 2);
  const summary = segmentationModelsSummary(study);
  assert.equal(summary.teacher?.log, `${path.basename(root)}/models-seg-generated-cars/quick/checkpoints/seg-teacher.metrics.jsonl`);
  assert.deepEqual(summary.students.kd.map((m) => [m.seed, m.phase]), [[0, "seg-kd"], [1, "seg-kd"]]);
});
