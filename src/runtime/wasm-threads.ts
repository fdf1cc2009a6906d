/**
 * tfjs's multithreaded wasm backend (XNNPACK on a pthreadpool) inside one Node process.
 *
 * tfjs-backend-wasm 4.22 ships the threaded SIMD build but never loads it under Node
 * (`WASM_HAS_MULTITHREAD_SUPPORT` is false there, tfjs issue #3830): its init() hands Emscripten a
 * Blob URL for the pthread worker script, which Node's `worker_threads` cannot start. Here the
 * Emscripten glue gets, instead, a `data:` URL whose ES module evaluates tfjs's worker script
 * with a CommonJS `require` (the route of tfjs PR #8059), and `mainScriptUrlOrBlob` is the real
 * glue file, which the worker reads with `fs` and evaluates.
 *
 * Why this start-up is async: the glue starts its pool of workers (8, fixed at build time) and
 * only finishes start-up when every worker has reported, by message, that it instantiated the
 * module on the shared memory. Those messages arrive through the main thread's event loop, so
 * the caller has to yield to it: nothing here can complete within tfjs's synchronous default
 * backend choice. Once started, a kernel runs synchronously: the main thread blocks on futexes
 * while the pthreads work, and no message to the main thread is needed.
 *
 * The workers are unref'd once the pool runs, so they never keep the process alive, and being
 * threads of this process they end with it. Workers the pool does not use are terminated.
 *
 * Which path a user gets: importing ntkd-lab gives the single-threaded SIMD build, started
 * synchronously on the first op (./wasm-sync-init). `await initBackend()` (or
 * `await enableWasmThreads()`) then swaps "wasm" for the threaded build with
 * {@link requestedWasmThreads} threads, provided the single-threaded backend holds no tensors yet
 * (they would be lost with it); otherwise it stays, and {@link wasmThreadsError} says why.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Worker } from "node:worker_threads";
import { BackendWasm, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "./tfjs-packages";
import { wrapTfjsEntryPoints } from "./wasm-sync-init";

/** The Emscripten module of the threaded build, as far as this file uses it. */
interface ThreadedWasmModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  tfjs?: Record<string, (...args: number[]) => number>;
  PThread: { unusedWorkers: Worker[]; runningWorkers: Worker[]; terminateAllThreads(): void };
}

/** The Emscripten factory settings this file passes. */
interface ThreadedFactoryConfig {
  locateFile(file: string, prefix: string): string | URL;
  mainScriptUrlOrBlob: string;
  instantiateWasm(imports: WebAssembly.Imports, receiveInstance: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void): WebAssembly.Exports;
  onAbort(reason: unknown): void;
}

/** tfjs's C++ caps XNNPACK's pool at 8 threads (the 8 pthread workers its build pre-creates). */
export const MAX_WASM_THREADS = 8;

function wasmPackageDir(): string {
  return path.dirname(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm")));
}

/**
 * The pthread worker as an ES module: tfjs's worker script (a string exported by
 * wasm-out/*.worker.js) after a CommonJS `require` and `__filename`, which that script uses to
 * reach `worker_threads` and `fs` and to evaluate the glue.
 */
function pthreadWorkerUrl(glueFile: string): URL {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js") as { wasmWorkerContents: string };
  const source = `import { createRequire } from "node:module";\n` +
    `const require = createRequire(${JSON.stringify(glueFile)});\n` +
    `const __filename = ${JSON.stringify(glueFile)};\n` +
    // The script sits in a template literal, so its strings' "\n" escapes arrived as newlines.
    wasmWorkerContents.replace(/\n/g, "\\n");
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

/**
 * The automatic thread count: this process's share of the CPUs it may use
 * (`os.availableParallelism()`, which follows the CPU affinity a scheduler such as Slurm
 * sets), at most {@link MAX_WASM_THREADS}. Study workers are started with NTKD_THREADS=1, since
 * there the processes already share the cores out.
 */
export function autoWasmThreads(): number {
  return Math.max(1, Math.min(MAX_WASM_THREADS, os.availableParallelism()));
}

/**
 * The number of threads wanted: env NTKD_THREADS when set (a positive integer, or "auto"), else
 * {@link autoWasmThreads}. Throws a one-line error on a malformed NTKD_THREADS.
 */
export function requestedWasmThreads(): number {
  const env = process.env.NTKD_THREADS?.trim();
  if (env === undefined || env === "" || env === "auto") return autoWasmThreads();
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`NTKD_THREADS="${process.env.NTKD_THREADS}" is not a thread count; expected a positive integer (1 = single-threaded wasm) or "auto"`);
  }
  return n;
}

/** Whether this Node can run the threaded build (shared memory and the threaded binary validate). */
export function wasmThreadsSupported(): boolean {
  if (typeof SharedArrayBuffer === "undefined") return false;
  const binary = fs.readFileSync(path.join(wasmPackageDir(), "dist", "tfjs-backend-wasm-threaded-simd.wasm"));
  return WebAssembly.validate(binary);
}

/**
 * Starts the threaded SIMD build of tfjs-backend-wasm with `threads` XNNPACK threads (the
 * caller's thread included) and wraps it in tfjs's BackendWasm. Rejects when the module aborts.
 */
export async function createThreadedWasmBackend(threads: number): Promise<BackendWasm> {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new Error(`createThreadedWasmBackend: threads must be an integer from 1 to ${MAX_WASM_THREADS}, got ${String(threads)}`);
  }
  const dir = wasmPackageDir();
  const glueFile = path.join(dir, "wasm-out", "tfjs-backend-wasm-threaded-simd.js");
  const compiled = new WebAssembly.Module(fs.readFileSync(path.join(dir, "dist", "tfjs-backend-wasm-threaded-simd.wasm")));
  const workerUrl = pthreadWorkerUrl(glueFile);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require(glueFile) as (config: ThreadedFactoryConfig) => Promise<ThreadedWasmModule>;
  let abortReason: unknown = null;
  const config: ThreadedFactoryConfig = {
    locateFile: (file, prefix) => (file.endsWith(".worker.js") ? workerUrl : prefix + file),
    mainScriptUrlOrBlob: glueFile,
    instantiateWasm(imports, receiveInstance) {
      // tfjs's C++ caps the pool at emscripten_num_logical_cores() / 2 (it assumes two
      // hyperthreads per core), read once by a static initialiser: report twice the count wanted.
      (imports.env as Record<string, unknown>).emscripten_num_logical_cores = () => 2 * threads;
      const instance = new WebAssembly.Instance(compiled, imports);
      // The module goes with the instance: the glue posts it to every worker it loads.
      receiveInstance(instance, compiled);
      return instance.exports;
    },
    onAbort(reason) {
      abortReason = reason;
    },
  };
  const module = await Promise.race([
    factory(config),
    new Promise<never>((_, reject) => {
      const poll = setInterval(() => {
        if (abortReason !== null) {
          clearInterval(poll);
          reject(new Error(`threaded wasm aborted: ${String(abortReason)}`));
        }
      }, 50);
      poll.unref();
    }),
  ]);
  wrapTfjsEntryPoints(module);
  // BackendWasm's constructor creates the pthreadpool with tfjs's module-level thread count.
  setThreadsCount(threads);
  const backend = new BackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
  // A running pthread's worker is ref'd by the glue; the pool's threads live as long as the
  // backend, so they must not hold the event loop open. Idle pool workers are not needed.
  for (const worker of module.PThread.runningWorkers) worker.unref();
  for (const worker of module.PThread.unusedWorkers.splice(0)) void worker.terminate();
  return backend;
}

/** XNNPACK's thread count of a wasm backend (1 for the single-threaded build), or null for another backend. */
export function wasmBackendThreads(backend: tf.KernelBackend): number | null {
  const wasm = (backend as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number }; PThread?: unknown } }).wasm;
  if (wasm?.tfjs?.getThreadsCount === undefined) return null;
  return wasm.PThread === undefined ? 1 : wasm.tfjs.getThreadsCount();
}

/**
 * Registers `backend` (a BackendWasm) under another name with every kernel registered for
 * "wasm" at the time of the call, ntkd-lab's training kernels included, so that a threaded and
 * the single-threaded wasm backend can be compared side by side in one process.
 */
export function registerWasmBackendAs(name: string, backend: tf.KernelBackend): void {
  if (name === "wasm") throw new Error(`registerWasmBackendAs: name must differ from "wasm"`);
  for (const kernel of tf.getKernelsForBackend("wasm")) {
    if (tf.getKernel(kernel.kernelName, name) !== undefined) tf.unregisterKernel(kernel.kernelName, name);
    tf.registerKernel({ ...kernel, backendName: name });
  }
  tf.registerBackend(name, () => backend, 0);
}

let threadsError: string | null = null;

/** Why the last {@link enableWasmThreads} left wasm single-threaded although more threads were asked for, or null. */
export function wasmThreadsError(): string | null {
  return threadsError;
}

/** The thread count of the backend registered as "wasm" when it is initialised, else null. */
function initialisedWasmThreads(): number | null {
  const existing = tf.engine().registry.wasm;
  return existing === undefined ? null : wasmBackendThreads(existing);
}

/** tfjs-backend-wasm's registration priority (its WASM_PRIORITY, not exported): kept when "wasm" is replaced. */
const WASM_PRIORITY = 2;

/**
 * Makes the "wasm" backend the threaded build with `threads` XNNPACK threads (default
 * {@link requestedWasmThreads}: NTKD_THREADS, else the CPUs this process may use; at most
 * {@link MAX_WASM_THREADS}). 1 keeps the single-threaded build. When the single-threaded backend
 * is already initialised and holds tensors, or this Node lacks shared wasm memory, nothing
 * changes and {@link wasmThreadsError} says why. Resolves to the thread count "wasm" runs with
 * (or will run with, once initialised: 1 for the single-threaded build).
 */
export async function enableWasmThreads(threads: number = requestedWasmThreads()): Promise<number> {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`enableWasmThreads (initBackend's threads option): threads must be a positive integer, got ${String(threads)}`);
  }
  const wanted = Math.min(threads, MAX_WASM_THREADS);
  const current = initialisedWasmThreads();
  threadsError = null;
  if (current === wanted || (wanted === 1 && current === null)) return wanted;
  if (tf.findBackendFactory("wasm") === null) {
    threadsError = "tfjs backend \"wasm\" is not registered";
    return 1;
  }
  if (wanted > 1 && !wasmThreadsSupported()) {
    threadsError = "this Node has no shared WebAssembly memory (SharedArrayBuffer) or cannot validate the threaded binary";
    return current ?? 1;
  }
  const existing = tf.engine().registry.wasm;
  const liveTensors = existing === undefined ? 0 : existing.numDataIds();
  if (liveTensors > 0) {
    threadsError = `the wasm backend (${current} thread${current === 1 ? "" : "s"}) already holds ${liveTensors} tensors, ` +
      "which a new backend would lose; call initBackend() before the first tensor op to change threads";
    return current ?? 1;
  }
  if (wanted === 1) {
    // Back to the single-threaded build: the synchronous factory ntkd-lab installs at import.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createWasmBackendSync } = require("./wasm-sync-init") as typeof import("./wasm-sync-init");
    await replaceWasmBackend(createWasmBackendSync(), false);
    return 1;
  }
  let backend: BackendWasm;
  try {
    backend = await createThreadedWasmBackend(wanted);
  } catch (err) {
    // The single-threaded build (started synchronously, or by tfjs's async init) remains usable.
    threadsError = `the threaded wasm build failed to start: ${err instanceof Error ? err.message : String(err)}`;
    return current ?? 1;
  }
  await replaceWasmBackend(backend, true);
  return wasmBackendThreads(backend) ?? 1;
}

/** Registers `backend` as "wasm" in place of the current one, re-selecting wasm when it was active. */
async function replaceWasmBackend(backend: tf.KernelBackend, multithreaded: boolean): Promise<void> {
  const wasActive = tf.engine().backendName === "wasm";
  tf.removeBackend("wasm"); // disposes the old backend (and terminates its pthreads)
  tf.registerBackend("wasm", () => backend, WASM_PRIORITY);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", multithreaded);
  // runtimeInfo() and tfjs's kernels read this flag synchronously; the threaded binary is the SIMD one.
  if (multithreaded) tf.env().set("WASM_HAS_SIMD_SUPPORT", true);
  if (wasActive) await tf.setBackend("wasm");
}
