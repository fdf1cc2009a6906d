/**
 * The study plan without training: job list and dependencies, the Slurm scripts (run against a
 * stand-in sbatch that records its arguments), and merge's checks on stores that hold checkpoints
 * with given config keys. The real round trip (training, Slurm) is test/cli/slurm.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { writeCheckpoint } from "../../src/train/checkpoint";
import { resolvePreset, studentKey, teacherKey } from "../../src/experiments/distillation";
import { jobDir, mergeStudyJobs, modelPath, planDistillationStudy, runStudyJob, slurmScripts, studyStageName, studyStageResults, type StudyJob, type StudyPlan } from "../../src/experiments/study-plan";

const MAIN = path.join(__dirname, "..", "..", "src", "cli", "main.js");
const PRESET = { seeds: [3, 7], teacherEpochs: 1 };

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-plan-"));
}

function tinyPlan(dir: string, launcher = "ntkd-lab"): StudyPlan {
  return planDistillationStudy({ mode: "quick", datasets: ["mnist"], methods: ["none", "ntkd"], preset: PRESET, planPath: path.join(dir, "plan.json"), jobsDir: path.join(dir, "jobs"), launcher });
}

/** A job store holding a checkpoint that carries `configKey` (what a complete job leaves). */
function fakeJobStore(root: string, plan: StudyPlan, job: StudyJob, configKey = job.configKey, value = 1): void {
  writeCheckpoint(modelPath(root, plan, job), { meta: { configKey }, tensors: { weights: [{ shape: [1], data: Float32Array.of(value) }] } });
}

test("plan: one teacher job, then one student per seed and method, each keyed as the study keys its model", () => {
  const dir = tmp();
  const plan = tinyPlan(dir);
  const preset = resolvePreset("mnist", "quick", PRESET);
  assert.deepEqual(plan.jobs.map((j) => [j.id, j.kind, j.method ?? "-", j.seed ?? "-", j.dependsOn.join(",")]), [
    [0, "teacher", "-", "-", ""],
    [1, "student", "none", 3, "0"],
    [2, "student", "ntkd", 3, "0"],
    [3, "student", "none", 7, "0"],
    [4, "student", "ntkd", 7, "0"],
  ]);
  assert.equal(plan.jobs[0]!.configKey, teacherKey("mnist", preset));
  assert.equal(plan.jobs[4]!.configKey, studentKey("mnist", preset, "ntkd", 7, undefined));
  assert.equal(plan.jobs[4]!.file, "student-ntkd-seed7.weights");
  assert.equal(plan.jobs[2]!.command, `ntkd-lab job 2 --plan ${path.join(dir, "plan.json")} --jobs ${path.join(dir, "jobs")}`);
  assert.equal(plan.resolved.mnist!.teacherEpochs, 1);
});

test("stage: a plan naming its frontend, psf included, becomes that row of the hardware table; one that names none, the notebooks' study", () => {
  const dir = tmp();
  const summary = { mode: "quick" as const, datasets: { mnist: { students: { none: { mean: 0.9 } } } }, models: { loaded: 5, trained: 0 } };
  const plain = tinyPlan(dir);
  assert.equal(studyStageName(plain), "study-mnist");
  assert.deepEqual(studyStageResults(plain, summary), summary.datasets);
  for (const frontend of ["psf", "fourier"] as const) {
    const named = planDistillationStudy({ mode: "quick", datasets: ["mnist"], methods: ["none"], preset: { ...PRESET, frontend }, planPath: path.join(dir, `${frontend}.json`), jobsDir: path.join(dir, `jobs-${frontend}`), launcher: "ntkd-lab" });
    assert.equal(studyStageName(named), `study-mnist-${frontend}`);
    assert.deepEqual(studyStageResults(named, summary), { mnist: { frontends: { [frontend]: summary.datasets.mnist } } });
  }
  // Transfer baselines (methods beyond the paper's three) are recorded beside the study, not over it.
  const baselines = planDistillationStudy({ mode: "quick", datasets: ["mnist"], methods: ["sp", "rkd"], preset: PRESET, planPath: path.join(dir, "sp.json"), jobsDir: path.join(dir, "jobs-sp"), launcher: "ntkd-lab" });
  assert.equal(studyStageName(baselines), "study-mnist-sp-rkd");
  assert.deepEqual(studyStageResults(baselines, summary), { mnist: { baselines: summary.datasets.mnist } });
  assert.deepEqual(baselines.jobs.filter((j) => j.kind === "student").map((j) => j.file), ["student-sp-seed3.weights", "student-rkd-seed3.weights", "student-sp-seed7.weights", "student-rkd-seed7.weights"]);
  const onFourier = planDistillationStudy({ mode: "quick", datasets: ["mnist"], methods: ["none", "rkd"], preset: { ...PRESET, frontend: "fourier" }, planPath: path.join(dir, "rkd.json"), jobsDir: path.join(dir, "jobs-rkd"), launcher: "ntkd-lab" });
  assert.equal(studyStageName(onFourier), "study-mnist-fourier-none-rkd");
  assert.deepEqual(studyStageResults(onFourier, summary), { mnist: { frontends: { fourier: { baselines: summary.datasets.mnist } } } });
  // A gain-map point (students on a share of the data) is its own study under gainMap, with its setting.
  const point = planDistillationStudy({ mode: "quick", datasets: ["mnist"], methods: ["none", "kd"], preset: { ...PRESET, studentTrainFraction: 0.1 }, planPath: path.join(dir, "f.json"), jobsDir: path.join(dir, "jobs-f"), launcher: "ntkd-lab" });
  assert.equal(studyStageName(point), "study-mnist-f0.1");
  assert.deepEqual(studyStageResults(point, summary), { mnist: { gainMap: { "f0.1": { axis: "studentTrainFraction", value: 0.1, setting: { studentTrainFraction: 0.1 }, ...summary.datasets.mnist } } } });
  assert.equal(point.jobs[0]!.configKey, plain.jobs[0]!.configKey, "the point's teacher is the study's");
  assert.deepEqual(point.jobs.filter((j) => j.kind === "student").map((j) => j.file), ["student-none-f0.1-seed3.weights", "student-kd-f0.1-seed3.weights", "student-none-f0.1-seed7.weights", "student-kd-f0.1-seed7.weights"]);
  // Every method of a point is the point's own (it has no protocol study to keep baselines apart from).
  const pointBaselines = planDistillationStudy({ mode: "quick", datasets: ["mnist"], methods: ["none", "kd+ntkd", "sp"], preset: { ...PRESET, studentTrainFraction: 0.1 }, planPath: path.join(dir, "fsp.json"), jobsDir: path.join(dir, "jobs-fsp"), launcher: "ntkd-lab" });
  assert.equal(studyStageName(pointBaselines), "study-mnist-f0.1");
  assert.deepEqual(studyStageResults(pointBaselines, summary), { mnist: { gainMap: { "f0.1": { axis: "studentTrainFraction", value: 0.1, setting: { studentTrainFraction: 0.1 }, ...summary.datasets.mnist } } } });
  assert.equal(pointBaselines.jobs[2]!.file, "student-kd+ntkd-f0.1-seed3.weights");
  // The kernel axis crosses the data axis at a share: both settings name the point, its files and its record.
  const k4 = planDistillationStudy({ mode: "quick", datasets: ["mnist"], methods: ["none", "kd"], preset: { ...PRESET, studentTrainFraction: 0.1, studentKernels: 4 }, planPath: path.join(dir, "k4.json"), jobsDir: path.join(dir, "jobs-k4"), launcher: "ntkd-lab" });
  assert.equal(studyStageName(k4), "study-mnist-k4-f0.1");
  assert.deepEqual(studyStageResults(k4, summary), { mnist: { gainMap: { "k4-f0.1": { axis: "studentKernels", value: 4, setting: { studentKernels: 4, studentTrainFraction: 0.1 }, ...summary.datasets.mnist } } } });
  assert.equal(k4.jobs[0]!.configKey, plain.jobs[0]!.configKey, "the kernel axis shares the teacher");
  assert.deepEqual(k4.jobs.filter((j) => j.kind === "student").map((j) => j.file), ["student-none-k4-f0.1-seed3.weights", "student-kd-k4-f0.1-seed3.weights", "student-none-k4-f0.1-seed7.weights", "student-kd-k4-f0.1-seed7.weights"]);
  assert.equal(JSON.parse(k4.jobs[1]!.configKey).kernels, 4);
  // 8 is the Compressed Meta ONN's own count: the same jobs as the data axis's point, so nothing trains twice.
  const k8 = planDistillationStudy({ mode: "quick", datasets: ["mnist"], methods: ["none", "kd"], preset: { ...PRESET, studentTrainFraction: 0.1, studentKernels: 8 }, planPath: path.join(dir, "k8.json"), jobsDir: path.join(dir, "jobs-k8"), launcher: "ntkd-lab" });
  assert.deepEqual(k8.jobs.map((j) => [j.file, j.configKey]), point.jobs.map((j) => [j.file, j.configKey]));
});

test("slurm scripts: the students' array waits (afterok) on the teachers' array; task N runs job N", () => {
  const dir = tmp();
  const plan = tinyPlan(dir, "echo");
  const batchPath = path.join(dir, "study.sbatch");
  const { batch, submit } = slurmScripts(plan, { batchPath, cpusPerTask: 3, logsDir: path.join(dir, "logs"), sbatchOptions: ["--gres=gpu:1"] });
  fs.writeFileSync(batchPath, batch);
  fs.writeFileSync(path.join(dir, "submit.sh"), submit);
  // A stand-in sbatch: records its arguments, answers job ids 41 then 42 as `--parsable` does.
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "sbatch"), `#!/usr/bin/env bash\necho "$*" >> ${dir}/calls\nn=$(wc -l < ${dir}/calls)\necho "$((40 + n));cluster"\n`, { mode: 0o755 });
  const r = spawnSync("bash", [path.join(dir, "submit.sh"), "--partition=short"], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "41 42\n");
  assert.deepEqual(fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n"), [
    `--parsable --array=0-0 --partition=short ${batchPath}`,
    `--parsable --array=1-4 --dependency=afterok:41 --partition=short ${batchPath}`,
  ]);
  assert.match(batch, /^#SBATCH --cpus-per-task=3$/m);
  assert.match(batch, /^#SBATCH --gres=gpu:1$/m);
  const task = spawnSync("bash", [batchPath], { encoding: "utf8", env: { ...process.env, SLURM_ARRAY_TASK_ID: "3", SLURM_CPUS_PER_TASK: "3", NTKD_THREADS: "" } });
  assert.equal(task.stdout, `job 3 --plan ${path.join(dir, "plan.json")} --jobs ${path.join(dir, "jobs")}\n`);
});

test("merge: names a missing or incomplete job, never overwrites a different model, skips an identical one", () => {
  const dir = tmp();
  const plan = tinyPlan(dir);
  const jobs = path.join(dir, "jobs");
  const runs = path.join(dir, "merged", "runs");
  for (const job of plan.jobs.slice(0, 4)) fakeJobStore(jobDir(jobs, job.id), plan, job);
  assert.throws(() => mergeStudyJobs(plan, [jobs], runs), /^InputError: merge: job 4 \(student ntkd seed 7 of mnist\) is missing: no job-4\/ in .*jobs; run `ntkd-lab job 4 --plan /);
  fakeJobStore(jobDir(jobs, 4), plan, plan.jobs[4]!, "another config");
  assert.throws(() => mergeStudyJobs(plan, [jobs], runs), /merge: job 4 \(student ntkd seed 7 of mnist\) is incomplete: .*student-ntkd-seed7\.weights holds a model of other settings/);
  assert.equal(fs.existsSync(runs), false, "nothing is copied while a job is missing");
  // A second folder holds job 4: the first folder holding a job wins, so job 4 comes from there.
  const elsewhere = path.join(dir, "elsewhere");
  fs.rmSync(jobDir(jobs, 4), { recursive: true });
  fakeJobStore(jobDir(elsewhere, 4), plan, plan.jobs[4]!);
  assert.deepEqual(mergeStudyJobs(plan, [jobs, elsewhere], runs), { copied: [0, 1, 2, 3, 4], alreadyPresent: [] });
  assert.deepEqual(fs.readFileSync(modelPath(runs, plan, plan.jobs[4]!)), fs.readFileSync(modelPath(jobDir(elsewhere, 4), plan, plan.jobs[4]!)));
  assert.deepEqual(mergeStudyJobs(plan, [jobs, elsewhere], runs), { copied: [], alreadyPresent: [0, 1, 2, 3, 4] });
  // Same config, other weights: a different model, kept as it is.
  const target = modelPath(runs, plan, plan.jobs[2]!);
  fakeJobStore(path.join(dir, "merged", "runs"), plan, plan.jobs[2]!, plan.jobs[2]!.configKey, 5);
  const before = fs.readFileSync(target);
  assert.throws(() => mergeStudyJobs(plan, [jobs, elsewhere], runs), /merge: .*student-ntkd-seed3\.weights already holds a different model than job 2 \(student ntkd seed 3 of mnist\)/);
  assert.deepEqual(fs.readFileSync(target), before);
});

test("job: a complete store is kept without training; a student waits for its teacher's store", async () => {
  const dir = tmp();
  const plan = tinyPlan(dir);
  const jobs = path.join(dir, "jobs");
  fakeJobStore(jobDir(jobs, 1), plan, plan.jobs[1]!);
  const kept = await runStudyJob(plan, 1, jobs);
  assert.equal(kept.loaded, true);
  await assert.rejects(runStudyJob(plan, 2, jobs), /job 2 needs job 0 \(teacher of mnist\) first: .*job-0 does not exist/);
  fakeJobStore(jobDir(jobs, 3), plan, plan.jobs[3]!, "stale");
  await assert.rejects(runStudyJob(plan, 3, jobs), /job 3 \(student none seed 7 of mnist\): .*job-3 exists but is not this job's complete result .*other settings.*; remove it to train again/);
});

test("plan, job and merge: usage errors are one line, exit 2", () => {
  const dir = tmp();
  const cli = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });
  const cases: [string[], RegExp][] = [
    [["plan", "--quick", "--full"], /^ntkd-lab plan: give one of --smoke, --quick or --full, got --quick and --full/],
    [["plan", "--preset", '{"epochs":1}', "--out", path.join(dir, "p.json")], /^ntkd-lab plan: --preset: unknown setting epochs; expected some of sizes, seeds/],
    [["plan", "--methods", "none,kdd", "--out", path.join(dir, "p.json")], /^ntkd-lab plan: --methods: unknown method "kdd"/],
    [["job", "x", "--plan", "p.json"], /^ntkd-lab job: the job id must be a whole number >= 0, got "x"/],
    [["job", "1", "--plan", path.join(dir, "none.json")], /^ntkd-lab job: --plan .*none\.json: cannot read the plan/],
    [["merge"], /^ntkd-lab merge: --plan is required/],
  ];
  for (const [args, pattern] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  }
});
