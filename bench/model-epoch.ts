/**
 * Times one training epoch of any tfjs LayersModel (Adam, a given loss) on in-memory data, and
 * writes that exact data to disk so the PyTorch reference (bench/torch/models.py) trains on the
 * same batches: build batches, one warm-up step (optimizer slots, kernel setup), then the timed
 * epoch. Every epoch row uses it, LeNet-5's (bench/lenet-epoch.ts) included.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LayersModel, Scalar, Tensor } from "@tensorflow/tfjs";
import { tf } from "../src/runtime/tf";

/** Training data held in memory: inputs NHWC and one target tensor per sample. */
export interface EpochData {
  /** Input values, count·height·width·channels, NHWC row-major. */
  inputs: Float32Array;
  /** Shape of one input, [height, width, channels]. */
  inputShape: [number, number, number];
  /** Target values, count·(product of targetShape): one-hot rows for classification, masks for segmentation. */
  targets: Float32Array;
  /** Shape of one target, e.g. [10] (one-hot) or [32, 32, 1] (mask). */
  targetShape: number[];
  /** Number of samples. */
  count: number;
}

/** Options of {@link timeModelEpoch}. */
export interface ModelEpochOptions {
  /** Builds a fresh model (called once, after the leak counter is read, so its weights are counted and freed). */
  build: () => LayersModel;
  /** The data of the epoch, batched in order. */
  data: EpochData;
  /** Loss of one batch, from targets and model outputs (e.g. tf.losses.softmaxCrossEntropy). */
  loss: (targets: Tensor, outputs: Tensor) => Scalar;
  /** Batch size. */
  batch: number;
  /** Adam learning rate (default 1e-3, the project's default). */
  learningRate?: number;
  /** Time only this many batches and scale to the epoch (for very slow rows); default all. */
  timedBatches?: number;
}

/** Result of {@link timeModelEpoch}. */
export interface ModelEpochResult {
  /** Seconds of one epoch (measured, or scaled from `timedBatches`). */
  seconds: number;
  /** Batches actually timed. */
  timedBatches: number;
  /** Batches in the epoch. */
  batches: number;
  /** Loss of the last timed batch (a NaN here means the kernels are broken). */
  finalLoss: number;
  /** Scalar parameters of the model (to compare with the PyTorch model). */
  params: number;
}

/** Builds the model and batches, runs one warm-up step, then times the epoch on the active backend. */
export async function timeModelEpoch(opts: ModelEpochOptions): Promise<ModelEpochResult> {
  const { data, batch } = opts;
  checkData(data);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`timeModelEpoch: batch must be a positive integer, got ${batch}`);
  const tensorsBefore = tf.memory().numTensors;
  const model = opts.build();
  const optimizer = tf.train.adam(opts.learningRate ?? 1e-3);
  const inputSize = data.inputShape.reduce((a, b) => a * b, 1);
  const targetSize = data.targetShape.reduce((a, b) => a * b, 1);
  const batches: Array<{ x: Tensor; y: Tensor }> = [];
  for (let start = 0; start < data.count; start += batch) {
    const size = Math.min(batch, data.count - start);
    batches.push({
      x: tf.tensor(data.inputs.subarray(start * inputSize, (start + size) * inputSize), [size, ...data.inputShape]),
      y: tf.tensor(data.targets.subarray(start * targetSize, (start + size) * targetSize), [size, ...data.targetShape]),
    });
  }
  const step = (b: { x: Tensor; y: Tensor }) =>
    optimizer.minimize(() => opts.loss(b.y, model.apply(b.x, { training: true }) as Tensor), true) as Scalar;
  let last: Scalar | null = null;
  try {
    step(batches[0]).dispose(); // warm-up: optimizer slots, kernel setup
    const timed = Math.min(opts.timedBatches ?? batches.length, batches.length);
    const t0 = performance.now();
    for (let i = 0; i < timed; i++) {
      last?.dispose();
      last = step(batches[i]);
    }
    const finalLoss = (await last!.data())[0];
    const seconds = ((performance.now() - t0) / 1000) * (batches.length / timed);
    return { seconds, timedBatches: timed, batches: batches.length, finalLoss, params: model.countParams() };
  } finally {
    last?.dispose();
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    optimizer.dispose();
    model.dispose();
    const leaked = tf.memory().numTensors - tensorsBefore;
    if (leaked !== 0) throw new Error(`timeModelEpoch: ${leaked} tensor(s) leaked by one epoch`);
  }
}

function checkData(d: EpochData): void {
  const per = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(d.count) || d.count < 1) throw new Error(`EpochData: count must be a positive integer, got ${d.count}`);
  if (d.inputs.length !== d.count * per(d.inputShape)) {
    throw new Error(`EpochData: ${d.count} inputs of [${d.inputShape}] need ${d.count * per(d.inputShape)} values, got ${d.inputs.length}`);
  }
  if (d.targets.length !== d.count * per(d.targetShape)) {
    throw new Error(`EpochData: ${d.count} targets of [${d.targetShape}] need ${d.count * per(d.targetShape)} values, got ${d.targets.length}`);
  }
}

/** One-hot float rows for integer labels (the targets of softmax cross-entropy). */
export function oneHotRows(labels: ArrayLike<number>, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new Error(`oneHotRows: label ${i} is ${c}, expected 0..${classes - 1}`);
    out[i * classes + c] = 1;
  }
  return out;
}

/**
 * Writes the data for bench/torch/models.py into a fresh temporary folder: inputs.f32 and
 * targets.f32 (little-endian float32, NHWC and target order as in memory) and meta.json with
 * the shapes. Returns the folder; the caller removes it with {@link removeEpochData}.
 * Writing the exact arrays (rather than re-implementing the loaders in Python) guarantees
 * both frameworks train on identical batches.
 */
export function writeEpochData(data: EpochData): string {
  checkData(data);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-bench-"));
  const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (os.endianness() !== "LE") throw new Error("writeEpochData: the PyTorch side reads little-endian float32");
  fs.writeFileSync(path.join(dir, "inputs.f32"), bytes(data.inputs));
  fs.writeFileSync(path.join(dir, "targets.f32"), bytes(data.targets));
  fs.writeFileSync(path.join(dir, "meta.json"), JSON.stringify({ count: data.count, inputShape: data.inputShape, targetShape: data.targetShape }));
  return dir;
}

/** Removes a folder made by {@link writeEpochData}. */
export function removeEpochData(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
