/**
 * The runtime under everything else: the one tfjs engine (`tf`), the backend choice
 * (tfjs-node > wasm > cpu, or NTKD_BACKEND; `initBackend`, `runtimeInfo`), ntkd-lab's wasm
 * training kernels, the seeded random numbers every folder uses, tensor-leak guards and
 * per-kernel profiles, and the process-tree rules that stop every process ntkd-lab starts when
 * its runner is gone. Importing it (or anything of ntkd-lab) makes the backend ready: the
 * first op runs on the best backend with every training kernel registered.
 * Imports nothing of ntkd-lab.
 */
/** ntkd-lab version (kept equal to package.json; runtimeInfo() reads package.json itself). */
export const VERSION = "0.1.0";
export { tf } from "./tf";
export * from "./backend";
export * from "./seed";
export * from "./memory";
export * from "./profile";
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from "./wasm-kernels";
export { autoWasmThreads, enableWasmThreads, requestedWasmThreads, wasmThreadsError, MAX_WASM_THREADS } from "./wasm-threads";
export * from "./process-tree";
