import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";

/** Throws when `t` is not a rank-2 [batch, classes] tensor. */
function assertLogits(t: Tensor, what: string): void {
  if (t.rank !== 2) throw new Error(`${what}: expected logits of shape [batch, classes], got shape ${JSON.stringify(t.shape)}`);
}

/**
 * Turns integer labels [n] (int32 or float) into one-hot [n, numClasses]; a rank-2 tensor is
 * taken to be probabilities already and returned as float32.
 */
export function toTargets(labels: Tensor, numClasses: number, what = "labels"): Tensor {
  if (labels.rank === 1) return tf.oneHot(labels.toInt(), numClasses).toFloat();
  if (labels.rank === 2 && labels.shape[1] === numClasses) return labels.toFloat();
  throw new Error(`${what}: expected class indices [batch] or probabilities [batch, ${numClasses}], got shape ${JSON.stringify(labels.shape)}`);
}

/**
 * Mean softmax cross-entropy between `logits` [n, C] and `labels`, given either as class
 * indices [n] or as target probabilities [n, C] (soft labels).
 */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  assertLogits(logits, "crossEntropy");
  return tf.tidy(() => {
    const targets = toTargets(labels, logits.shape[1] as number, "crossEntropy labels");
    if (targets.shape[0] !== logits.shape[0]) {
      throw new Error(`crossEntropy: ${logits.shape[0]} logits but ${targets.shape[0]} labels`);
    }
    return tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1)));
  });
}

/** Options of {@link kdLoss}. */
export interface KdLossOptions {
  /** Softmax temperature T (> 0) applied to both teacher and student logits. */
  temperature: number;
  /**
   * Weight α in [0, 1] of the soft-target term; the hard-label cross-entropy gets 1 − α.
   * Default in the trainer: 0.5, the authors' earlier KD code (digest §11).
   */
  alpha: number;
}

/**
 * Hinton-style knowledge distillation, as in the authors' earlier KD code (digest §11):
 * `α · T² · KL(softmax(z_t / T) || softmax(z_s / T)) + (1 − α) · CE(z_s, y)`, KL averaged over
 * the batch. The T² factor keeps the soft-target gradient scale independent of T.
 * Gradients are meant to be taken with respect to the student's variables only; compute the
 * teacher logits outside the gradient closure (the trainer does) so no teacher work is taped.
 */
export function kdLoss(studentLogits: Tensor, teacherLogits: Tensor, labels: Tensor, opts: KdLossOptions): Tensor {
  const { temperature: T, alpha } = opts;
  if (!(T > 0) || !Number.isFinite(T)) throw new Error(`kdLoss: temperature must be a positive number, got ${T}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`kdLoss: alpha must be in [0, 1], got ${alpha}`);
  assertLogits(studentLogits, "kdLoss studentLogits");
  assertLogits(teacherLogits, "kdLoss teacherLogits");
  if (!tf.util.arraysEqual(studentLogits.shape, teacherLogits.shape)) {
    throw new Error(`kdLoss: student logits ${JSON.stringify(studentLogits.shape)} and teacher logits ${JSON.stringify(teacherLogits.shape)} differ in shape`);
  }
  return tf.tidy(() => {
    const teacherLogProb = tf.logSoftmax(tf.div(teacherLogits, T));
    const studentLogProb = tf.logSoftmax(tf.div(studentLogits, T));
    const kl = tf.mean(tf.sum(tf.mul(tf.exp(teacherLogProb), tf.sub(teacherLogProb, studentLogProb)), 1));
    const soft = tf.mul(kl, alpha * T * T);
    if (alpha === 1) return soft;
    return tf.add(soft, tf.mul(crossEntropy(studentLogits, labels), 1 - alpha));
  });
}
