import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/runtime/backend";
import { openRun } from "../../src/notebook/run-store";
import { obtainStudent, resolvePreset, runDistillationStudy, studentKey, studentTag, studentTrainingSet, studySummary, teacherKey, type PoolProgress } from "../../src/experiments/distillation";
import { MetasurfaceFrontend } from "../../src/models/frontends/metasurface-frontend";
import { PsfConvFrontend } from "../../src/models/frontends/psf-conv";
import { loadClassificationSplits } from "../../src/experiments/datasets";
import * as tf from "@tensorflow/tfjs";
import { summarizeRuns } from "../../src/experiments/stats";
import type { DistillationPreset } from "../../src/experiments/presets";
import { TINY_STUDY } from "./tiny-preset";

const tiny: Partial<DistillationPreset> = { ...TINY_STUDY, seeds: [0, 1] };

test("summarizeRuns gives the mean and the sample standard deviation, and rejects NaN", () => {
  const s = summarizeRuns([0.9, 0.92, 0.94]);
  assert.ok(Math.abs(s.mean - 0.92) < 1e-12);
  assert.ok(Math.abs(s.std - 0.02) < 1e-12);
  assert.throws(() => summarizeRuns([0.9, Number.NaN], "kd accuracies"), /kd accuracies\[1\] is NaN/);
});

test("a student's config key holds its own method's settings only: tuning NTKD keeps the other students", () => {
  const base = resolvePreset("mnist", "full");
  const tunedNtkd = { ...base, ntkd: { ...base.ntkd, betaScale: base.ntkd.betaScale * 2 } };
  const tunedKd = { ...base, kd: { ...base.kd, temperature: base.kd.temperature + 1 } };
  const longer = { ...base, studentEpochs: base.studentEpochs + 1 };
  const key = (p: DistillationPreset, m: "none" | "kd" | "ntkd") => studentKey("mnist", p, m, 0, undefined);
  assert.equal(key(tunedNtkd, "none"), key(base, "none"));
  assert.equal(key(tunedNtkd, "kd"), key(base, "kd"));
  assert.notEqual(key(tunedNtkd, "ntkd"), key(base, "ntkd"));
  assert.equal(key(tunedKd, "ntkd"), key(base, "ntkd"));
  assert.notEqual(key(tunedKd, "kd"), key(base, "kd"));
  for (const m of ["none", "kd", "ntkd"] as const) assert.notEqual(key(longer, m), key(base, m), `${m}: epochs are part of every key`);
  assert.notEqual(studentKey("mnist", base, "none", 0, undefined), studentKey("mnist", base, "none", 1, undefined));
  // The relational baselines: their settings (defaults filled in) enter their own keys only.
  const tunedSp = { ...base, sp: { weight: 10 } };
  const tunedRkd = { ...base, rkd: { weight: 2, distanceWeight: 25, angleWeight: 50 } };
  for (const m of ["none", "kd", "ntkd"] as const) assert.equal(key(tunedRkd, m), key(tunedSp, m), `${m} ignores SP and RKD settings`);
  assert.equal(key(tunedSp, "none"), key(base, "none"));
  const anyKey = (p: DistillationPreset, m: "sp" | "rkd") => studentKey("mnist", p, m, 0, undefined);
  assert.notEqual(anyKey(tunedSp, "sp"), anyKey(base, "sp"));
  assert.equal(anyKey(tunedSp, "rkd"), anyKey(base, "rkd"));
  assert.equal(anyKey({ ...base, sp: { weight: 3000 } }, "sp"), anyKey(base, "sp"), "an explicit default is the default");
  assert.notEqual(anyKey(tunedRkd, "rkd"), anyKey(base, "rkd"));
  assert.notEqual(anyKey(base, "sp"), anyKey(base, "rkd"));
});

test("a study in worker processes reproduces the in-process study exactly, and a rerun loads every model", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-study-"));
  const inProcess = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: tiny, methods: ["none", "ntkd"], run: openRun("distill-mnist", "a", { root }) });
  const summary = studySummary(inProcess) as { teacher: { accuracy: number }; students: Record<string, { runs: number[] }> };
  assert.equal(summary.students.none.runs.length, 2);
  // Paired by seed: two seeds give one degree of freedom, so the 95 % half-width is 12.706 · std / √2.
  const gains = (summary as unknown as { gains: Record<string, { mean: number; interval: [number, number]; seeds: number[] }> }).gains;
  assert.deepEqual(Object.keys(gains), ["ntkd-none"]);
  const diffs = [0, 1].map((i) => summary.students.ntkd.runs[i] - summary.students.none.runs[i]);
  const mean = (diffs[0] + diffs[1]) / 2;
  const half = (12.7062 * Math.abs(diffs[0] - diffs[1])) / Math.sqrt(2) / Math.sqrt(2);
  assert.ok(Math.abs(gains["ntkd-none"].mean - mean) < 1e-12);
  assert.ok(Math.abs(gains["ntkd-none"].interval[1] - (mean + half)) < 1e-4 * Math.max(1, half));
  assert.deepEqual(gains["ntkd-none"].seeds, [0, 1]);
  assert.ok(summary.teacher.accuracy > 0.15, `teacher ${summary.teacher.accuracy} after one epoch on 256 images (chance is 0.1)`);

  // Same settings in a second run folder, students trained by two worker processes.
  fs.cpSync(path.join(root, "distill-mnist", "a", "checkpoints", "teacher.weights"), path.join(root, "distill-mnist", "b", "checkpoints", "teacher.weights"));
  const pool: PoolProgress[] = [];
  const parallel = await runDistillationStudy({
    dataset: "mnist", mode: "smoke", preset: tiny, methods: ["none", "ntkd"], run: openRun("distill-mnist", "b", { root }), workers: 2,
    onPoolProgress: (p) => pool.push(structuredClone(p)),
  });
  // The workers' own training progress reaches the parent: each job's last batch at least.
  for (const method of ["none", "ntkd"] as const) {
    assert.ok(pool.some((p) => p.running.some((r) => r.phase === method && r.epoch === r.epochs - 1 && r.batch === r.batches - 1)), `no progress from the ${method} workers`);
  }
  assert.deepEqual(pool.at(-1), { jobs: 4, finished: 4, running: [] });
  for (const method of ["none", "ntkd"] as const) {
    assert.deepEqual(parallel.students[method]!.runs, inProcess.students[method]!.runs, `${method}: workers and in-process differ`);
    assert.ok(parallel.students[method]!.details.every((d) => d.loaded), `${method}: the parent retrained instead of loading`);
  }

  const rerun = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: tiny, methods: ["none", "ntkd"], run: openRun("distill-mnist", "a", { root }) });
  assert.ok(rerun.teacher.loaded);
  assert.deepEqual(rerun.students.ntkd!.runs, inProcess.students.ntkd!.runs);
  // A changed student setting retrains the students but keeps the teacher.
  const changed = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: { ...tiny, seeds: [0], studentLearningRate: 5e-3 }, methods: ["none"], run: openRun("distill-mnist", "a", { root }) });
  assert.ok(changed.teacher.loaded);
  assert.equal(changed.students.none!.details[0].loaded, false);
});

test("a changed configuration never resumes from another configuration's training checkpoint", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-study-resume-"));
  const run = openRun("distill-mnist", "a", { root });
  const longer = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: { ...tiny, seeds: [0], studentEpochs: 2 }, methods: ["none"], run });
  assert.equal(longer.students.none!.details[0].history.length, 2);
  // Same run store, fewer epochs: the 2-epoch training checkpoint must not count as "done".
  const shorter = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: { ...tiny, seeds: [0], studentEpochs: 1 }, methods: ["none"], run });
  assert.equal(shorter.students.none!.details[0].loaded, false);
  assert.equal(shorter.students.none!.details[0].history.length, 1);
});

test("asking for the architecture's own kernel count by number loads the study's student; another count trains its own", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-study-kernels-"));
  const run = openRun("distill-mnist", "a", { root });
  const preset = resolvePreset("mnist", "smoke", { ...tiny, seeds: [0] });
  const study = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset, methods: ["none"], run });
  const splits = loadClassificationSplits("mnist", preset.sizes);
  const teacher = tf.sequential();
  // The Compressed Meta ONN's own count is 8 (paper Table 2).
  const same = await obtainStudent({ dataset: "mnist", run }, splits, preset, teacher, "none", 0, 8);
  assert.equal(same.run.loaded, true);
  assert.equal(same.run.accuracy, study.students.none!.runs[0]);
  same.student.dispose();
  const fewer = await obtainStudent({ dataset: "mnist", run }, splits, preset, teacher, "none", 0, 4);
  assert.equal(fewer.run.loaded, false);
  assert.equal(fewer.student.frontend.kernelCount, 4);
  fewer.student.dispose();
});

test("the frontend is part of a student's key and file name, except the default psf, whose keys stay as they were", () => {
  const base = resolvePreset("mnist", "full");
  // The key of the default student, written out by hand: "frontend" appears nowhere in it.
  const expected = JSON.stringify({
    dataset: "mnist", what: "student", method: "none", seed: 0,
    preset: { batchSize: 128, teacherLearningRate: 0.002, studentLearningRate: 0.01, studentCosine: true, teacherCosine: true, sizes: { validationCount: 10000 }, seeds: [], teacherEpochs: 15, studentEpochs: 15, patience: 5 },
  });
  assert.equal(studentKey("mnist", base, "none", 0, undefined), expected);
  assert.equal(studentKey("mnist", { ...base, frontend: "psf" }, "none", 0, undefined), expected);
  const keys = new Set(["psf", "metasurface", "fourier", "ideal"].map((f) => studentKey("mnist", { ...base, frontend: f as DistillationPreset["frontend"] }, "none", 0, undefined)));
  assert.equal(keys.size, 4);
  assert.equal(studentTag("kd", 2), "kd-seed2");
  assert.equal(studentTag("kd", 2, undefined, "psf"), "kd-seed2");
  assert.equal(studentTag("kd", 2, 4, "metasurface"), "kd-metasurface-k4-seed2");
  assert.throws(() => resolvePreset("mnist", "full", { frontend: "lens" as never }), /preset\.frontend: expected one of ideal, psf, metasurface, fourier, got "lens"/);
});

test("a study with the metasurface frontend trains students whose optics are pillar heights, beside the psf students", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-study-frontend-"));
  const run = openRun("distill-mnist", "a", { root });
  const small = { ...tiny, seeds: [0] };
  const psf = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: small, methods: ["none"], run });
  const meta = await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: { ...small, frontend: "metasurface" }, methods: ["none"], run });
  assert.equal(meta.teacher.loaded, true, "the teacher does not depend on the students' frontend");
  assert.equal(meta.students.none!.details[0].loaded, false);
  assert.ok(fs.existsSync(run.checkpointPath("student-none-metasurface-seed0.weights")));
  assert.ok(fs.existsSync(run.checkpointPath("student-none-seed0.weights")));
  assert.equal((studySummary(meta) as { frontend: string }).frontend, "metasurface");
  assert.equal((studySummary(psf) as { frontend: string }).frontend, "psf");
  // Loading each back builds the right optical layer and gives the recorded accuracy.
  const splits = loadClassificationSplits("mnist", resolvePreset("mnist", "smoke", small).sizes);
  const teacher = tf.sequential();
  const again = await obtainStudent({ dataset: "mnist", run }, splits, resolvePreset("mnist", "smoke", { ...small, frontend: "metasurface" }), teacher, "none", 0);
  assert.equal(again.run.loaded, true);
  assert.ok(again.student.frontend instanceof MetasurfaceFrontend);
  assert.equal(again.run.accuracy, meta.students.none!.runs[0]);
  again.student.dispose();
  const plain = await obtainStudent({ dataset: "mnist", run }, splits, resolvePreset("mnist", "smoke", small), teacher, "none", 0);
  assert.ok(plain.student.frontend instanceof PsfConvFrontend);
  assert.equal(plain.run.accuracy, psf.students.none!.runs[0]);
  plain.student.dispose();
});

test("studentTrainFraction: students learn from a fixed, stratified share of the training split; the teacher from all of it", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-study-fraction-"));
  const run = openRun("distill-mnist", "a", { root });
  const whole = resolvePreset("mnist", "smoke", { ...tiny, seeds: [0] });
  const quarter = resolvePreset("mnist", "smoke", { ...tiny, seeds: [0], studentTrainFraction: 0.25 });
  const splits = loadClassificationSplits("mnist", whole.sizes);
  // The share: a quarter of each class (rounded), the same images for every call, hence every seed and method.
  const share = studentTrainingSet(splits.train, 0.25);
  const perClass = (ds: typeof share) => Array.from({ length: 10 }, (_, c) => ds.labels.filter((l) => l === c).length);
  assert.deepEqual(perClass(share), perClass(splits.train).map((n) => Math.max(1, Math.round(n / 4))));
  assert.deepEqual(Array.from(studentTrainingSet(splits.train, 0.25).labels), Array.from(share.labels));
  assert.equal(studentTrainingSet(splits.train, undefined), splits.train);
  assert.equal(teacherKey("mnist", quarter), teacherKey("mnist", whole), "the teacher is the study's own");
  assert.notEqual(studentKey("mnist", quarter, "none", 0, undefined), studentKey("mnist", whole, "none", 0, undefined));
  assert.equal(studentTag("ntkd", 3, undefined, undefined, 0.1), "ntkd-f0.1-seed3");
  // The student's epochs run over the share: 256 images at batch 64 are 4 batches, the share's ~64 images 1 or 2.
  const batches = async (preset: DistillationPreset) => {
    let seen = 0;
    const { student } = await obtainStudent({ dataset: "mnist", run, onProgress: (p) => (seen = Math.max(seen, p.batches)) }, splits, preset, tf.sequential(), "none", 0);
    student.dispose();
    return seen;
  };
  assert.equal(await batches(whole), 4);
  assert.ok(share.count >= 60 && share.count <= 70, `share of ${share.count} images`);
  assert.equal(await batches(quarter), Math.ceil(share.count / 64));
  for (const bad of [0, 1.5, "half"]) {
    assert.throws(() => resolvePreset("mnist", "full", { studentTrainFraction: bad as never }), /preset\.studentTrainFraction: expected a number in \(0, 1\], got /);
  }
});

test("studentKernelSize: the students' kernel side, named in their keys and files unless it is the paper's 7", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const run = openRun("distill-mnist", "a", { root: fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-study-kernel-size-")) });
  const whole = resolvePreset("mnist", "smoke", { ...tiny, seeds: [0] });
  const five = resolvePreset("mnist", "smoke", { ...tiny, seeds: [0], studentKernelSize: 5 });
  const splits = loadClassificationSplits("mnist", whole.sizes);
  const { student, run: r } = await obtainStudent({ dataset: "mnist", run }, splits, five, tf.sequential(), "none", 0, 2);
  assert.equal(student.frontend.kernelSize, 5);
  assert.deepEqual([JSON.parse(r.provenance.configKey).kernels, JSON.parse(r.provenance.configKey).kernelSize], [2, 5]);
  assert.ok(fs.existsSync(run.checkpointPath("student-none-k2-5px-seed0.weights")));
  student.dispose();
  assert.equal(studentTag("none", 0, 2, undefined, 0.1, 5), "none-k2-5px-f0.1-seed0");
  assert.equal(teacherKey("mnist", five), teacherKey("mnist", whole));
  // The paper's 7 is the default student: the same key as asking for nothing.
  const seven = resolvePreset("mnist", "smoke", { ...tiny, seeds: [0], studentKernelSize: 7 });
  assert.equal(studentKey("mnist", seven, "none", 0, undefined), studentKey("mnist", whole, "none", 0, undefined));
  assert.notEqual(studentKey("mnist", five, "none", 0, undefined), studentKey("mnist", whole, "none", 0, undefined));
  for (const bad of [0, 4, 2.5, "five"]) {
    assert.throws(() => resolvePreset("mnist", "full", { studentKernelSize: bad as never }), /preset\.studentKernelSize: expected an odd integer >= 1 \(kernel side in sensor pixels\), got /);
  }
});

test("studentKernels: the students' optical kernel count, named in their keys and files unless it is the architecture's", async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const run = openRun("distill-mnist", "a", { root: fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-study-kernels-")) });
  const whole = resolvePreset("mnist", "smoke", { ...tiny, seeds: [0] });
  const two = resolvePreset("mnist", "smoke", { ...tiny, seeds: [0], studentKernels: 2 });
  const splits = loadClassificationSplits("mnist", whole.sizes);
  const { student, run: r } = await obtainStudent({ dataset: "mnist", run }, splits, two, tf.sequential(), "none", 0);
  assert.equal(student.frontend.kernelCount, 2);
  assert.equal(JSON.parse(r.provenance.configKey).kernels, 2);
  assert.ok(fs.existsSync(run.checkpointPath("student-none-k2-seed0.weights")));
  student.dispose();
  assert.equal(teacherKey("mnist", two), teacherKey("mnist", whole));
  // The Compressed Meta ONN's own 8: the default student's key, so its model loads instead of training again.
  const eight = resolvePreset("mnist", "smoke", { ...tiny, seeds: [0], studentKernels: 8 });
  const first = await obtainStudent({ dataset: "mnist", run }, splits, whole, tf.sequential(), "none", 0);
  const again = await obtainStudent({ dataset: "mnist", run }, splits, eight, tf.sequential(), "none", 0);
  assert.equal(again.run.loaded, true);
  assert.equal(again.run.accuracy, first.run.accuracy);
  first.student.dispose();
  again.student.dispose();
  for (const bad of [0, 2.5, "four"]) {
    assert.throws(() => resolvePreset("mnist", "full", { studentKernels: bad as never }), /preset\.studentKernels: expected an integer >= 1, got /);
  }
});
