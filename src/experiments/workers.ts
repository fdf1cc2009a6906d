/**
 * Both cores: the wasm backend is single-threaded in Node, so a study's students are trained in
 * parallel worker processes. Each worker trains one (method, seed) student and saves it into the
 * shared run store; the parent then loads every student as if it had trained it itself (the
 * run store's config keys make a saved model count only when its settings match).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunStore } from "../notebook/run-store";
import type { NotebookMode } from "../notebook/params";
import type { ClassificationDatasetName } from "./datasets";
import type { DistillationPreset, StudentMethod } from "./presets";

/** Env var naming the process (the `ntkd-lab` runner) whose death must end every process it started. */
export const SUPERVISOR_PID_ENV = "NTKD_SUPERVISOR_PID";
/** Env var naming the process group of a notebook kernel and everything it started (the kernel's pid). */
export const PROCESS_GROUP_ENV = "NTKD_PROCESS_GROUP";
/** How often a child checks that its parent and supervisor still exist, ms. */
const ORPHAN_CHECK_MS = 250;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // A dead process its parent has not reaped yet still answers kill(pid, 0); /proc says it is a zombie.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/**
 * Ends this process and, when it belongs to a kernel's process group ({@link PROCESS_GROUP_ENV}),
 * every process of that group: the kernel, its study workers and anything a cell started.
 */
export function endProcessTree(code = 1): never {
  const group = Number(process.env[PROCESS_GROUP_ENV]);
  if (Number.isInteger(group) && group > 1) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // no such group (started outside a kernel): ending this process is all there is to do
    }
  }
  process.exit(code);
}

/**
 * Makes a child process stop when it would run for nobody: when its parent dies (it is re-parented)
 * or the runner named by {@link SUPERVISOR_PID_ENV} is gone, it ends its process tree. Checked on
 * an unref'd timer, so it fires whenever the event loop is free (between batches, during awaits)
 * and never keeps the process alive by itself.
 */
export function exitWhenOrphaned(): void {
  const parent = process.ppid;
  const supervisor = Number(process.env[SUPERVISOR_PID_ENV]);
  const timer = setInterval(() => {
    const orphaned = process.ppid !== parent || (Number.isInteger(supervisor) && supervisor > 0 && !isAlive(supervisor));
    if (orphaned) endProcessTree();
  }, ORPHAN_CHECK_MS);
  timer.unref();
}

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
