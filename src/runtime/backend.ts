/**
 * Backend choice: tfjs-node ("tensorflow") > wasm > cpu, or the one env NTKD_BACKEND forces.
 */
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";
import { tf, tfjsNodeError } from "./tf";
import { registerWasmTrainingKernels } from "./wasm-kernels";
import { enableWasmThreads, wasmBackendThreads } from "./wasm-threads";

/** Our backend names, as users write them. */
export type BackendName = "node" | "wasm" | "cpu";

/** The names users may pass, in order of preference. */
export const BACKEND_NAMES: readonly BackendName[] = ["node", "wasm", "cpu"];

/** tfjs's registry name for each of our backend names. */
const TFJS_NAME: Record<BackendName, string> = { node: "tensorflow", wasm: "wasm", cpu: "cpu" };

/** Options of `initBackend`. */
export interface InitBackendOptions {
  /**
   * Backend to use. When absent, env NTKD_BACKEND decides; when that is unset too, the
   * fastest available one is taken (node > wasm > cpu). An explicit value overrides the env.
   */
  backend?: BackendName;
  /**
   * XNNPACK threads of the wasm backend (ignored by the others). When absent, env NTKD_THREADS
   * decides; when that is unset too (or "auto"), the CPUs this process may use (at most 8). 1 keeps the
   * single-threaded build that importing ntkd-lab starts; more start tfjs's threaded build,
   * unless the single-threaded backend already holds tensors (see `wasmThreadsError()`).
   */
  threads?: number;
}

/** What the process computes on, for logs, notebooks and benchmark tables. */
export interface RuntimeInfo {
  /** Our name of the active backend. */
  backend: BackendName;
  /** Version of @tensorflow/tfjs. */
  tfjsVersion: string;
  /** Whether the wasm backend runs its SIMD build (false when wasm is not active). */
  wasmSimd: boolean;
  /** Whether the wasm backend runs multithreaded (false when wasm is not active). */
  wasmThreads: boolean;
  /** XNNPACK threads of the wasm backend, the calling thread included (0 when wasm is not active). */
  wasmThreadCount: number;
  /** Node.js version, e.g. "v20.20.2". */
  nodeVersion: string;
  /** `process.platform` and `process.arch`, e.g. "linux-x64". */
  platform: string;
  /** Number of logical CPUs. */
  cpus: number;
  /** Version of ntkd-lab, from its package.json. */
  ntkdLabVersion: string;
}

let active: BackendName | null = null;

function isBackendName(v: string): v is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(v);
}

function available(name: BackendName): boolean {
  return tf.findBackendFactory(TFJS_NAME[name]) != null;
}

function unavailableReason(name: BackendName): string {
  if (name === "node") {
    const why = tfjsNodeError() ?? "its backend did not register";
    return `@tensorflow/tfjs-node is not usable (${why}); install it with ` +
      "`npm install @tensorflow/tfjs-node` on a machine that can download libtensorflow, " +
      "or choose NTKD_BACKEND=wasm";
  }
  return `tfjs backend "${TFJS_NAME[name]}" is not registered`;
}

function requestedBackend(opts: InitBackendOptions): BackendName | null {
  if (opts.backend !== undefined) {
    if (!isBackendName(opts.backend)) {
      throw new Error(`initBackend: unknown backend "${String(opts.backend)}"; expected one of ${BACKEND_NAMES.join(", ")}`);
    }
    return opts.backend;
  }
  const env = process.env.NTKD_BACKEND;
  if (env === undefined || env === "") return null;
  if (!isBackendName(env)) {
    throw new Error(`NTKD_BACKEND="${env}" is not a backend; expected one of ${BACKEND_NAMES.join(", ")}`);
  }
  return env;
}

async function activate(name: BackendName, threads: number | undefined): Promise<boolean> {
  if (name === "wasm") await enableWasmThreads(threads);
  const ok = await tf.setBackend(TFJS_NAME[name]);
  if (!ok) return false;
  await tf.ready();
  if (name === "wasm") registerWasmTrainingKernels();
  active = name;
  return true;
}

/**
 * Selects and initialises the compute backend. Idempotent: a second call with the same
 * (or no) request returns the active backend's info; a different explicit request switches.
 * Throws when the requested backend (argument or NTKD_BACKEND) is unknown or unavailable.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<RuntimeInfo> {
  const wanted = requestedBackend(opts);
  if (wanted !== null) {
    if (active === wanted && tf.getBackend() === TFJS_NAME[wanted] && opts.threads === undefined) return runtimeInfo();
    const source = opts.backend !== undefined ? `initBackend({ backend: "${wanted}" })` : `NTKD_BACKEND=${wanted}`;
    if (!available(wanted)) throw new Error(`${source}: ${unavailableReason(wanted)}`);
    if (!(await activate(wanted, opts.threads))) throw new Error(`${source}: tfjs failed to initialise backend "${TFJS_NAME[wanted]}"`);
    return runtimeInfo();
  }
  if (active !== null && tf.getBackend() === TFJS_NAME[active] && opts.threads === undefined) return runtimeInfo();
  for (const name of BACKEND_NAMES) {
    if (available(name) && (await activate(name, opts.threads))) return runtimeInfo();
  }
  throw new Error(`initBackend: none of the backends ${BACKEND_NAMES.join(", ")} could be initialised`);
}

function ourName(tfjsName: string): BackendName {
  const found = BACKEND_NAMES.find((n) => TFJS_NAME[n] === tfjsName);
  if (found === undefined) throw new Error(`runtimeInfo: active tfjs backend "${tfjsName}" is not one of ntkd-lab's (${BACKEND_NAMES.join(", ")})`);
  return found;
}

let packageVersion: string | null = null;

function ntkdLabVersion(): string {
  if (packageVersion === null) {
    // Walk up from this file: it runs from dist/runtime, dist-test/src/runtime or .build/*/src/runtime.
    let dir = __dirname;
    for (;;) {
      const candidate = path.join(dir, "package.json");
      if (fs.existsSync(candidate)) {
        const pkg = JSON.parse(fs.readFileSync(candidate, "utf8")) as { name?: string; version?: string };
        if (pkg.name === "ntkd-lab" && typeof pkg.version === "string") {
          packageVersion = pkg.version;
          break;
        }
      }
      const parent = path.dirname(dir);
      if (parent === dir) throw new Error(`runtimeInfo: no package.json of ntkd-lab above ${__dirname}`);
      dir = parent;
    }
  }
  return packageVersion;
}

/** Describes the active backend and the machine. Makes tfjs's default choice if none was made. */
export function runtimeInfo(): RuntimeInfo {
  // tf.getBackend() only reads the name, which is unset until the first op; tf.backend() chooses.
  tf.backend();
  const backend = ourName(tf.getBackend());
  const wasm = backend === "wasm";
  const wasmThreadCount = wasm ? wasmBackendThreads(tf.backend()) ?? 1 : 0;
  return {
    backend,
    tfjsVersion: tf.version.tfjs,
    wasmSimd: wasm && tf.env().getBool("WASM_HAS_SIMD_SUPPORT"),
    wasmThreads: wasmThreadCount > 1,
    wasmThreadCount,
    nodeVersion: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: os.cpus().length,
    ntkdLabVersion: ntkdLabVersion(),
  };
}
