import type { Tensor } from "@tensorflow/tfjs";
import type { ImageDataset } from "../data/types";
import { tf } from "../runtime/tf";
import { deriveSeed, seededPermutation } from "./rng";

/** Checks the shape bookkeeping of a dataset; `what` names it in errors. */
export function checkDataset(ds: ImageDataset, what: string): void {
  if (!ds || !(ds.images instanceof Float32Array) || !(ds.labels instanceof Uint8Array)) {
    throw new Error(`${what}: expected an ImageDataset with Float32Array images and Uint8Array labels`);
  }
  const per = ds.height * ds.width * ds.channels;
  if (ds.count <= 0 || ds.images.length !== ds.count * per || ds.labels.length !== ds.count) {
    throw new Error(`${what}: ${ds.count} images of ${ds.height}x${ds.width}x${ds.channels} need ${ds.count * per} pixels and ${ds.count} labels, got ${ds.images.length} and ${ds.labels.length}`);
  }
}

/** Images [n, H, W, C] and int32 labels [n] for the given sample indices. */
export function gatherBatch(ds: ImageDataset, indices: ArrayLike<number>): { x: Tensor; y: Tensor } {
  const per = ds.height * ds.width * ds.channels;
  const images = new Float32Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    images.set(ds.images.subarray(k * per, (k + 1) * per), i * per);
    labels[i] = ds.labels[k];
  }
  return { x: tf.tensor4d(images, [indices.length, ds.height, ds.width, ds.channels]), y: tf.tensor1d(labels, "int32") };
}

/**
 * The sample order of one epoch: a permutation drawn from (seed, epoch) alone, so a resumed run
 * sees the same batches without saving any generator state. Split into batches of `batchSize`;
 * the last, smaller batch is kept.
 */
export function epochBatches(count: number, batchSize: number, seed: number, epoch: number): Int32Array[] {
  const order = seededPermutation(count, deriveSeed(seed, 0x5eed, epoch));
  const out: Int32Array[] = [];
  for (let start = 0; start < count; start += batchSize) out.push(order.subarray(start, Math.min(count, start + batchSize)));
  return out;
}

/**
 * Splits a dataset into training and validation parts: a seeded shuffle, the first
 * `validationFraction` of it for validation.
 */
export function holdOut(ds: ImageDataset, validationFraction: number, seed: number): { train: ImageDataset; validation: ImageDataset } {
  checkDataset(ds, "holdOut dataset");
  if (!(validationFraction > 0 && validationFraction < 1)) throw new Error(`holdOut: validationFraction must be in (0, 1), got ${validationFraction}`);
  const nVal = Math.max(1, Math.round(ds.count * validationFraction));
  if (nVal >= ds.count) throw new Error(`holdOut: ${ds.count} images are too few to hold out ${validationFraction}`);
  const order = seededPermutation(ds.count, deriveSeed(seed, 0x0a11d));
  return { validation: subset(ds, order.subarray(0, nVal), `${ds.name}-validation`), train: subset(ds, order.subarray(nVal), `${ds.name}-train`) };
}

/** The images at `indices`, as a new dataset. */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name = ds.name): ImageDataset {
  const per = ds.height * ds.width * ds.channels;
  const images = new Float32Array(indices.length * per);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    if (!(k >= 0 && k < ds.count)) throw new Error(`subset: index ${k} is outside 0..${ds.count - 1}`);
    images.set(ds.images.subarray(k * per, (k + 1) * per), i * per);
    labels[i] = ds.labels[k];
  }
  return { ...ds, name, images, labels, count: indices.length };
}
