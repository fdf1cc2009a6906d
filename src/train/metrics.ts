import type { LayersModel, Tensor } from "@tensorflow/tfjs";
import type { ImageDataset } from "../data/types";
import { tf } from "../runtime/tf";
import { crossEntropy } from "../distill/losses";
import { OpticalStudent } from "../models/optical-student";
import { checkDataset, gatherBatch } from "../data/batches";

/** Result of {@link evaluate}. */
export interface Evaluation {
  /** Fraction of correctly classified images, in [0, 1]. */
  accuracy: number;
  /** Mean cross-entropy. */
  loss: number;
  /** confusion[trueClass][predictedClass] = count. */
  confusion: number[][];
  /** Number of images evaluated. */
  count: number;
}

function logitsModel(model: LayersModel | OpticalStudent): LayersModel {
  return model instanceof OpticalStudent ? model.model : model;
}

/** Accuracy, mean cross-entropy and confusion matrix of a classifier on a dataset. */
export function evaluate(model: LayersModel | OpticalStudent, ds: ImageDataset, opts: { batchSize?: number } = {}): Evaluation {
  checkDataset(ds, "evaluate dataset");
  const net = logitsModel(model);
  const batchSize = opts.batchSize ?? 256;
  const numClasses = ds.classNames.length;
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let lossSum = 0;
  for (let start = 0; start < ds.count; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, ds.count - start) }, (_, i) => start + i);
    const { x, y } = gatherBatch(ds, idx);
    const [lossT, predT] = tf.tidy(() => {
      const logits = net.apply(x, { training: false }) as Tensor;
      if (logits.shape[1] !== numClasses) throw new Error(`evaluate: the model outputs ${logits.shape[1]} classes, the dataset ${ds.name} has ${numClasses}`);
      return [crossEntropy(logits, y), tf.argMax(logits, 1)];
    });
    const loss = lossT.dataSync()[0];
    const pred = predT.dataSync() as Int32Array;
    tf.dispose([x, y, lossT, predT]);
    lossSum += loss * idx.length;
    idx.forEach((k, i) => confusion[ds.labels[k]][pred[i]]++);
  }
  const correct = confusion.reduce((s, row, i) => s + row[i], 0);
  return { accuracy: correct / ds.count, loss: lossSum / ds.count, confusion, count: ds.count };
}

/** Result of {@link extractFeatures}: one row per image. */
export interface Features {
  /** Row-major [count, dims]. */
  values: Float32Array;
  count: number;
  dims: number;
  /** Label of each row. */
  labels: Uint8Array;
}

/**
 * Hidden features for a 2-D embedding (paper Figure 4): for an optical student, the backend's
 * last hidden layer; for a plain model, the input of its last layer.
 */
export function extractFeatures(model: LayersModel | OpticalStudent, ds: ImageDataset, opts: { batchSize?: number } = {}): Features {
  checkDataset(ds, "extractFeatures dataset");
  const batchSize = opts.batchSize ?? 256;
  let forward: (x: Tensor) => Tensor;
  if (model instanceof OpticalStudent) {
    forward = (x) => model.featureModel.apply(model.sense(x)) as Tensor;
  } else {
    const last = model.layers[model.layers.length - 1];
    const truncated = tf.model({ inputs: model.inputs, outputs: last.input as never });
    forward = (x) => truncated.apply(x) as Tensor;
  }
  const chunks: Float32Array[] = [];
  let dims = 0;
  for (let start = 0; start < ds.count; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, ds.count - start) }, (_, i) => start + i);
    const { x, y } = gatherBatch(ds, idx);
    const f = tf.tidy(() => tf.reshape(forward(x), [idx.length, -1]));
    dims = f.shape[1] as number;
    chunks.push(f.dataSync() as Float32Array);
    tf.dispose([x, y, f]);
  }
  const values = new Float32Array(ds.count * dims);
  let off = 0;
  for (const c of chunks) {
    values.set(c, off);
    off += c.length;
  }
  return { values, count: ds.count, dims, labels: ds.labels.slice() };
}
