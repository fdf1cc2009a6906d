/**
 * Both cores: the wasm backend is single-threaded in Node, so a study's students are trained in
 * parallel worker processes. Each worker trains one (method, seed) student and saves it into the
 * shared run store; the parent then loads every student as if it had trained it itself (the
 * run store's config keys make a saved model count only when its settings match).
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { RunStore } from "../notebook/run-store";
import type { NotebookMode } from "../notebook/params";
import type { ClassificationDatasetName } from "./datasets";
import type { DistillationPreset, StudentMethod } from "./presets";
import type { StudyProgress } from "./distillation";

/** A worker's stdout line that carries a {@link StudyProgress} (JSON after the prefix). */
export const PROGRESS_LINE_PREFIX = "progress ";
/** Shortest interval between two progress lines of one worker, ms. */
export const PROGRESS_INTERVAL_MS = 250;

/** One student to train in a worker. */
export interface StudentJob {
  method: StudentMethod;
  seed: number;
  /** Optical kernel count (default: the architecture's). */
  kernels?: number;
}

/** What a worker process receives (as JSON in argv). */
export interface WorkerRequest {
  dataset: ClassificationDatasetName;
  mode: NotebookMode;
  preset?: Partial<DistillationPreset>;
  runsRoot: string;
  experiment: string;
  run: string;
  job: StudentJob;
}

/** A worker's answer. */
export interface WorkerResult {
  job: StudentJob;
  accuracy: number;
  seconds: number;
  loaded: boolean;
}

/** Options of {@link trainStudentsInWorkers}. */
export interface WorkerPoolOptions {
  dataset: ClassificationDatasetName;
  mode: NotebookMode;
  preset?: Partial<DistillationPreset>;
  /** The study's run store (the teacher must already be saved in it). */
  run: RunStore;
  jobs: StudentJob[];
  /** Processes at once (default 2, this machine's cores). */
  workers?: number;
  onJobDone?: (r: WorkerResult) => void;
  /** A running job's training progress (a few updates a second per worker). */
  onProgress?: (job: StudentJob, p: StudyProgress) => void;
}

function runWorker(request: WorkerRequest, onProgress?: (p: StudyProgress) => void): Promise<WorkerResult> {
  const script = path.join(__dirname, "worker-main.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(request)], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let out = "";
    let err = "";
    let pending = "";
    child.stdout.on("data", (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith(PROGRESS_LINE_PREFIX)) {
          // A garbled progress line costs one redraw, never the job.
          try {
            onProgress?.(JSON.parse(line.slice(PROGRESS_LINE_PREFIX.length)) as StudyProgress);
          } catch {
            /* skip it */
          }
        } else out += `${line}\n`;
      }
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      out += pending;
      const line = out.trim().split("\n").reverse().find((l) => l.startsWith("{"));
      if (code === 0 && line) {
        resolve(JSON.parse(line) as WorkerResult);
      } else {
        const tail = err.trim().split("\n").slice(-8).join("\n");
        reject(new Error(`worker for ${request.job.method} seed ${request.job.seed} failed (${signal ? `signal ${signal}` : `exit ${code}`}):\n${tail}`));
      }
    });
  });
}

/** Trains the jobs in up to `workers` processes; rejects on the first failure after the others finish. */
export async function trainStudentsInWorkers(opts: WorkerPoolOptions): Promise<WorkerResult[]> {
  const workers = opts.workers ?? 2;
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`trainStudentsInWorkers: workers must be an integer >= 1, got ${workers}`);
  const runsRoot = path.dirname(path.dirname(opts.run.dir));
  const queue = opts.jobs.slice();
  const results: WorkerResult[] = [];
  const failures: Error[] = [];
  const lane = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      try {
        const request = { dataset: opts.dataset, mode: opts.mode, preset: opts.preset, runsRoot, experiment: opts.run.experiment, run: opts.run.run, job };
        const r = await runWorker(request, opts.onProgress ? (p) => opts.onProgress!(job, p) : undefined);
        results.push(r);
        opts.onJobDone?.(r);
      } catch (e) {
        failures.push(e as Error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, opts.jobs.length) }, lane));
  if (failures.length > 0) throw failures[0];
  return results;
}
