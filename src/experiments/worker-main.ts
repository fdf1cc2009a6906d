/** Entry point of a student-training worker process (see `workers.ts`). */
import { initBackend } from "../runtime/backend";
import { openRun } from "../notebook/run-store";
import { loadClassificationSplits } from "./datasets";
import { obtainStudent, obtainTeacher, resolvePreset, teacherFile, type StudyProgress } from "./distillation";
import { exitWhenOrphaned } from "../runtime/process-tree";
import { PROGRESS_INTERVAL_MS, PROGRESS_LINE_PREFIX, type WorkerRequest, type WorkerResult } from "./workers";
import * as fs from "node:fs";

async function main(): Promise<void> {
  // A worker whose parent or runner died stops instead of training for nobody.
  exitWhenOrphaned();
  const raw = process.argv[2];
  if (!raw) throw new Error("worker-main: expected one JSON argument (a WorkerRequest)");
  const req = JSON.parse(raw) as WorkerRequest;
  await initBackend();
  const start = Date.now();
  const run = openRun(req.experiment, req.run, { root: req.runsRoot });
  if (!fs.existsSync(teacherFile(run))) throw new Error(`worker-main: no trained teacher at ${teacherFile(run)}; train it before starting workers`);
  const preset = resolvePreset(req.dataset, req.mode, req.preset);
  const splits = loadClassificationSplits(req.dataset, preset.sizes);
  const teacher = await obtainTeacher({ dataset: req.dataset, mode: req.mode, run }, splits, preset);
  // Progress goes to the parent as "progress <json>" lines, at most a few a second (see workers.ts).
  let lastProgress = 0;
  const onProgress = (p: StudyProgress): void => {
    const now = Date.now();
    const last = p.epoch === p.epochs - 1 && p.batch === p.batches - 1;
    if (now - lastProgress < PROGRESS_INTERVAL_MS && !last) return;
    lastProgress = now;
    process.stdout.write(`${PROGRESS_LINE_PREFIX}${JSON.stringify(p)}\n`);
  };
  const { student, run: result } = await obtainStudent({ dataset: req.dataset, run, onProgress }, splits, preset, teacher.model, req.job.method, req.job.seed, req.job.kernels);
  student.dispose();
  const answer: WorkerResult = { job: req.job, accuracy: result.accuracy, seconds: (Date.now() - start) / 1000, loaded: result.loaded };
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
