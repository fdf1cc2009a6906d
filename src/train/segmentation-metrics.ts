/**
 * Binary segmentation metrics: mean IoU and Dice.
 *
 * mIoU follows the Carvana / binary-segmentation literature: the IoU of the object class
 * (TP / (TP + FP + FN)) and the IoU of the background class (TN / (TN + FN + FP)) are averaged,
 * so a model that predicts "all background" on images whose car covers 20% scores 0.4, not 0.8.
 * Dice is the object class's F1 score, 2 TP / (2 TP + FP + FN).
 *
 * Predictions are probabilities (after the sigmoid) or 0/1 masks; a pixel is "object" when its
 * value is strictly greater than the threshold (default 0.5). Targets are thresholded the same
 * way, so 0/1 masks of any numeric type work. A class absent from both prediction and target has
 * an IoU of 1 (nothing to get wrong), and Dice is 1 when both masks are empty.
 */
import { tf } from "../runtime/tf";

/** A mask or a batch of masks: a typed array / array of per-pixel values, or a tensor. */
export type MaskValues = ArrayLike<number> | tf.Tensor;

/** Pixel counts of a binary confusion matrix. */
export interface BinaryConfusion {
  /** Object pixels predicted as object. */
  truePositive: number;
  /** Background pixels predicted as object. */
  falsePositive: number;
  /** Object pixels predicted as background. */
  falseNegative: number;
  /** Background pixels predicted as background. */
  trueNegative: number;
}

/** Options of {@link meanIoU}, {@link dice} and {@link binaryConfusions}. */
export interface SegmentationMetricOptions {
  /** A value is "object" when it is strictly greater than this. Default 0.5. */
  threshold?: number;
  /**
   * Average the metric over images instead of pooling the pixels of all images into one confusion
   * matrix (the default, as for a data set's mIoU). Images are the first tensor axis; for arrays,
   * give {@link SegmentationMetricOptions.pixelsPerImage}.
   */
  perImage?: boolean;
  /** Pixels per image when the masks are flat arrays holding several images. Default: the whole array is one image. */
  pixelsPerImage?: number;
}

/** IoU of the object and background classes from a confusion matrix. */
export function classIoUs(c: BinaryConfusion): { object: number; background: number } {
  const objectUnion = c.truePositive + c.falsePositive + c.falseNegative;
  const backgroundUnion = c.trueNegative + c.falsePositive + c.falseNegative;
  return {
    object: objectUnion === 0 ? 1 : c.truePositive / objectUnion,
    background: backgroundUnion === 0 ? 1 : c.trueNegative / backgroundUnion,
  };
}

/** Mean of the object and background IoUs. */
export function meanIoUFromConfusion(c: BinaryConfusion): number {
  const { object, background } = classIoUs(c);
  return (object + background) / 2;
}

/** Dice coefficient of the object class. */
export function diceFromConfusion(c: BinaryConfusion): number {
  const denominator = 2 * c.truePositive + c.falsePositive + c.falseNegative;
  return denominator === 0 ? 1 : (2 * c.truePositive) / denominator;
}

function threshold(opts: SegmentationMetricOptions): number {
  const t = opts.threshold ?? 0.5;
  if (!Number.isFinite(t)) throw new Error(`threshold: got ${t}; expected a finite number`);
  return t;
}

function arrayConfusions(pred: ArrayLike<number>, target: ArrayLike<number>, opts: SegmentationMetricOptions): BinaryConfusion[] {
  if (pred.length !== target.length) {
    throw new Error(`pred, target: ${pred.length} and ${target.length} values; expected the same number`);
  }
  const perImage = opts.pixelsPerImage ?? pred.length;
  if (!Number.isInteger(perImage) || perImage <= 0 || pred.length % perImage !== 0) {
    throw new Error(`pixelsPerImage: got ${opts.pixelsPerImage}; expected a positive divisor of the mask length ${pred.length}`);
  }
  const t = threshold(opts);
  const out: BinaryConfusion[] = [];
  for (let start = 0; start < pred.length; start += perImage) {
    const c: BinaryConfusion = { truePositive: 0, falsePositive: 0, falseNegative: 0, trueNegative: 0 };
    for (let i = start; i < start + perImage; i++) {
      const p = pred[i]!;
      const g = target[i]!;
      if (Number.isNaN(p) || Number.isNaN(g)) throw new Error(`${Number.isNaN(p) ? "pred" : "target"}[${i}] is NaN; expected a probability or 0/1`);
      if (p > t) {
        if (g > t) c.truePositive++;
        else c.falsePositive++;
      } else if (g > t) c.falseNegative++;
      else c.trueNegative++;
    }
    out.push(c);
  }
  return out;
}

function tensorConfusions(pred: tf.Tensor, target: tf.Tensor, opts: SegmentationMetricOptions): BinaryConfusion[] {
  if (!tf.util.arraysEqual(pred.shape, target.shape)) {
    throw new Error(`pred, target: shapes [${pred.shape}] and [${target.shape}]; expected equal shapes`);
  }
  const t = threshold(opts);
  // One row per image (first axis), so counts are summed per image in float32 (exact below 2^24
  // pixels per image) and pooled in float64 here.
  const images = pred.rank <= 1 ? 1 : pred.shape[0]!;
  const [sums, hasNaN] = tf.tidy(() => {
    const p = tf.cast(tf.greater(pred, t), "float32").reshape([images, -1]);
    const g = tf.cast(tf.greater(target, t), "float32").reshape([images, -1]);
    const nan = tf.logicalOr(tf.any(tf.isNaN(pred)), tf.any(tf.isNaN(target)));
    return [tf.stack([tf.sum(tf.mul(p, g), 1), tf.sum(p, 1), tf.sum(g, 1)], 1), nan];
  });
  const values = sums.dataSync();
  const nan = hasNaN.dataSync()[0];
  sums.dispose();
  hasNaN.dispose();
  if (nan) throw new Error("pred or target tensor contains NaN; expected probabilities or 0/1 masks");
  const pixels = pred.size / images;
  const out: BinaryConfusion[] = [];
  for (let i = 0; i < images; i++) {
    const tp = values[3 * i]!;
    const predicted = values[3 * i + 1]!;
    const actual = values[3 * i + 2]!;
    out.push({ truePositive: tp, falsePositive: predicted - tp, falseNegative: actual - tp, trueNegative: pixels - predicted - actual + tp });
  }
  return out;
}

/** One confusion matrix per image (tensors: per first-axis entry; arrays: per `pixelsPerImage` block). */
export function binaryConfusions(pred: MaskValues, target: MaskValues, opts: SegmentationMetricOptions = {}): BinaryConfusion[] {
  const predIsTensor = pred instanceof tf.Tensor;
  if (predIsTensor !== target instanceof tf.Tensor) throw new Error("pred, target: one is a tensor and the other is not; expected both or neither");
  return predIsTensor ? tensorConfusions(pred, target as tf.Tensor, opts) : arrayConfusions(pred, target as ArrayLike<number>, opts);
}

/** Sums confusion matrices (pooling pixels). */
export function poolConfusions(list: readonly BinaryConfusion[]): BinaryConfusion {
  const total: BinaryConfusion = { truePositive: 0, falsePositive: 0, falseNegative: 0, trueNegative: 0 };
  for (const c of list) {
    total.truePositive += c.truePositive;
    total.falsePositive += c.falsePositive;
    total.falseNegative += c.falseNegative;
    total.trueNegative += c.trueNegative;
  }
  return total;
}

function reduce(pred: MaskValues, target: MaskValues, opts: SegmentationMetricOptions, metric: (c: BinaryConfusion) => number): number {
  const list = binaryConfusions(pred, target, opts);
  if (!opts.perImage) return metric(poolConfusions(list));
  return list.reduce((sum, c) => sum + metric(c), 0) / list.length;
}

/** Mean IoU over the two classes, object and background (see the module comment). */
export function meanIoU(pred: MaskValues, target: MaskValues, opts: SegmentationMetricOptions = {}): number {
  return reduce(pred, target, opts, meanIoUFromConfusion);
}

/** Dice coefficient (F1) of the object class. */
export function dice(pred: MaskValues, target: MaskValues, opts: SegmentationMetricOptions = {}): number {
  return reduce(pred, target, opts, diceFromConfusion);
}
