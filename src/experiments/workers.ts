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
}

function runWorker(request: WorkerRequest): Promise<WorkerResult> {
  const script = path.join(__dirname, "worker-main.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(request)], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
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
        const r = await runWorker({ dataset: opts.dataset, mode: opts.mode, preset: opts.preset, runsRoot, experiment: opts.run.experiment, run: opts.run.run, job });
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
