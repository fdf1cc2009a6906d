import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { openRun, type RunStore } from "../../src/notebook/run-store";
import { obtainStudent, obtainTeacher, resolvePreset, runDistillationStudy, type StudyProgress } from "../../src/experiments/distillation";
import { loadClassificationSplits } from "../../src/experiments/datasets";
import { trainStudentsInWorkers, type StudentJob, type WorkerResult } from "../../src/experiments/workers";
import { TINY_STUDY } from "./tiny-preset";
import { alive, childrenOf, hasProc, waitFor } from "../processes";

/**
 * Two run folders with the same trained teacher: "a" for students trained in this process (the
 * truth), "b" for the workers'.
 */
const setup = (async () => {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm", threads: 1 });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-workers-"));
  const a = openRun("workers", "a", { root });
  await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: TINY_STUDY, methods: [], run: a });
  const b = openRun("workers", "b", { root });
  fs.cpSync(path.join(a.dir, "checkpoints", "teacher.weights"), path.join(b.dir, "checkpoints", "teacher.weights"));
  return { root, a, b };
})();

after(async () => fs.rmSync((await setup).root, { recursive: true, force: true }));

function pool(run: RunStore, jobs: StudentJob[], extra: { onProgress?: (job: StudentJob, p: StudyProgress) => void; onJobDone?: (r: WorkerResult) => void } = {}) {
  return trainStudentsInWorkers({ dataset: "mnist", mode: "smoke", preset: TINY_STUDY, run, jobs, workers: 1, ...extra });
}

test("one worker trains three jobs in one process, each student the same as one trained in this process, and is gone after", { skip: !hasProc && "needs /proc" }, async () => {
  const { a, b } = await setup;
  const jobs: StudentJob[] = [{ method: "none", seed: 0 }, { method: "kd", seed: 1 }, { method: "none", seed: 1, kernels: 4 }];
  const progress: Array<{ job: StudentJob; p: StudyProgress }> = [];
  const done: WorkerResult[] = [];
  const results = await pool(b, jobs, { onProgress: (job, p) => progress.push({ job, p }), onJobDone: (r) => done.push(r) });

  assert.deepEqual(results.map((r) => r.job), jobs);
  assert.deepEqual(done, results);
  const pids = new Set(results.map((r) => r.pid));
  assert.equal(pids.size, 1, `three jobs on one worker ran in processes ${[...pids]}`);
  const [pid] = pids;
  assert.notEqual(pid, process.pid);
  assert.equal(alive(pid), false, `worker ${pid} outlived its pool`);
  assert.deepEqual(childrenOf(process.pid), []);
  assert.ok(results.every((r) => !r.loaded), "the workers found students they should have trained");
  for (const job of jobs) {
    const last = progress.find(({ job: j, p }) => j === job && p.epoch === p.epochs - 1 && p.batch === p.batches - 1);
    assert.ok(last && last.p.phase === job.method && last.p.seed === job.seed, `no last-batch progress for ${JSON.stringify(job)}`);
  }

  // The truth: the same students trained here, one after another, in run folder "a".
  const preset = resolvePreset("mnist", "smoke", TINY_STUDY);
  const splits = loadClassificationSplits("mnist", preset.sizes);
  const teacher = await obtainTeacher({ dataset: "mnist", mode: "smoke", run: a }, splits, preset);
  assert.ok(teacher.loaded);
  const before = tf.memory().numTensors;
  for (const [i, job] of jobs.entries()) {
    const here = await obtainStudent({ dataset: "mnist", run: a }, splits, preset, teacher.model, job.method, job.seed, job.kernels);
    const theirs = await obtainStudent({ dataset: "mnist", run: b }, splits, preset, teacher.model, job.method, job.seed, job.kernels);
    assert.equal(here.run.loaded, false);
    assert.equal(theirs.run.loaded, true, `${JSON.stringify(job)}: the worker's student is not in the run store under its config key`);
    assert.equal(results[i].accuracy, here.run.accuracy, `${JSON.stringify(job)}: worker and in-process accuracies differ`);
    assert.deepEqual(theirs.run.history.map((h) => h.trainLoss), here.run.history.map((h) => h.trainLoss));
    const w = (s: typeof here.student) => s.model.getWeights().map((t) => Array.from(t.dataSync()));
    assert.deepEqual(w(theirs.student), w(here.student), `${JSON.stringify(job)}: worker and in-process weights differ`);
    here.student.dispose();
    theirs.student.dispose();
  }
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  teacher.model.dispose();
});

test("a failing job rejects with the worker's error after the other jobs finish, in a fresh worker; none is left running", { skip: !hasProc && "needs /proc" }, async () => {
  const { b } = await setup;
  const done: WorkerResult[] = [];
  // kernels: 0 passes the parent's checks and fails in the worker, when the student is built.
  const jobs: StudentJob[] = [{ method: "none", seed: 0 }, { method: "none", seed: 0, kernels: 0 }, { method: "none", seed: 0, kernels: 4 }];
  await assert.rejects(pool(b, jobs, { onJobDone: (r) => done.push(r) }), (e: Error) => {
    // The job's error first, then the worker's stderr (its stack).
    assert.match(e.message, /^worker \d+ for none seed 0 failed \(exit 1\): PsfConvFrontend: kernels must be an integer >= 1, got 0\n {4}at /);
    return true;
  });
  assert.deepEqual(done.map((r) => r.job), [jobs[0], jobs[2]]);
  assert.notEqual(done[0].pid, done[1].pid, "the job after a failure ran in the failed worker");
  assert.deepEqual(done.map((r) => alive(r.pid)), [false, false]);
  assert.deepEqual(childrenOf(process.pid), []);
  // Bad input is refused before any worker starts.
  await assert.rejects(pool(b, [{ method: "bogus" as "none", seed: 0 }]), /^Error: trainStudentsInWorkers: jobs\[0\]\.method must be one of none, kd, ntkd, kd\+ntkd, sp, rkd, gram, got "bogus"$/);
  await assert.rejects(pool(b, [{ method: "none", seed: 0.5 }]), /jobs\[0\]\.seed must be an integer, got 0\.5/);
});

test("a worker killed mid-job is reported as killed, not waited for", { skip: !hasProc && "needs /proc" }, async () => {
  const { b } = await setup;
  let killed = 0;
  const onProgress = (): void => {
    if (killed) return;
    const [worker] = childrenOf(process.pid);
    killed = worker;
    process.kill(worker, "SIGKILL");
  };
  await assert.rejects(pool(b, [{ method: "none", seed: 5 }], { onProgress }), /^Error: worker \d+ for none seed 5 failed \(signal SIGKILL\)/);
  assert.ok(killed > 0);
  assert.deepEqual(childrenOf(process.pid), []);
});

test("a worker whose parent is killed mid-job stops within 2 s", { skip: !hasProc && "needs /proc" }, async () => {
  const { b } = await setup;
  const src = path.join(__dirname, "..", "..", "src");
  // The parent: a pool with jobs enough to keep its worker busy, printing the worker's pid on its first progress.
  const script =
    `const { trainStudentsInWorkers } = require(${JSON.stringify(path.join(src, "experiments", "workers.js"))});\n` +
    `const { openRun } = require(${JSON.stringify(path.join(src, "notebook", "run-store.js"))});\n` +
    `const run = openRun("workers", "b", { root: ${JSON.stringify(path.dirname(path.dirname(b.dir)))} });\n` +
    `const jobs = [6, 7, 8, 9].map((seed) => ({ method: "none", seed }));\n` +
    `let said = false;\n` +
    `trainStudentsInWorkers({ dataset: "mnist", mode: "smoke", preset: ${JSON.stringify(TINY_STUDY)}, run, jobs, workers: 1,\n` +
    `  onProgress: () => { if (!said) { said = true; console.log("training"); } } });\n`;
  const parent = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"], env: process.env });
  let out = "";
  parent.stdout.on("data", (d: Buffer) => (out += d.toString()));
  let workers: number[] = [];
  try {
    await waitFor("the worker's first progress", 30_000, () => (out.includes("training") ? true : undefined));
    workers = childrenOf(parent.pid!);
    assert.equal(workers.length, 1, `the parent has children ${workers}`);
    parent.kill("SIGKILL");
    await waitFor(`worker ${workers[0]} to stop`, 2000, () => (alive(workers[0]) ? undefined : true));
  } finally {
    // Leave nothing behind, whatever the outcome.
    for (const pid of [parent.pid!, ...workers, ...childrenOf(parent.pid!)]) if (alive(pid)) process.kill(pid, "SIGKILL");
  }
});
