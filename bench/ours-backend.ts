/**
 * ntkd-lab's wasm at a given thread count, for rows compared with PyTorch at equal threads:
 * 1 thread is the single-threaded SIMD build that importing ntkd-lab starts ("wasm"); 2 threads
 * is tfjs's threaded SIMD build with a 2-thread XNNPACK pool, registered beside it as
 * "wasm-threads-2" with every kernel registered for "wasm" (ntkd-lab's training kernels
 * included). Both live in one process, so that one bench run times both; the threaded one
 * starts once (its 8 pthread workers take a second or two) and is reused.
 */
import { initBackend } from "../src/runtime/backend";
import { tf } from "../src/runtime/tf";
import { useWasmKernelOverrides } from "../src/runtime/wasm-kernels";
import {
  createThreadedWasmBackend, registerWasmBackendAs, wasmBackendThreads, wasmThreadsSupported,
} from "../src/runtime/wasm-threads";
import { BenchSkip } from "./cases/types";

/** Thread counts our rows are timed at (this machine has 2 cores). */
export type OurThreads = 1 | 2;

/** tfjs's name of the threaded backend the 2-thread rows run on. */
export const THREADED_WASM = "wasm-threads-2";

let threadedStart: Promise<void> | null = null;

/**
 * Registers the threaded backend once. Registration copies the kernels registered for "wasm"
 * at that moment, so it happens with our kernel overrides on (the caller has just set them).
 */
function startThreaded(): Promise<void> {
  threadedStart ??= (async () => {
    if (!wasmThreadsSupported()) {
      throw new BenchSkip("this Node has no shared WebAssembly memory: no threaded wasm");
    }
    registerWasmBackendAs(THREADED_WASM, await createThreadedWasmBackend(2));
  })();
  return threadedStart;
}

/**
 * Makes ntkd-lab's wasm with `threads` XNNPACK threads the active backend, with our kernel
 * overrides on, and returns the thread count it runs with (checked: a "wasm" that is already
 * threaded, e.g. through NTKD_THREADS and tensors it holds, would make a 1-thread row lie).
 * tf.setBackend re-runs every kernel's setup, which binds tfjs's module-level C entry points
 * to the active backend's module: both builds can therefore be used in turn, never at once.
 */
export async function useOurWasm(threads: OurThreads): Promise<number> {
  await initBackend({ backend: "wasm", threads: 1 });
  useWasmKernelOverrides(true);
  if (threads === 2) {
    await startThreaded();
    await tf.setBackend(THREADED_WASM);
  }
  const actual = wasmBackendThreads(tf.backend());
  if (actual !== threads) {
    throw new Error(`useOurWasm(${threads}): the active wasm backend runs ${String(actual)} thread(s); ` +
      "unset NTKD_THREADS");
  }
  return actual;
}
