/**
 * Both cores: a study's students are trained in parallel worker processes of one wasm thread
 * each (on these small steps two processes beat one process on two threads: bench "study
 * students"). Each worker trains its (method, seed) students and saves them into
 * the shared run store; the parent then loads every student as if it had trained it itself (the
 * run store's config keys make a saved model count only when its settings match).
 *
 * A worker is one long-lived process per lane that takes jobs one after another, so node, the
 * backend, the data set and the teacher are started and loaded once per lane, not once per job.
 * Protocol, over node's IPC channel (`process.send`, JSON messages):
 * - parent to worker: `{ type: "job", request }` ({@link WorkerRequest}), one at a time: the next
 *   is sent only after the previous one's result came back;
 * - worker to parent: `{ type: "progress", progress }` while a job trains, at most every
 *   {@link PROGRESS_INTERVAL_MS}, then `{ type: "result", result }` ({@link WorkerResult});
 * - a job that fails makes the worker send `{ type: "failed", message }`, write its stack to
 *   stderr and exit 1, so a failure never leaves a worker in an unknown state: the lane starts a
 *   fresh one for its next job;
 * - the parent ends a worker by closing the channel (`disconnect`); a worker whose channel closes
 *   exits, and one whose parent dies without closing it stops on its own (`exitWhenOrphaned`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import type { RunStore } from "../notebook/run-store";
import type { NotebookMode } from "../notebook/params";
import type { ClassificationDatasetName } from "./datasets";
import { STUDENT_METHODS, type DistillationPreset, type StudentMethod } from "./presets";
import type { StudyProgress } from "./distillation";

/** Shortest interval between two progress messages of one worker, ms. */
export const PROGRESS_INTERVAL_MS = 250;
/** How long a worker may take to exit once its channel is closed before it is killed, ms. */
const CLOSE_GRACE_MS = 5000;
/** Characters of a worker's stderr kept for the error of a failed job (its last lines are shown). */
const STDERR_KEEP = 16384;
/** How long to wait for a dead worker's stderr to end (a grandchild may hold it open), ms. */
const STDERR_WAIT_MS = 1000;
/** Lines of a worker's stderr shown in the error of a failed job. */
const STDERR_LINES = 8;

/** One student to train in a worker. */
export interface StudentJob {
  method: StudentMethod;
  seed: number;
  /** Optical kernel count (default: the architecture's). */
  kernels?: number;
}

/** What a worker process receives for one job (in a `{ type: "job" }` message). */
export interface WorkerRequest {
  dataset: ClassificationDatasetName;
  mode: NotebookMode;
  preset?: Partial<DistillationPreset>;
  runsRoot: string;
  experiment: string;
  run: string;
  job: StudentJob;
}

/** A worker's answer to one job. */
export interface WorkerResult {
  job: StudentJob;
  /** Test accuracy of the trained (or loaded) student, in [0, 1]. */
  accuracy: number;
  /** Seconds the worker spent on this job, loading the data set and teacher included when it had to. */
  seconds: number;
  /** Whether the worker found the student already saved in the run store (nothing trained). */
  loaded: boolean;
  /** The worker process that did the job (one per lane while its jobs succeed). */
  pid: number;
}

/** Messages of the worker protocol (see the module comment). */
export type ToWorkerMessage = { type: "job"; request: WorkerRequest };
export type FromWorkerMessage =
  | { type: "progress"; progress: StudyProgress }
  | { type: "result"; result: WorkerResult }
  | { type: "failed"; message: string };

/** Options of {@link trainStudentsInWorkers}. */
export interface WorkerPoolOptions {
  dataset: ClassificationDatasetName;
  mode: NotebookMode;
  /** Overrides of the mode's preset, the same for every job. */
  preset?: Partial<DistillationPreset>;
  /** The study's run store (the teacher must already be saved in it). */
  run: RunStore;
  /** The students to train, taken in this order by whichever lane is free. */
  jobs: StudentJob[];
  /** Worker processes at once (default 2, this machine's cores); each takes jobs until none are left. */
  workers?: number;
  /** Called in the parent when one job is done (trained, or loaded from the run store). */
  onJobDone?: (r: WorkerResult) => void;
  /** A running job's training progress (a few updates a second per worker). */
  onProgress?: (job: StudentJob, p: StudyProgress) => void;
}

/** Workers still running, killed if this process exits while a pool runs (e.g. `process.exit`). */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
  live.add(child);
}

/** A worker's env: one wasm thread unless NTKD_THREADS says otherwise (the lanes already use the cores). */
function workerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NTKD_THREADS: process.env.NTKD_THREADS ?? "1" };
}

interface PendingJob {
  job: StudentJob;
  onProgress?: (p: StudyProgress) => void;
  resolve: (r: WorkerResult) => void;
  reject: (e: Error) => void;
}

/** One long-lived worker process and the job it is running, if any. */
class StudentWorker {
  private readonly child: ChildProcess;
  private pending: PendingJob | null = null;
  private stderr = "";
  private exitReason: string | null = null;
  /** The error message the worker sent for its running job before exiting. */
  private failure: string | null = null;
  private readonly closed: Promise<void>;

  constructor() {
    const script = path.join(__dirname, "worker-main.js");
    const stdio = ["ignore", "ignore", "pipe", "ipc"] as const;
    this.child = spawn(process.execPath, [script], { stdio: [...stdio], env: workerEnv() });
    track(this.child);
    this.child.stderr!.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-STDERR_KEEP);
    });
    this.child.on("message", (m: FromWorkerMessage) => this.onMessage(m));
    // Gone = exited and its stderr read to the end, so a failure's error holds the worker's last
    // words. Not "close": Node never emits it for a child whose channel the parent disconnected.
    const stderrEnded = new Promise<void>((resolve) => this.child.stderr!.once("close", resolve));
    this.closed = new Promise((resolve) => {
      const gone = (reason: string): void => {
        if (this.exitReason !== null) return;
        this.exitReason = reason;
        live.delete(this.child);
        this.fail(`failed (${reason})`);
        resolve();
      };
      this.child.once("exit", (code, signal) => {
        // A grandchild holding the pipe must not keep the pool waiting.
        let timer: NodeJS.Timeout | undefined;
        const waited = new Promise<void>((r) => (timer = setTimeout(r, STDERR_WAIT_MS)));
        void Promise.race([stderrEnded, waited]).then(() => {
          clearTimeout(timer);
          gone(signal ? `signal ${signal}` : `exit ${code}`);
        });
      });
      this.child.on("error", (e) => {
        // A process that never started emits no "exit"; one that did is killed: either way the job cannot finish.
        if (this.child.pid === undefined) gone(e.message);
        else {
          this.fail(`failed (${e.message})`);
          this.child.kill("SIGKILL");
        }
      });
    });
  }

  /** Whether the process still runs and can take a job. */
  get alive(): boolean {
    return this.exitReason === null && this.child.connected;
  }

  run(request: WorkerRequest, onProgress?: (p: StudyProgress) => void): Promise<WorkerResult> {
    if (this.pending) throw new Error("StudentWorker.run: a job is already running (jobs go one at a time)");
    return new Promise((resolve, reject) => {
      this.pending = { job: request.job, onProgress, resolve, reject };
      const message: ToWorkerMessage = { type: "job", request };
      this.child.send(message);
    });
  }

  private onMessage(m: FromWorkerMessage): void {
    const pending = this.pending;
    if (!pending) return;
    if (m.type === "progress") {
      try {
        pending.onProgress?.(m.progress);
      } catch (e) {
        // The caller's callback broke: this job fails, and the worker must not train on for nobody.
        this.pending = null;
        pending.reject(e as Error);
        this.child.kill("SIGKILL");
      }
    } else if (m.type === "result") {
      this.pending = null;
      pending.resolve(m.result);
    } else if (m.type === "failed") {
      // Rejected once the worker has exited, with its stderr's last lines.
      this.failure = m.message;
    }
  }

  private fail(why: string): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    const tail = this.stderr.trim().split("\n").slice(-STDERR_LINES).join("\n");
    const what = this.failure === null ? "" : ` ${this.failure}`;
    const { method, seed } = pending.job;
    pending.reject(new Error(`worker ${this.child.pid} for ${method} seed ${seed} ${why}:${what}\n${tail}`));
  }

  /** Ends the process (closing its channel; killed after a grace period) and waits until it is gone. */
  async close(): Promise<void> {
    if (this.exitReason === null) {
      if (this.child.connected) this.child.disconnect();
      else this.child.kill("SIGKILL");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), CLOSE_GRACE_MS);
      await this.closed;
      clearTimeout(timer);
    }
  }

  /** Kills the process at once and waits until it is gone. */
  async kill(): Promise<void> {
    if (this.exitReason === null) {
      this.child.kill("SIGKILL");
      await this.closed;
    }
  }
}

/**
 * Trains the jobs in up to `workers` long-lived processes (see the module comment). Rejects with
 * the first failure once every other job is done; resolves or rejects only after every worker it
 * started has exited.
 */
export async function trainStudentsInWorkers(opts: WorkerPoolOptions): Promise<WorkerResult[]> {
  const workers = opts.workers ?? 2;
  const where = "trainStudentsInWorkers";
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`${where}: workers must be an integer >= 1, got ${workers}`);
  opts.jobs.forEach((job, i) => {
    if (!STUDENT_METHODS.includes(job.method)) {
      throw new Error(`${where}: jobs[${i}].method must be one of ${STUDENT_METHODS.join(", ")}, got ${JSON.stringify(job.method)}`);
    }
    if (!Number.isInteger(job.seed)) throw new Error(`${where}: jobs[${i}].seed must be an integer, got ${job.seed}`);
  });
  const { dataset, mode, preset } = opts;
  const runsRoot = path.dirname(path.dirname(opts.run.dir));
  const queue = opts.jobs.slice();
  const results: WorkerResult[] = [];
  const failures: Error[] = [];
  const lane = async (): Promise<void> => {
    let worker: StudentWorker | null = null;
    try {
      for (let job = queue.shift(); job; job = queue.shift()) {
        try {
          // A worker that died between jobs is replaced rather than blamed on the next job.
          if (!worker?.alive) {
            await worker?.kill();
            worker = new StudentWorker();
          }
          const request: WorkerRequest = { dataset, mode, preset, runsRoot, experiment: opts.run.experiment, run: opts.run.run, job };
          const current = job;
          const onProgress = opts.onProgress;
          const r = await worker.run(request, onProgress ? (p) => onProgress(current, p) : undefined);
          results.push(r);
          opts.onJobDone?.(r);
        } catch (e) {
          failures.push(e as Error);
          // After a failure the worker is dead or its state is unknown: the next job gets a fresh one.
          await worker?.kill();
          worker = null;
        }
      }
    } finally {
      await worker?.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, opts.jobs.length) }, lane));
  if (failures.length > 0) throw failures[0];
  return results;
}
