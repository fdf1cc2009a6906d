/**
 * The single tfjs instance of ntkd-lab. Every module imports `tf` from here so that all
 * tensors, kernels and backends live on one `@tensorflow/tfjs-core` engine.
 *
 * Importing this module makes that engine ready to train, with no call to await: the wasm
 * backend gets ntkd-lab's training kernels (the filter gradients wasm lacks, among others)
 * and initialises synchronously on first use, so the first tensor op after
 * `import ... from "ntkd-lab"` runs on the best backend tfjs finds (tfjs-node's "tensorflow"
 * when installed, else wasm) with every kernel a gradient step needs. NTKD_BACKEND=cpu or
 * =wasm selects that backend here already; `initBackend()` remains the explicit way, the one
 * that reports an unknown or unavailable NTKD_BACKEND, and the one that starts wasm's threaded
 * build (NTKD_THREADS; ./wasm-threads): the import gives the single-threaded one.
 */
import { tf, tfjsNodeError } from "./tfjs-packages";
import { registerWasmTrainingKernels } from "./wasm-kernels";
import { makeWasmInitSynchronous } from "./wasm-sync-init";

/** Applies NTKD_BACKEND when it names a backend that starts synchronously; others wait for initBackend. */
function selectBackendFromEnvironment(): void {
  const wanted = process.env.NTKD_BACKEND;
  // Our names "cpu" and "wasm" are tfjs's names; "node" needs nothing: tfjs ranks "tensorflow" first.
  if (wanted === "cpu" || wanted === "wasm") void tf.setBackend(wanted);
}

registerWasmTrainingKernels();
makeWasmInitSynchronous();
selectBackendFromEnvironment();

export { tf, tfjsNodeError };
