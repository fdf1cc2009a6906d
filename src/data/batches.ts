/**
 * From in-memory data sets to tfjs tensors: whole sets or seeded, reshuffling mini-batches.
 * Tensors are built directly from typed arrays, so no intermediate tensors are created and the
 * caller owns (and must dispose) exactly the tensors it receives.
 */
import { tf } from "../runtime/tf";
import type { ChannelStats } from "./normalize";
import { mixSeed, permutation } from "./rng";
import type { AnyDataset } from "./splits";
import type { ImageDataset, SegmentationDataset } from "./types";

/** Tensors of a classification batch of n samples. */
export interface ImageBatch {
  /** Images, shape [n, height, width, channels], float32 (in [0, 1] unless normalised). */
  x: tf.Tensor4D;
  /** One-hot targets, shape [n, classes], float32. */
  y: tf.Tensor2D;
  /** Class indices, shape [n], int32. */
  labels: tf.Tensor1D;
}

/** Tensors of a segmentation batch of n samples. */
export interface SegmentationBatch {
  /** Images, shape [n, height, width, channels], float32 (in [0, 1] unless normalised). */
  x: tf.Tensor4D;
  /** Binary masks (object = 1), shape [n, height, width, 1], float32. */
  y: tf.Tensor4D;
}

/** Options of {@link toTensors}. */
export interface ToTensorsOptions {
  /** Standardise pixels with these per-channel statistics (computed on the training split). */
  normalize?: ChannelStats;
}

/** Options of {@link batches} and {@link createBatcher}. */
export interface BatchOptions extends ToTensorsOptions {
  /** Samples per batch (a positive integer). */
  batchSize: number;
  /** Shuffle the sample order each epoch. Default true. */
  shuffle?: boolean;
  /** Integer seed of the shuffles; epoch e uses a permutation derived from (seed, e). Default 0. */
  seed?: number;
  /** Drop the last batch when it has fewer than `batchSize` samples. Default false. */
  dropLast?: boolean;
  /** Epoch number, which selects the shuffle (for {@link batches}; the batcher counts by itself). Default 0. */
  epoch?: number;
  /** Draw batches from these samples only (default: all), e.g. a split's train indices. */
  indices?: ArrayLike<number>;
}

function isLabelled(ds: AnyDataset): ds is ImageDataset {
  return (ds as ImageDataset).labels !== undefined;
}

function gatherImages(ds: AnyDataset, indices: ArrayLike<number>, normalize?: ChannelStats): Float32Array {
  const c = ds.channels;
  const pixels = ds.height * ds.width * c;
  if (normalize && (normalize.mean.length !== c || normalize.std.length !== c)) {
    throw new Error(`normalize: statistics for ${normalize.mean.length} channel(s); expected ${c} for ${ds.name}`);
  }
  const out = new Float32Array(indices.length * pixels);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) {
      throw new Error(`indices[${k}]: got ${i}; expected an integer in 0..${ds.count - 1} (${ds.name})`);
    }
    out.set(ds.images.subarray(i * pixels, (i + 1) * pixels), k * pixels);
  }
  if (normalize) {
    for (let j = 0; j < out.length; j++) out[j] = (out[j]! - normalize.mean[j % c]!) / normalize.std[j % c]!;
  }
  return out;
}

/** Image tensors of the samples at `indices` (all samples when omitted), in that order. */
export function toTensors(ds: ImageDataset, indices?: ArrayLike<number>, opts?: ToTensorsOptions): ImageBatch;
/** Image and mask tensors of the samples at `indices` (all samples when omitted), in that order. */
export function toTensors(ds: SegmentationDataset, indices?: ArrayLike<number>, opts?: ToTensorsOptions): SegmentationBatch;
export function toTensors(ds: AnyDataset, indices?: ArrayLike<number>, opts?: ToTensorsOptions): ImageBatch | SegmentationBatch;
export function toTensors(ds: AnyDataset, indices?: ArrayLike<number>, opts: ToTensorsOptions = {}): ImageBatch | SegmentationBatch {
  const order = indices ?? Int32Array.from({ length: ds.count }, (_, i) => i);
  const n = order.length;
  const x = tf.tensor4d(gatherImages(ds, order, opts.normalize), [n, ds.height, ds.width, ds.channels], "float32");
  if (isLabelled(ds)) {
    const classes = ds.classNames.length;
    const oneHot = new Float32Array(n * classes);
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const label = ds.labels[order[k]!]!;
      if (label >= classes) throw new Error(`${ds.name}: label ${label} of sample ${order[k]}; expected 0..${classes - 1}`);
      labels[k] = label;
      oneHot[k * classes + label] = 1;
    }
    return { x, y: tf.tensor2d(oneHot, [n, classes], "float32"), labels: tf.tensor1d(labels, "int32") };
  }
  const maskPixels = ds.height * ds.width;
  const masks = new Float32Array(n * maskPixels);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    for (let p = 0; p < maskPixels; p++) masks[k * maskPixels + p] = ds.masks[i * maskPixels + p]!;
  }
  return { x, y: tf.tensor4d(masks, [n, ds.height, ds.width, 1], "float32") };
}

function checkBatchOptions(opts: BatchOptions): void {
  if (!Number.isInteger(opts.batchSize) || opts.batchSize <= 0) {
    throw new Error(`batchSize: got ${opts.batchSize}; expected a positive integer`);
  }
}

/** Number of batches one epoch yields. */
export function batchesPerEpoch(sampleCount: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(sampleCount / batchSize) : Math.ceil(sampleCount / batchSize);
}

/** The sample order of one epoch: `indices` (or all samples), permuted by (seed, epoch) when shuffling. */
export function epochOrder(ds: AnyDataset, opts: BatchOptions): Int32Array {
  const pool = opts.indices ? Int32Array.from(opts.indices) : Int32Array.from({ length: ds.count }, (_, i) => i);
  if (opts.shuffle === false) return pool;
  const perm = permutation(pool.length, mixSeed(opts.seed ?? 0, opts.epoch ?? 0));
  return perm.map((p) => pool[p]!);
}

/**
 * Yields the mini-batches of one epoch (epoch `opts.epoch`). Each yielded batch holds new
 * tensors that the caller disposes; the last batch is smaller unless `dropLast`.
 */
export function batches(ds: ImageDataset, opts: BatchOptions): Generator<ImageBatch>;
export function batches(ds: SegmentationDataset, opts: BatchOptions): Generator<SegmentationBatch>;
export function* batches(ds: AnyDataset, opts: BatchOptions): Generator<ImageBatch | SegmentationBatch> {
  checkBatchOptions(opts);
  const order = epochOrder(ds, opts);
  const count = batchesPerEpoch(order.length, opts.batchSize, opts.dropLast);
  for (let b = 0; b < count; b++) {
    yield toTensors(ds, order.subarray(b * opts.batchSize, (b + 1) * opts.batchSize), opts);
  }
}

/** A batch source that reshuffles on every epoch (see {@link createBatcher}). */
export interface Batcher<B> {
  /** Batches per epoch. */
  readonly batchesPerEpoch: number;
  /** The epoch that the next call of {@link Batcher.nextEpoch} yields (starts at `opts.epoch` or 0). */
  readonly epoch: number;
  /** Yields the next epoch's batches in a fresh seeded order; the caller disposes each batch. */
  nextEpoch(): Generator<B>;
}

/** Creates a {@link Batcher}: epoch e's order depends only on (seed, e), so a resumed run sees the same batches. */
export function createBatcher(ds: ImageDataset, opts: BatchOptions): Batcher<ImageBatch>;
export function createBatcher(ds: SegmentationDataset, opts: BatchOptions): Batcher<SegmentationBatch>;
export function createBatcher(ds: AnyDataset, opts: BatchOptions): Batcher<ImageBatch | SegmentationBatch> {
  checkBatchOptions(opts);
  let epoch = opts.epoch ?? 0;
  const size = opts.indices ? opts.indices.length : ds.count;
  return {
    batchesPerEpoch: batchesPerEpoch(size, opts.batchSize, opts.dropLast),
    get epoch() {
      return epoch;
    },
    nextEpoch() {
      const current = epoch++;
      return batches(ds as ImageDataset, { ...opts, epoch: current });
    },
  };
}
