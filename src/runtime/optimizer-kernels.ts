/**
 * One kernel per weight for the optimizer update (Adam, SGD with momentum) on the wasm and cpu
 * backends, instead of the 12-16 elementwise ops (and their scalar uploads) that the update
 * takes when written with tf ops.
 *
 * Each kernel is one pass over the weight, its gradient and its slots, and it reproduces the
 * op-by-op update bit for bit: every intermediate is rounded to float32 (`Math.fround`) where a
 * float32 tensor op would round it, and every scalar is the float32 value a scalar tensor would
 * hold. (+, −, ×, ÷ and √ computed in float64 and rounded once to float32 are the correctly
 * rounded float32 results.) So checkpoints written before this kernel existed resume exactly,
 * and the backends that lack it (tfjs-node) compute the same numbers with the ops.
 */
import { tf } from "./tfjs-packages";

type TensorInfo = tf.TensorInfo;
type NamedAttrMap = tf.NamedAttrMap;

/** Kernel names (inputs theta, g and the slots; outputs the new theta and slots). */
export const ADAM_UPDATE_KERNEL = "NtkdAdamUpdate";
export const SGD_UPDATE_KERNEL = "NtkdSgdUpdate";

/** Attributes of {@link ADAM_UPDATE_KERNEL}. */
export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Learning rate. */
  lr: number;
  /** Bias corrections 1 − β1^t and 1 − β2^t (computed in float64 by the caller). */
  bc1: number;
  bc2: number;
  /** L2 weight decay added to the gradient (0 = none). */
  weightDecay: number;
}

/** Attributes of {@link SGD_UPDATE_KERNEL}. */
export interface SgdUpdateAttrs {
  /** Momentum μ (0 = plain SGD: the buffer is the gradient). */
  momentum: number;
  lr: number;
  weightDecay: number;
}

type F32 = Float32Array;
const f = Math.fround;

/**
 * m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; θ ← θ − lr · (m / bc1) / (√(v / bc2) + ε), with
 * g ← g + wd·θ first when wd > 0: the order of the ops in src/train/optimizers.ts.
 */
function adamPass(theta: F32, g: F32, m: F32, v: F32, outTheta: F32, outM: F32, outV: F32, a: AdamUpdateAttrs): void {
  const b1 = f(a.beta1), c1 = f(1 - a.beta1), b2 = f(a.beta2), c2 = f(1 - a.beta2);
  const bc1 = f(a.bc1), bc2 = f(a.bc2), eps = f(a.epsilon), lr = f(a.lr), wd = f(a.weightDecay);
  const decay = a.weightDecay > 0;
  for (let i = 0; i < theta.length; i++) {
    const t = theta[i];
    const gi = decay ? f(g[i] + f(t * wd)) : g[i];
    const mi = f(f(m[i] * b1) + f(gi * c1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * c2));
    const update = f(f(mi / bc1) / f(f(Math.sqrt(f(vi / bc2))) + eps));
    outM[i] = mi;
    outV[i] = vi;
    outTheta[i] = f(t - f(update * lr));
  }
}

/** buf ← μ·buf + g (or g when μ = 0); θ ← θ − lr·buf, with g ← g + wd·θ first when wd > 0. */
function sgdPass(theta: F32, g: F32, buf: F32, outTheta: F32, outBuf: F32, a: SgdUpdateAttrs): void {
  const mu = f(a.momentum), lr = f(a.lr), wd = f(a.weightDecay);
  const decay = a.weightDecay > 0;
  for (let i = 0; i < theta.length; i++) {
    const t = theta[i];
    const gi = decay ? f(g[i] + f(t * wd)) : g[i];
    const bi = a.momentum > 0 ? f(f(buf[i] * mu) + gi) : gi;
    outBuf[i] = bi;
    outTheta[i] = f(t - f(bi * lr));
  }
}

/** The two ways a kernel reaches tensor memory: the wasm heap, or the cpu backend's arrays. */
interface Memory {
  read(x: TensorInfo): F32;
  /** Allocates the outputs (all before any view is taken: allocation may move the wasm heap). */
  outputs(shape: number[], count: number): { infos: TensorInfo[]; views: () => F32[] };
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): F32;
}

interface CpuBackendLike {
  data: { get(dataId: object): { values: F32 } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: F32): TensorInfo;
}

function wasmMemory(backend: WasmBackendLike): Memory {
  return {
    read: (x) => backend.typedArrayFromHeap(x),
    outputs: (shape, count) => {
      const infos = Array.from({ length: count }, () => backend.makeOutput(shape, "float32"));
      return { infos, views: () => infos.map((i) => backend.typedArrayFromHeap(i)) };
    },
  };
}

function cpuMemory(backend: CpuBackendLike): Memory {
  return {
    read: (x) => backend.data.get(x.dataId).values,
    outputs: (shape, count) => {
      const arrays = Array.from({ length: count }, () => new Float32Array(shape.reduce((p, q) => p * q, 1)));
      const infos = arrays.map((values) => backend.makeTensorInfo(shape, "float32", values));
      return { infos, views: () => arrays };
    },
  };
}

function checkInputs(kernel: string, inputs: Record<string, TensorInfo>): void {
  const shape = inputs.theta.shape;
  for (const [name, t] of Object.entries(inputs)) {
    if (t.dtype !== "float32") throw new Error(`${kernel}: input ${name} must be float32, got ${t.dtype}`);
    if (!tf.util.arraysEqual(t.shape, shape)) throw new Error(`${kernel}: input ${name} has shape ${JSON.stringify(t.shape)}, expected theta's ${JSON.stringify(shape)}`);
  }
}

function adamKernel(memoryOf: (backend: unknown) => Memory): tf.KernelFunc {
  return ((args: { inputs: Record<string, TensorInfo>; attrs?: NamedAttrMap; backend: unknown }): TensorInfo[] => {
    const { theta, g, m, v } = args.inputs;
    checkInputs(ADAM_UPDATE_KERNEL, { theta, g, m, v });
    const memory = memoryOf(args.backend);
    const out = memory.outputs(theta.shape, 3);
    const [outTheta, outM, outV] = out.views();
    adamPass(memory.read(theta), memory.read(g), memory.read(m), memory.read(v), outTheta, outM, outV, args.attrs as unknown as AdamUpdateAttrs);
    return out.infos;
  }) as unknown as tf.KernelFunc;
}

function sgdKernel(memoryOf: (backend: unknown) => Memory): tf.KernelFunc {
  return ((args: { inputs: Record<string, TensorInfo>; attrs?: NamedAttrMap; backend: unknown }): TensorInfo[] => {
    const { theta, g, buf } = args.inputs;
    checkInputs(SGD_UPDATE_KERNEL, { theta, g, buf });
    const memory = memoryOf(args.backend);
    const out = memory.outputs(theta.shape, 2);
    const [outTheta, outBuf] = out.views();
    sgdPass(memory.read(theta), memory.read(g), memory.read(buf), outTheta, outBuf, args.attrs as unknown as SgdUpdateAttrs);
    return out.infos;
  }) as unknown as tf.KernelFunc;
}

const BACKENDS: Record<string, (backend: unknown) => Memory> = {
  wasm: (b) => wasmMemory(b as WasmBackendLike),
  cpu: (b) => cpuMemory(b as CpuBackendLike),
};

let registered = false;

/** Registers both kernels for wasm and cpu. Idempotent; importing src/runtime/tf calls it. */
export function registerOptimizerKernels(): void {
  if (registered) return;
  for (const [backendName, memoryOf] of Object.entries(BACKENDS)) {
    tf.registerKernel({ kernelName: ADAM_UPDATE_KERNEL, backendName, kernelFunc: adamKernel(memoryOf) });
    tf.registerKernel({ kernelName: SGD_UPDATE_KERNEL, backendName, kernelFunc: sgdKernel(memoryOf) });
  }
  registered = true;
}

/** Whether the active backend has the fused update kernels (else the caller uses tf ops). */
export function hasOptimizerKernels(): boolean {
  return tf.getKernel(ADAM_UPDATE_KERNEL, tf.getBackend()) !== undefined;
}
