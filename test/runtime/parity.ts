/** Helpers for comparing a kernel on wasm against tfjs's cpu backend (the reference). */
import { tf } from "../../src/runtime/tf";
import { makeRng } from "../../src/runtime/seed";

export interface HostTensor {
  shape: number[];
  values: Float32Array | Int32Array;
  dtype: "float32" | "int32";
}

export function randomTensor(shape: number[], seed: number, transform: (v: number) => number = (v) => v): HostTensor {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = transform(rng() * 2 - 1);
  return { shape, values, dtype: "float32" };
}

/** Runs one kernel on the named backend (which must already be initialised) and returns its output on the host. */
export async function runOn(backend: "cpu" | "wasm", kernel: string, inputs: Record<string, HostTensor>, attrs: Record<string, unknown>): Promise<HostTensor> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  // Our kernels' intermediates never reach the engine; the backend's buffer count catches them.
  const buffersBefore = tf.backend().numDataIds();
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) tensors[k] = tf.tensor(v.values, v.shape, v.dtype);
  const out = tf.engine().runKernel(kernel, tensors as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
  const values = (await out.data()) as Float32Array | Int32Array;
  const result: HostTensor = { shape: out.shape, values: values.slice(), dtype: out.dtype as "float32" | "int32" };
  out.dispose();
  for (const t of Object.values(tensors)) t.dispose();
  if (tf.memory().numTensors !== before) throw new Error(`${kernel} on ${backend} leaked ${tf.memory().numTensors - before} tensor(s)`);
  if (tf.backend().numDataIds() !== buffersBefore) {
    throw new Error(`${kernel} on ${backend} leaked ${tf.backend().numDataIds() - buffersBefore} backend buffer(s)`);
  }
  return result;
}

/** max |a - b| / max(|ref|, tiny): the error relative to the output's scale. */
export function relativeMaxError(actual: HostTensor, reference: HostTensor): number {
  if (actual.shape.join("x") !== reference.shape.join("x")) {
    throw new Error(`shape mismatch: got [${actual.shape}], expected [${reference.shape}]`);
  }
  let maxErr = 0;
  let scale = 0;
  for (let i = 0; i < reference.values.length; i++) {
    const a = actual.values[i], r = reference.values[i];
    if (Number.isNaN(a) || Number.isNaN(r)) return Number.POSITIVE_INFINITY;
    maxErr = Math.max(maxErr, Math.abs(a - r));
    scale = Math.max(scale, Math.abs(r));
  }
  return maxErr / Math.max(scale, 1e-12);
}
