/**
 * Per-pixel losses for binary segmentation on mask logits [n, H, W, 1]: binary cross-entropy
 * (+ optional soft Dice) as the task loss (the paper does not name one, digest §4.1), and the
 * per-pixel KD term for the KD baseline.
 */
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";

function checkPair(logits: Tensor, other: Tensor, where: string, otherName: string): void {
  if (logits.rank !== 4 || logits.shape[3] !== 1) throw new Error(`${where}: logits must be [batch, height, width, 1], got shape ${JSON.stringify(logits.shape)}`);
  if (!tf.util.arraysEqual(logits.shape, other.shape)) {
    throw new Error(`${where}: logits ${JSON.stringify(logits.shape)} and ${otherName} ${JSON.stringify(other.shape)} differ in shape`);
  }
}

/** Elementwise BCE of logits z against targets y ∈ [0, 1], stable form max(z, 0) − z·y + log(1 + e^(−|z|)). */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor): Tensor {
  return tf.tidy(() => tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))));
}

/** Mean over images of 1 − (2 Σ p·g + 1) / (Σ p + Σ g + 1), p = sigmoid(logits) (Laplace-smoothed soft Dice). */
export function softDiceLoss(logits: Tensor, masks: Tensor): Tensor {
  checkPair(logits, masks, "softDiceLoss", "masks");
  return tf.tidy(() => {
    const p = tf.sigmoid(logits);
    const inter = tf.sum(tf.mul(p, masks), [1, 2, 3]);
    const total = tf.add(tf.sum(p, [1, 2, 3]), tf.sum(masks, [1, 2, 3]));
    return tf.mean(tf.sub(1, tf.div(tf.add(tf.mul(inter, 2), 1), tf.add(total, 1))));
  });
}

/** Options of {@link segmentationTaskLoss}. */
export interface SegmentationTaskLossOptions {
  /** Weight of the soft Dice term added to the mean BCE (default 0: BCE only). */
  diceWeight?: number;
}

/** The task loss: mean per-pixel BCE + diceWeight · soft Dice loss. */
export function segmentationTaskLoss(logits: Tensor, masks: Tensor, opts: SegmentationTaskLossOptions = {}): Tensor {
  checkPair(logits, masks, "segmentationTaskLoss", "masks");
  const diceWeight = opts.diceWeight ?? 0;
  if (!(diceWeight >= 0) || !Number.isFinite(diceWeight)) throw new Error(`segmentationTaskLoss: diceWeight must be a finite number >= 0, got ${diceWeight}`);
  return tf.tidy(() => {
    const bce = tf.mean(binaryCrossEntropyWithLogits(logits, masks));
    return diceWeight > 0 ? tf.add(bce, tf.mul(softDiceLoss(logits, masks), diceWeight)) : bce;
  });
}

/** Options of {@link segmentationKdLoss}. */
export interface SegmentationKdLossOptions extends SegmentationTaskLossOptions {
  /** Temperature T > 0 applied to both logit maps (default 4, as the classification KD). */
  temperature?: number;
  /** Weight α ∈ [0, 1] of the soft term; the task loss gets 1 − α (default 0.5). */
  alpha?: number;
}

/**
 * Per-pixel Hinton KD: α·T²·mean_pixels KL(Bern(σ(t/T)) ‖ Bern(σ(s/T))) + (1 − α)·task. The
 * KL of two Bernoullis is computed as BCE(s/T; p) − BCE(t/T; p) with p = σ(t/T) (cross-entropy
 * minus entropy), which is exact and stable. Compute the teacher logits outside the gradient
 * closure (the objective does), so no teacher work is taped.
 */
export function segmentationKdLoss(studentLogits: Tensor, teacherLogits: Tensor, masks: Tensor, opts: SegmentationKdLossOptions = {}): Tensor {
  checkPair(studentLogits, teacherLogits, "segmentationKdLoss", "teacher logits");
  checkPair(studentLogits, masks, "segmentationKdLoss", "masks");
  const T = opts.temperature ?? 4;
  const alpha = opts.alpha ?? 0.5;
  if (!(T > 0) || !Number.isFinite(T)) throw new Error(`segmentationKdLoss: temperature must be a positive number, got ${T}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`segmentationKdLoss: alpha must be in [0, 1], got ${alpha}`);
  return tf.tidy(() => {
    const t = tf.div(teacherLogits, T);
    const p = tf.sigmoid(t);
    const kl = tf.mean(tf.sub(binaryCrossEntropyWithLogits(tf.div(studentLogits, T), p), binaryCrossEntropyWithLogits(t, p)));
    const soft = tf.mul(kl, alpha * T * T);
    if (alpha === 1) return soft;
    return tf.add(soft, tf.mul(segmentationTaskLoss(studentLogits, masks, opts), 1 - alpha));
  });
}
