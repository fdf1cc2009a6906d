/**
 * Synchronous initialisation of tfjs's wasm backend in Node.
 *
 * tfjs-backend-wasm registers "wasm" at import (priority 2, above cpu's 1) with an async
 * factory, so the first tensor op after an import throws "backend 'wasm' has not yet been
 * initialized" unless the user awaits `tf.ready()` first. Node compiles and instantiates a
 * WebAssembly module synchronously without size limits, and the Emscripten glue finishes its
 * start-up synchronously when `instantiateWasm` hands it an instance, so the backend can be
 * built inside tfjs's lazy default choice. tfjs's engine accepts a factory that returns a
 * backend (not a promise) and then initialises it on the spot, as it does for cpu.
 *
 * The factory is replaced with one that does exactly what tfjs 4.22's async `init()` does for
 * Node (no threads there; the SIMD binary when the engine validates it), only synchronously.
 * When that fails the original async factory is used, so `await tf.ready()` keeps working.
 * `setWasmPaths` is not consulted on the synchronous path: in Node the binaries are read from the
 * installed @tensorflow/tfjs-backend-wasm package, which is where tfjs's init() finds them too.
 * This is the single-threaded build only: the threaded one cannot start synchronously and is
 * swapped in by `initBackend()` (./wasm-threads).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "./tfjs-packages";

/** tfjs-backend-wasm 4.22's registration priority (its WASM_PRIORITY, not exported). */
const WASM_PRIORITY = 2;

/** What the Emscripten module of tfjs-backend-wasm exposes after start-up (its wasm-out/*.d.ts). */
interface EmscriptenWasmModule {
  calledRun?: boolean;
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  tfjs?: Record<string, (...args: number[]) => number>;
}

/** The Emscripten factory's settings that this file uses. */
interface WasmFactoryConfig {
  instantiateWasm(imports: WebAssembly.Imports, receiveInstance: (instance: WebAssembly.Instance) => void): WebAssembly.Exports;
}

/**
 * Wraps the C entry points that tfjs's init() wraps before it constructs BackendWasm, for a
 * module started by hand (here, and the threaded build in wasm-threads.ts).
 */
export function wrapTfjsEntryPoints(module: Pick<EmscriptenWasmModule, "cwrap" | "tfjs">): void {
  module.tfjs = {
    init: module.cwrap("init", null, []),
    initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: module.cwrap("get_threads_count", "number", []),
    registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: module.cwrap("dispose_data", null, ["number"]),
    dispose: module.cwrap("dispose", null, []),
  };
}

let syncInitError: string | null = null;

/** Why the last synchronous wasm initialisation failed (tfjs's async one was used), or null. */
export function wasmSyncInitError(): string | null {
  return syncInitError;
}

function hasSimdFlagOverride(): boolean | undefined {
  const flags = tf.env().getFlags();
  return "WASM_HAS_SIMD_SUPPORT" in flags ? Boolean(flags.WASM_HAS_SIMD_SUPPORT) : undefined;
}

/** Builds tfjs's BackendWasm without awaiting anything; throws when that is not possible. */
export function createWasmBackendSync(): tf.KernelBackend {
  const distDir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm"));
  const simdBinary = fs.readFileSync(path.join(distDir, "tfjs-backend-wasm-simd.wasm"));
  // A user who set the flag (e.g. to false, to compare builds) is obeyed, as tfjs's init() does.
  const simd = hasSimdFlagOverride() ?? WebAssembly.validate(simdBinary);
  const binary = simd ? simdBinary : fs.readFileSync(path.join(distDir, "tfjs-backend-wasm.wasm"));
  // The one Emscripten glue serves the plain and SIMD binaries (tfjs's init() uses it for both).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.js") as (config: WasmFactoryConfig) => Promise<unknown>;
  const compiled = new WebAssembly.Module(binary);
  let instantiateError: unknown = null;
  const config: WasmFactoryConfig = {
    instantiateWasm(imports, receiveInstance) {
      try {
        const instance = new WebAssembly.Instance(compiled, imports);
        receiveInstance(instance);
        return instance.exports;
      } catch (err) {
        instantiateError = err; // Emscripten only logs what this callback throws
        throw err;
      }
    },
  };
  // The returned promise resolves with `config` itself once start-up ran, which here is now.
  factory(config).catch(() => undefined);
  if (instantiateError !== null) throw instantiateError;
  const module = config as unknown as EmscriptenWasmModule;
  if (module.calledRun !== true) throw new Error("the Emscripten module of tfjs-backend-wasm did not start synchronously");
  wrapTfjsEntryPoints(module);
  // runtimeInfo() and tfjs's kernels read these flags synchronously; tfjs's own evaluation is async.
  tf.env().set("WASM_HAS_SIMD_SUPPORT", simd);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  return new BackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
}

let installed = false;

/**
 * Replaces the "wasm" backend factory by one that initialises synchronously (falling back to
 * tfjs's async one), keeping its priority, so the first op after import can run on wasm.
 * Idempotent; a no-op outside Node or once wasm has been initialised.
 */
export function makeWasmInitSynchronous(): void {
  if (installed) return;
  installed = true;
  if (typeof process === "undefined" || typeof process.versions?.node !== "string") return;
  const asyncFactory = tf.findBackendFactory("wasm");
  if (asyncFactory === null || tf.engine().registry.wasm !== undefined) return;
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", () => {
    try {
      const backend = createWasmBackendSync();
      syncInitError = null;
      return backend;
    } catch (err) {
      syncInitError = err instanceof Error ? err.message : String(err);
      return asyncFactory();
    }
  }, WASM_PRIORITY);
}
