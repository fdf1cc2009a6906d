import * as fs from "node:fs";
import * as path from "node:path";
import { fork, type ChildProcess } from "node:child_process";
import type { CellError, FromKernel, ToKernel } from "./kernel-protocol";
import { cellSource, cellTags, readNotebook, toLines, type CellOutput, type Notebook, type NotebookCell } from "./ipynb";
import { paramEnvName } from "./params";
import { checkParamsAgainstDeclarations, declaredParams } from "./param-declarations";
import { watchPeakMemory } from "./process-memory";
import { checkWritableDir, checkWritableFile, writeFileAtomic } from "./run-store";
import { ensureSelfLink } from "./self-link";
import { InputError } from "./errors";
import { SUPERVISOR_PID_ENV } from "../runtime/process-tree";

/** Options of {@link runNotebook}. */
export interface RunNotebookOptions {
  /** Parameter values: injected after the cell tagged `parameters` and passed as env NTKD_PARAM_<name>. */
  params?: Record<string, unknown>;
  /** Where to write the executed notebook; default `<runs root>/executed/<name>.ipynb`. */
  out?: string;
  /** Seconds one cell may run before the kernel is stopped; default 1800. */
  timeoutS?: number;
  /** Extra environment for the kernel (NTKD_MODE, NTKD_RUNS_DIR, NTKD_BACKEND, ...). */
  env?: NodeJS.ProcessEnv;
  /** Called as cells start and finish, for CLI progress. */
  onEvent?: (event: RunEvent) => void;
}

/** Progress events of a run. */
export type RunEvent =
  | { type: "cell-start"; cellIndex: number; executionCount: number; codeCells: number }
  | { type: "cell-end"; cellIndex: number; executionCount: number; seconds: number; ok: boolean }
  | { type: "stream"; name: "stdout" | "stderr"; text: string }
  /** The running cell's latest progress line (model, epoch, batch, ETA), as its progress bar drew it. */
  | { type: "progress"; cellIndex: number; text: string };

/** Why a run stopped early. */
export interface RunFailure {
  kind: "error" | "timeout" | "kernel-died";
  /** Index of the failing cell in the source notebook (0-based, markdown cells counted). */
  cellIndex: number;
  /** 1-based line in that cell, when known. */
  line?: number;
  /** The text of that line. */
  sourceLine?: string;
  ename: string;
  evalue: string;
  /** One readable paragraph naming the notebook, cell, line and error. */
  message: string;
}

/** The outcome of {@link runNotebook}. */
export interface RunNotebookResult {
  ok: boolean;
  /** The executed notebook (also written to `outPath`, partial when the run failed). */
  notebook: Notebook;
  outPath: string;
  failure?: RunFailure;
  seconds: number;
  /** Seconds per executed code cell, by source cell index. */
  cellSeconds: { cellIndex: number; seconds: number }[];
  /**
   * Largest resident memory of the kernel and the processes it started (study workers), summed
   * over processes alive at the same time, in MiB; sampled every 0.5 s; undefined without /proc.
   */
  peakRssMiB?: number;
}

/** Parses a `--param` value: JSON when it parses (numbers, booleans, arrays), otherwise the string. */
export function parseParamValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function topLevelNames(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(/^(?:export\s+)?(?:let|const|var)\s+([A-Za-z_$][\w$]*)/gm)) names.add(m[1]!);
  return names;
}

/**
 * Builds the papermill-style `injected-parameters` cell. Plain top-level variables of the
 * parameters cell are redeclared (tslab allows redeclaring across cells); names read through
 * `params()` arrive as env NTKD_PARAM_<name>, which the cell records as a comment.
 */
export function injectParameters(nb: Notebook, params: Record<string, unknown>, file: string): { notebook: Notebook; insertedAt: number | null } {
  const names = Object.keys(params);
  if (names.length === 0) return { notebook: nb, insertedAt: null };
  for (const n of names) {
    if (!/^[A-Za-z_$][\w$]*$/.test(n)) throw new InputError(`${file}: parameter name ${JSON.stringify(n)} is not an identifier`);
  }
  const at = nb.cells.findIndex((c) => c.cell_type === "code" && cellTags(c).includes("parameters"));
  if (at < 0) throw new InputError(`${file}: --param given but no code cell is tagged "parameters" (add the tag to the cell holding the defaults)`);
  const paramSource = cellSource(nb.cells[at]!);
  const declared = topLevelNames(paramSource);
  const lines = ["// Parameters injected by `ntkd-lab run`."];
  for (const n of names) {
    const literal = JSON.stringify(params[n]);
    if (declared.has(n)) lines.push(`let ${n} = ${literal};`);
    else if (new RegExp(`\\b${n.replace(/\$/g, "\\$")}\\b`).test(paramSource)) lines.push(`// ${n} = ${literal} (read by params() from env ${paramEnvName(n)})`);
    else throw new InputError(`${file}: unknown parameter "${n}": the parameters cell (cell ${at}) neither declares it nor mentions it`);
  }
  const declarations = declaredParams(paramSource);
  if (declarations) checkParamsAgainstDeclarations(file, params, declarations);
  const injected: NotebookCell = {
    cell_type: "code",
    source: toLines(lines.join("\n")),
    metadata: { tags: ["injected-parameters"] },
    outputs: [],
    execution_count: null,
  };
  const cells = [...nb.cells.slice(0, at + 1), injected, ...nb.cells.slice(at + 1)];
  return { notebook: { ...nb, cells }, insertedAt: at + 1 };
}

function envString(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Path of the kernel worker script beside this module. */
export function kernelWorkerPath(): string {
  return path.join(__dirname, "kernel-worker.js");
}

/**
 * Executes a notebook top to bottom in a tslab kernel process of our own (no Python, no ZeroMQ),
 * writes the executed notebook with every output and execution counts, and stops at the first
 * failing cell, a cell past its timeout, or a kernel crash, keeping the partial notebook.
 */
export async function runNotebook(file: string, opts: RunNotebookOptions = {}): Promise<RunNotebookResult> {
  const started = Date.now();
  const source = readNotebook(file);
  const timeoutS = opts.timeoutS ?? 1800;
  if (!(timeoutS > 0)) throw new InputError(`runNotebook: timeoutS must be a positive number of seconds, got ${timeoutS}`);
  const params = opts.params ?? {};
  const { notebook: injectedNb, insertedAt } = injectParameters(source, params, file);
  const nb: Notebook = JSON.parse(JSON.stringify(injectedNb)) as Notebook;
  const sourceIndex = (i: number) => (insertedAt !== null && i >= insertedAt ? (i === insertedAt ? insertedAt - 1 : i - 1) : i);
  const outPath = path.resolve(opts.out ?? path.join(process.env.NTKD_RUNS_DIR || "runs", "executed", path.basename(file)));
  const nbDir = path.dirname(path.resolve(file));
  ensureSelfLink();

  // The kernel's cwd is the notebook folder; anchor the run store where ntkd-lab was invoked.
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  env.NTKD_RUNS_DIR = path.resolve(env.NTKD_RUNS_DIR || "runs");
  env[SUPERVISOR_PID_ENV] = String(process.pid);
  for (const [k, v] of Object.entries(params)) env[paramEnvName(k)] = envString(v);
  // Before any cell runs: a run store or output that cannot be written would otherwise fail late,
  // with a misleading error, after the first cells have done their work.
  checkWritableDir(env.NTKD_RUNS_DIR, "NTKD_RUNS_DIR (the run store)");
  checkWritableFile(outPath, `--out ${outPath} (the executed notebook)`, "an .ipynb file");

  for (const cell of nb.cells) {
    if (cell.cell_type === "code") {
      cell.outputs = [];
      cell.execution_count = null;
    }
  }
  const save = () => writeFileAtomic(outPath, JSON.stringify(nb, null, 1) + "\n");

  // Detached: the kernel leads a process group of its own, which every process a cell starts
  // (study workers) joins, so a timeout or an interrupted run can end them all at once.
  const kernel = fork(kernelWorkerPath(), [], { cwd: nbDir, env, stdio: ["ignore", "pipe", "pipe", "ipc"], serialization: "advanced", detached: true });
  liveKernels.add(kernel);
  kernel.once("exit", () => liveKernels.delete(kernel));
  const memory = kernel.pid === undefined ? undefined : watchPeakMemory(kernel.pid);
  let kernelStderr = "";
  kernel.stderr?.on("data", (d: Buffer) => { kernelStderr = (kernelStderr + d.toString()).slice(-4000); });
  kernel.stdout?.on("data", (d: Buffer) => { kernelStderr = (kernelStderr + d.toString()).slice(-4000); });

  const lateErrors = new LateErrors(kernel);
  const displays = new Map<string, CellOutput[]>();
  let current: NotebookCell | null = null;
  /** Source index of the running cell, for progress events. */
  let currentIndex: number | null = null;
  const appendStream = (name: "stdout" | "stderr", text: string) => {
    if (!current) return;
    const outs = current.outputs!;
    const last = outs[outs.length - 1];
    if (last && last.output_type === "stream" && last.name === name) last.text += text;
    else outs.push({ output_type: "stream", name, text });
  };
  kernel.on("message", (msg: FromKernel) => {
    if (msg.type === "stream") {
      appendStream(msg.name, msg.text);
      opts.onEvent?.({ type: "stream", name: msg.name, text: msg.text });
    } else if (msg.type === "display") {
      if (msg.progress !== undefined && currentIndex !== null) opts.onEvent?.({ type: "progress", cellIndex: currentIndex, text: msg.progress });
      if (msg.update && msg.displayId) {
        for (const out of displays.get(msg.displayId) ?? []) if (out.output_type === "display_data") out.data = msg.data;
        return;
      }
      if (!current) return;
      const out: CellOutput = { output_type: "display_data", data: msg.data, metadata: msg.metadata };
      current.outputs!.push(out);
      if (msg.displayId) displays.set(msg.displayId, [...(displays.get(msg.displayId) ?? []), out]);
    }
  });

  const executionIndex = (executionCount: number) => nb.cells.findIndex((c) => c.cell_type === "code" && c.execution_count === executionCount);
  const recordFailure = (outcome: Exclude<CellOutcome, { ok: true }>, runningCount: number): RunFailure => {
    const err = outcome.error;
    const lateFrom = outcome.kind === "error" ? outcome.lateFrom : undefined;
    const failedCount = lateFrom ?? runningCount;
    const i = Math.max(0, executionIndex(failedCount));
    const cell = nb.cells[i]!;
    const code = cellSource(cell);
    cell.outputs!.push({ output_type: "error", ename: err.ename, evalue: err.evalue, traceback: err.traceback });
    const line = err.line;
    const sourceLine = line !== undefined ? code.split("\n")[line - 1] : undefined;
    const where = `${path.basename(file)}, cell ${sourceIndex(i)}${i === insertedAt ? " (injected parameters)" : ""}` + (line !== undefined ? `, line ${line}: ${sourceLine?.trim()}` : "");
    const head =
      outcome.kind === "timeout" ? "cell timed out" : outcome.kind === "kernel-died" ? "kernel died" : lateFrom !== undefined && lateFrom !== runningCount ? "cell failed after it returned" : "cell failed";
    const during = lateFrom !== undefined && lateFrom !== runningCount && executionIndex(runningCount) >= 0 ? ` (noticed while cell ${sourceIndex(executionIndex(runningCount))} ran)` : "";
    return { kind: outcome.kind, cellIndex: sourceIndex(i), line, sourceLine, ename: err.ename, evalue: err.evalue, message: `${head} in ${where}${during}\n${err.ename}: ${err.evalue}` };
  };

  let failure: RunFailure | undefined;
  let peakBytes: number | undefined;
  const cellSeconds: { cellIndex: number; seconds: number }[] = [];
  try {
    await waitReady(kernel, () => kernelStderr);
    const codeCells = nb.cells.filter((c) => c.cell_type === "code" && cellSource(c).trim() !== "").length;
    let count = 0;
    for (let i = 0; i < nb.cells.length; i++) {
      const cell = nb.cells[i]!;
      const code = cellSource(cell);
      if (cell.cell_type !== "code" || code.trim() === "") continue;
      // An earlier cell's timer or promise failed after that cell returned: stop before this one.
      const early = lateErrors.take();
      if (early) {
        failure = recordFailure(early, count + 1);
        break;
      }
      count += 1;
      current = cell;
      currentIndex = sourceIndex(i);
      cell.execution_count = count;
      opts.onEvent?.({ type: "cell-start", cellIndex: sourceIndex(i), executionCount: count, codeCells });
      const t0 = Date.now();
      const outcome = await executeCell(kernel, count, code, timeoutS * 1000, () => kernelStderr, lateErrors);
      const seconds = (Date.now() - t0) / 1000;
      cellSeconds.push({ cellIndex: sourceIndex(i), seconds });
      opts.onEvent?.({ type: "cell-end", cellIndex: sourceIndex(i), executionCount: count, seconds, ok: outcome.ok });
      if (!outcome.ok) {
        failure = recordFailure(outcome, count);
        break;
      }
      save();
    }
    // An error a cell's timers or promises raise after the last cell returned still fails the run.
    if (failure === undefined && count > 0) {
      const late = lateErrors.take() ?? (await pingKernel(kernel, count + 1, lateErrors));
      if (late) failure = recordFailure(late, count);
    }
  } catch (err) {
    failure = { kind: "kernel-died", cellIndex: -1, ename: "KernelStartError", evalue: (err as Error).message, message: `kernel failed to start for ${path.basename(file)}: ${(err as Error).message}` };
  } finally {
    current = null;
    currentIndex = null;
    peakBytes = memory?.stop();
    await stopKernel(kernel);
    nb.metadata = { ...nb.metadata, ntkd_lab: { executedAt: new Date(started).toISOString(), seconds: (Date.now() - started) / 1000, params, ok: failure === undefined } };
    save();
  }
  const peakRssMiB = peakBytes === undefined ? undefined : peakBytes / 2 ** 20;
  return { ok: failure === undefined, notebook: nb, outPath, failure, seconds: (Date.now() - started) / 1000, cellSeconds, ...(peakRssMiB === undefined ? {} : { peakRssMiB }) };
}

/**
 * A cell's result. `lateFrom`: the error was not the cell's own result but an exception no code
 * caught, raised by the code of the cell with this execution count (possibly an earlier one).
 */
type CellOutcome = { ok: true } | { ok: false; kind: "error"; error: CellError; lateFrom?: number } | { ok: false; kind: "timeout" | "kernel-died"; error: CellError };

/** Kernels of this process that are still running (ended by {@link killAllKernels}). */
const liveKernels = new Set<ChildProcess>();

/** Sends `signal` to the process group of a kernel: the kernel and every process its cells started. */
function signalKernelTree(kernel: ChildProcess, signal: NodeJS.Signals): void {
  if (kernel.pid === undefined) return;
  try {
    process.kill(-kernel.pid, signal);
  } catch {
    // The group is gone already; the kernel itself may still need the signal.
    try {
      kernel.kill(signal);
    } catch {
      /* already exited */
    }
  }
}

/**
 * Kills (SIGKILL) every running kernel of this process together with the processes its cells
 * started. For a runner that is being interrupted (SIGINT, SIGTERM): call it, then exit.
 */
export function killAllKernels(): void {
  for (const kernel of liveKernels) signalKernelTree(kernel, "SIGKILL");
  liveKernels.clear();
}

function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by signal ${signal}` : `exited with code ${code}`;
}

function waitReady(kernel: ChildProcess, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromKernel) => {
      if (m.type === "ready") { cleanup(); resolve(); }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      reject(new Error(`the kernel ${exitText(code, signal)} before it was ready${stderr() ? `:\n${stderr()}` : ""}`));
    };
    const onError = (err: Error) => { cleanup(); reject(err); };
    const cleanup = () => { kernel.off("message", onMessage); kernel.off("exit", onExit); kernel.off("error", onError); };
    kernel.on("message", onMessage);
    kernel.on("exit", onExit);
    kernel.on("error", onError);
  });
}

/**
 * Errors the kernel reports outside any cell's result. Kept from the moment they arrive (one may
 * come in the same read as a cell's "done", before anyone waits for it) until a wait takes them.
 */
class LateErrors {
  private readonly queue: { id: number; error: CellError }[] = [];
  private waiter: (() => void) | undefined;

  constructor(kernel: ChildProcess) {
    kernel.on("message", (m: FromKernel) => {
      if (m.type !== "late-error") return;
      this.queue.push({ id: m.id, error: m.error });
      this.waiter?.();
    });
  }

  /** The oldest error not yet taken, as a failed cell outcome. */
  take(): Exclude<CellOutcome, { ok: true }> | undefined {
    const next = this.queue.shift();
    return next && { ok: false, kind: "error", error: next.error, lateFrom: next.id };
  }

  /** Calls `fn` when an error arrives, until {@link LateErrors.stopWaiting}. */
  waitWith(fn: () => void): void {
    this.waiter = fn;
  }

  stopWaiting(): void {
    this.waiter = undefined;
  }
}

function executeCell(kernel: ChildProcess, id: number, code: string, timeoutMs: number, stderr: () => string, late: LateErrors): Promise<CellOutcome> {
  return new Promise((resolve) => {
    late.waitWith(() => {
      const outcome = late.take();
      if (outcome) { cleanup(); resolve(outcome); }
    });
    const onMessage = (m: FromKernel) => {
      if (m.type !== "done" || m.id !== id) return;
      cleanup();
      resolve(m.ok ? { ok: true } : { ok: false, kind: "error", error: m.error ?? { ename: "Error", evalue: "cell failed", traceback: [] } });
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      const tail = stderr().trim();
      const evalue = `the kernel process ${exitText(code, signal)} while running this cell${tail ? `; its last output:\n${tail}` : ""}`;
      resolve({ ok: false, kind: "kernel-died", error: { ename: "KernelDied", evalue, traceback: [evalue] } });
    };
    const timer = setTimeout(() => {
      cleanup();
      signalKernelTree(kernel, "SIGKILL");
      const evalue = `the cell ran longer than ${timeoutMs / 1000} s; the kernel was stopped (raise --timeout for longer cells)`;
      resolve({ ok: false, kind: "timeout", error: { ename: "CellTimeout", evalue, traceback: [evalue] } });
    }, timeoutMs);
    const cleanup = () => { clearTimeout(timer); late.stopWaiting(); kernel.off("message", onMessage); kernel.off("exit", onExit); };
    kernel.on("message", onMessage);
    kernel.on("exit", onExit);
    const msg: ToKernel = { type: "execute", id, code };
    kernel.send(msg);
  });
}

/**
 * Resolves once the kernel has run what was queued before this message (late rejections, timers
 * due now): to the late error that surfaced meanwhile, else undefined. A dead kernel resolves undefined.
 */
function pingKernel(kernel: ChildProcess, id: number, late: LateErrors): Promise<Exclude<CellOutcome, { ok: true }> | undefined> {
  if (kernel.exitCode !== null || kernel.signalCode !== null || !kernel.connected) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const finish = (outcome: Exclude<CellOutcome, { ok: true }> | undefined) => { late.stopWaiting(); kernel.off("message", onMessage); kernel.off("exit", onExit); resolve(outcome); };
    late.waitWith(() => finish(late.take()));
    const onMessage = (m: FromKernel) => {
      if (m.type === "pong" && m.id === id) finish(undefined);
    };
    const onExit = () => finish(undefined);
    kernel.on("message", onMessage);
    kernel.on("exit", onExit);
    const msg: ToKernel = { type: "ping", id };
    kernel.send(msg);
  });
}

function stopKernel(kernel: ChildProcess): Promise<void> {
  const alive = kernel.exitCode === null && kernel.signalCode === null;
  // Cells may leave timers, servers or worker processes running; a kernel is single-use, so its
  // whole process group ends with it.
  if (!alive) {
    signalKernelTree(kernel, "SIGKILL");
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => signalKernelTree(kernel, "SIGKILL"), 2000);
    kernel.once("exit", () => {
      clearTimeout(timer);
      signalKernelTree(kernel, "SIGKILL");
      resolve();
    });
    signalKernelTree(kernel, "SIGTERM");
  });
}

/** Does the file look like a notebook we can run? (for listing stage notebooks) */
export function isNotebookFile(file: string): boolean {
  return file.endsWith(".ipynb") && fs.existsSync(file);
}
