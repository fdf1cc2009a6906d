/**
 * Rounding with a straight-through gradient: the forward pass rounds, the backward pass acts as
 * the identity. This is how fabrication constraints (N height levels, sensor bit depth) stay
 * in the training graph without zeroing every gradient (tf.round's gradient is zero).
 */
import { tf } from "../runtime/tf";

const roundSte = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
  value: tf.round(x as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => dy,
}));

/** round(x) forward, identity backward. */
export function roundStraightThrough(x: tf.Tensor): tf.Tensor {
  return roundSte(x) as tf.Tensor;
}

/** Quantises x to multiples of `step` (round to nearest) with a straight-through gradient. */
export function quantizeStraightThrough(x: tf.Tensor, step: number): tf.Tensor {
  if (!(step > 0) || !Number.isFinite(step)) throw new Error(`quantizeStraightThrough: step must be a finite number > 0, got ${step}`);
  return tf.tidy(() => tf.mul(roundStraightThrough(tf.div(x, step)), step));
}
