/**
 * Entry point of a student-training worker process: takes jobs from its parent one after another
 * over the IPC channel (protocol in `workers.ts`), keeping the backend, the data set and the
 * teacher loaded between jobs.
 */
import type { LayersModel } from "@tensorflow/tfjs";
import { initBackend } from "../runtime/backend";
import { openRun } from "../notebook/run-store";
import { loadClassificationSplits, type ClassificationSplits } from "./datasets";
import { obtainStudent, obtainTeacher, resolvePreset, teacherFile, teacherKey } from "./distillation";
import type { StudyProgress } from "./distillation";
import { exitWhenOrphaned } from "../runtime/process-tree";
import { PROGRESS_INTERVAL_MS } from "./workers";
import type { FromWorkerMessage, ToWorkerMessage, WorkerRequest, WorkerResult } from "./workers";
import type { DistillationPreset } from "./presets";
import * as fs from "node:fs";

/**
 * The latest data set and teacher, reused while jobs ask for the same ones. One of each is kept:
 * a pool's jobs all share them, and a worker lives for one pool only, so the teacher file cannot
 * change under it.
 */
let splitsCache: { key: string; splits: ClassificationSplits } | null = null;
let teacherCache: { key: string; model: LayersModel } | null = null;

function splitsFor(req: WorkerRequest, sizes: DistillationPreset["sizes"]): ClassificationSplits {
  const key = JSON.stringify({ dataset: req.dataset, sizes });
  if (splitsCache?.key !== key) splitsCache = { key, splits: loadClassificationSplits(req.dataset, sizes) };
  return splitsCache.splits;
}

function send(m: FromWorkerMessage): void {
  process.send!(m);
}

async function runJob(req: WorkerRequest): Promise<WorkerResult> {
  const start = Date.now();
  const run = openRun(req.experiment, req.run, { root: req.runsRoot });
  const file = teacherFile(run);
  if (!fs.existsSync(file)) throw new Error(`worker-main: no trained teacher at ${file}; train it before starting workers`);
  const preset = resolvePreset(req.dataset, req.mode, req.preset);
  const splits = splitsFor(req, preset.sizes);
  // The teacher's identity: its file, its settings (sizes included) and its architecture's mode.
  const teacherId = JSON.stringify({ file, mode: req.mode, key: teacherKey(req.dataset, preset) });
  if (teacherCache?.key !== teacherId) {
    teacherCache?.model.dispose();
    teacherCache = null;
    const teacher = await obtainTeacher({ dataset: req.dataset, mode: req.mode, run }, splits, preset);
    teacherCache = { key: teacherId, model: teacher.model };
  }
  // Progress goes to the parent at most a few times a second, and always for a job's last batch.
  let lastProgress = 0;
  const onProgress = (p: StudyProgress): void => {
    const now = Date.now();
    const last = p.epoch === p.epochs - 1 && p.batch === p.batches - 1;
    if (now - lastProgress < PROGRESS_INTERVAL_MS && !last) return;
    lastProgress = now;
    send({ type: "progress", progress: p });
  };
  const { job } = req;
  const opts = { dataset: req.dataset, run, onProgress };
  const { student, run: r } = await obtainStudent(opts, splits, preset, teacherCache.model, job.method, job.seed, job.kernels);
  student.dispose();
  return { job, accuracy: r.accuracy, seconds: (Date.now() - start) / 1000, loaded: r.loaded, pid: process.pid };
}

/** Set once a job failed: the worker takes no more jobs and is on its way out. */
let failed = false;

/** Ends the worker after a failure: the error's message to the parent first, then exit 1. */
function die(e: unknown): void {
  if (failed) return;
  failed = true;
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  const message = e instanceof Error ? e.message : String(e);
  const failure: FromWorkerMessage = { type: "failed", message };
  if (process.send && process.connected) process.send(failure, () => process.exit(1));
  else process.exit(1);
}

function main(): void {
  if (!process.send) return die(new Error("worker-main: expected an IPC channel (start it with trainStudentsInWorkers)"));
  // A worker whose parent or runner died stops instead of training for nobody.
  exitWhenOrphaned();
  // The parent closes the channel when it has no more jobs (or when it dies).
  process.on("disconnect", () => process.exit(failed ? 1 : 0));
  // Jobs run strictly one after another, after the backend is up.
  let queue: Promise<void> = initBackend().then(() => undefined);
  process.on("message", (m: ToWorkerMessage) => {
    if (failed) return;
    if (m?.type !== "job") return die(new Error(`worker-main: message ${JSON.stringify(m)}; expected { type: "job", request }`));
    queue = queue.then(async () => send({ type: "result", result: await runJob(m.request) })).catch(die);
  });
  queue.catch(die);
}

main();
