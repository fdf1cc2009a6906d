/** ntkd-lab version (kept equal to package.json; runtimeInfo() reads package.json itself). */
export const VERSION = "0.1.0";
export { tf } from "./tf";
export * from "./backend";
export * from "./seed";
export * from "./memory";
export * from "./profile";
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from "./wasm-kernels";
