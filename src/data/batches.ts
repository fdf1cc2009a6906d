/**
 * The one batching path: from in-memory data sets to tfjs tensors, whole sets or seeded,
 * reshuffling mini-batches. The training loop draws its batches here ({@link epochBatches} and
 * {@link gatherBatch}), and {@link batches} / {@link createBatcher} yield the same samples in the
 * same order for the same (seed, epoch).
 *
 * Tensors are built directly from typed arrays, so no intermediate tensors are created and the
 * caller owns (and must dispose) exactly the tensors it receives.
 */
import { tf } from "../runtime/tf";
import { deriveSeed, seededPermutation } from "../runtime/seed";
import type { ChannelStats } from "./normalize";
import type { AnyDataset } from "./splits";
import type { ImageDataset, SegmentationDataset } from "./types";

/** Checks the bookkeeping of a classification dataset; `what` names it in errors. */
export function checkDataset(ds: ImageDataset, what: string): void {
  if (!ds || !(ds.images instanceof Float32Array) || !(ds.labels instanceof Uint8Array)) {
    throw new Error(`${what}: expected an ImageDataset with Float32Array images and Uint8Array labels`);
  }
  const per = ds.height * ds.width * ds.channels;
  if (ds.count <= 0 || ds.images.length !== ds.count * per || ds.labels.length !== ds.count) {
    throw new Error(`${what}: ${ds.count} images of ${ds.height}x${ds.width}x${ds.channels} need ${ds.count * per} pixels and ${ds.count} labels, got ${ds.images.length} and ${ds.labels.length}`);
  }
}

/** Checks the bookkeeping of a segmentation dataset; `what` names it in errors. */
export function checkSegmentationDataset(ds: SegmentationDataset, what: string): void {
  if (!ds || !(ds.images instanceof Float32Array) || !(ds.masks instanceof Uint8Array)) {
    throw new Error(`${what}: expected a SegmentationDataset with Float32Array images and Uint8Array masks`);
  }
  const pixels = ds.height * ds.width;
  if (!(ds.count > 0) || ds.images.length !== ds.count * pixels * ds.channels || ds.masks.length !== ds.count * pixels) {
    throw new Error(`${what}: ${ds.count} images of ${ds.height}x${ds.width}x${ds.channels} need ${ds.count * pixels * ds.channels} pixel values and ${ds.count * pixels} mask values, got ${ds.images.length} and ${ds.masks.length}`);
  }
}

/**
 * The sample order of one epoch: a permutation of `count` samples drawn from (seed, epoch) alone,
 * so a resumed run sees the same batches without saving any generator state.
 */
export function epochPermutation(count: number, seed: number, epoch: number): Int32Array {
  return seededPermutation(count, deriveSeed(seed, 0x5eed, epoch));
}

/** The batches of sample indices of one epoch ({@link epochPermutation} cut into `batchSize`; the last, smaller batch is kept). */
export function epochBatches(count: number, batchSize: number, seed: number, epoch: number): Int32Array[] {
  const order = epochPermutation(count, seed, epoch);
  const out: Int32Array[] = [];
  for (let start = 0; start < count; start += batchSize) out.push(order.subarray(start, Math.min(count, start + batchSize)));
  return out;
}

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

/** Images [n, H, W, C] of the samples at `indices`, in that order. */
export function imagesTensor(ds: AnyDataset, indices: ArrayLike<number>): tf.Tensor4D {
  return tf.tensor4d(gatherImages(ds, indices), [indices.length, ds.height, ds.width, ds.channels], "float32");
}

function masksOf(ds: SegmentationDataset, order: ArrayLike<number>): Float32Array {
  const maskPixels = ds.height * ds.width;
  const masks = new Float32Array(order.length * maskPixels);
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    for (let p = 0; p < maskPixels; p++) masks[k * maskPixels + p] = ds.masks[i * maskPixels + p]!;
  }
  return masks;
}

/**
 * A training batch: images [n, H, W, C] and the task's target, int32 labels [n] for a
 * classification set, float32 0/1 masks [n, H, W, 1] for a segmentation set.
 */
export function gatherBatch(ds: ImageDataset, indices: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor1D };
export function gatherBatch(ds: SegmentationDataset, indices: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor4D };
export function gatherBatch(ds: AnyDataset, indices: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor };
export function gatherBatch(ds: AnyDataset, indices: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor } {
  const x = imagesTensor(ds, indices);
  if (isLabelled(ds)) {
    const labels = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) labels[k] = ds.labels[indices[k]!]!;
    return { x, y: tf.tensor1d(labels, "int32") };
  }
  return { x, y: tf.tensor4d(masksOf(ds, indices), [indices.length, ds.height, ds.width, 1], "float32") };
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
  return { x, y: tf.tensor4d(masksOf(ds, order), [n, ds.height, ds.width, 1], "float32") };
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

/**
 * The sample order of one epoch: `indices` (or all samples), permuted by (seed, epoch) when
 * shuffling, with the training loop's permutation ({@link epochPermutation}).
 */
export function epochOrder(ds: AnyDataset, opts: BatchOptions): Int32Array {
  const pool = opts.indices ? Int32Array.from(opts.indices) : Int32Array.from({ length: ds.count }, (_, i) => i);
  if (opts.shuffle === false) return pool;
  const perm = epochPermutation(pool.length, opts.seed ?? 0, opts.epoch ?? 0);
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
