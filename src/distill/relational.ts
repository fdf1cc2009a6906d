/**
 * Relational distillation losses on a batch of features: they match how the samples of a batch
 * relate to each other in the teacher and in the student, never the features themselves, so
 * teacher and student features may differ in width (LeNet-5's 84 units against the optical
 * student's 128). They are the transfer baselines that NTKD, itself a batch-relational loss on
 * tangent features, should be compared with.
 * - Similarity-preserving KD (Tung & Mori, ICCV 2019): the row-normalised batch Gram matrices.
 * - Relational KD (Park et al., CVPR 2019): distances between pairs and angles of triplets.
 */
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";

/** [batch, ...] features as [batch, width]; throws naming `what` when the batch is too small. */
function flatFeatures(features: Tensor, what: string, minBatch: number): Tensor {
  if (features.rank < 2) throw new Error(`${what}: expected features of shape [batch, ...], got shape ${JSON.stringify(features.shape)}`);
  const n = features.shape[0];
  if (n < minBatch) throw new Error(`${what}: needs a batch of at least ${minBatch} samples, got ${n}`);
  return features.rank === 2 ? features.toFloat() : tf.reshape(features, [n, -1]).toFloat();
}

function checkBatches(student: Tensor, teacher: Tensor, what: string): void {
  if (student.shape[0] !== teacher.shape[0]) {
    throw new Error(`${what}: student batch ${student.shape[0]} and teacher batch ${teacher.shape[0]} differ`);
  }
}

/**
 * L2 normalisation along `axis` with a floor under the squared norm, so a zero vector (a dead
 * feature map, or the difference of a sample with itself) stays zero, and so does its gradient,
 * instead of NaN (the gradient of a norm at 0 is 0/0).
 */
function normalise(v: Tensor, axis: number): Tensor {
  return tf.div(v, tf.sqrt(tf.maximum(tf.sum(tf.square(v), axis, true), 1e-24)));
}

/**
 * The similarity matrix of Tung & Mori: G = F Fᵀ over the batch (F: [b, width]), each row
 * divided by its L2 norm.
 */
export function batchSimilarity(features: Tensor): Tensor {
  return tf.tidy(() => {
    const f = flatFeatures(features, "batchSimilarity", 1);
    return normalise(tf.matMul(f, f, false, true), 1);
  });
}

/**
 * Similarity-preserving KD: (1 / b²) · ‖G̃_teacher − G̃_student‖²_F with G̃ from
 * {@link batchSimilarity}, one value per batch (the paper's loss for one pair of layers).
 */
export function similarityPreservingLoss(studentFeatures: Tensor, teacherFeatures: Tensor): Tensor {
  checkBatches(studentFeatures, teacherFeatures, "similarityPreservingLoss");
  return tf.tidy(() => {
    const b = studentFeatures.shape[0];
    const diff = tf.sub(batchSimilarity(teacherFeatures), batchSimilarity(studentFeatures));
    return tf.div(tf.sum(tf.square(diff)), b * b);
  });
}

/**
 * Huber loss with δ = 1 (PyTorch's smooth L1), elementwise, as ½·m² + (|x| − m) with m = min(|x|, 1):
 * written without a comparison, which tfjs cannot differentiate through.
 */
function smoothL1(x: Tensor): Tensor {
  const a = tf.abs(x);
  const m = tf.minimum(a, 1);
  return tf.add(tf.mul(tf.square(m), 0.5), tf.sub(a, m));
}

/** Pairwise Euclidean distances [b, b] (zero diagonal; the square root is floored so its gradient is finite). */
function pairwiseDistances(f: Tensor): Tensor {
  const sq = tf.sum(tf.square(f), 1, true);
  const d2 = tf.relu(tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(tf.matMul(f, f, false, true), 2)));
  const b = f.shape[0];
  const offDiagonal = tf.sub(1, tf.eye(b));
  return tf.mul(tf.sqrt(tf.maximum(d2, 1e-12)), offDiagonal);
}

/**
 * The distance potential of RKD: pairwise distances divided by their mean over the b(b − 1)
 * ordered pairs i ≠ j, so teacher and student are compared independent of their feature scale.
 */
export function normalisedDistances(features: Tensor): Tensor {
  return tf.tidy(() => {
    const f = flatFeatures(features, "normalisedDistances", 2);
    const d = pairwiseDistances(f);
    const b = f.shape[0];
    const mean = tf.div(tf.sum(d), b * (b - 1));
    return tf.div(d, tf.maximum(mean, 1e-12));
  });
}

/**
 * The angle potential of RKD: for every anchor j, cos∠(t_i − t_j, t_k − t_j) for all i, k,
 * as a [b, b, b] tensor indexed [j, i, k] (entries with i = j or k = j are 0).
 */
export function tripletAngles(features: Tensor): Tensor {
  return tf.tidy(() => {
    const f = flatFeatures(features, "tripletAngles", 3);
    const b = f.shape[0];
    // Everything from the Gram matrix G = F Fᵀ: ⟨f_i − f_j, f_k − f_j⟩ = G_ik − G_ij − G_jk + G_jj and
    // ‖f_i − f_j‖² = G_ii + G_jj − 2 G_ij. The [b, b, width] difference tensor and its batched
    // product cost 2 s per step at b = 128 on wasm; this costs b³ elementwise operations.
    const g = tf.matMul(f, f, false, true);
    const diag = tf.reshape(tf.sum(tf.square(f), 1), [b, 1]);
    const inner = tf.add(tf.sub(tf.sub(tf.expandDims(g, 0), tf.expandDims(g, 2)), tf.expandDims(g, 1)), tf.reshape(diag, [b, 1, 1]));
    const d2 = tf.relu(tf.sub(tf.add(diag, tf.transpose(diag)), tf.mul(g, 2)));
    // 1/‖f_i − f_j‖, zero for i = j (and for coincident samples), as normalise() does for a zero vector.
    const offDiagonal = tf.sub(1, tf.eye(b));
    const inv = tf.mul(tf.div(offDiagonal, tf.sqrt(tf.maximum(d2, 1e-24))), tf.step(d2));
    return tf.mul(tf.mul(inner, tf.expandDims(inv, 2)), tf.expandDims(inv, 1));
  });
}

/** Park et al.'s weights of the two RKD terms beside cross-entropy: λ_D = 25, λ_A = 50. */
export const RKD_TERM_WEIGHTS = { distanceWeight: 25, angleWeight: 50 } as const;

/** Options of {@link relationalKdLoss}. */
export interface RelationalKdLossOptions {
  /** Weight λ_D of the distance term (default 25, Park et al.). */
  distanceWeight?: number;
  /** Weight λ_A of the angle term (default 50, Park et al.). */
  angleWeight?: number;
}

/**
 * Relational KD: λ_D · mean Huber(ψ_D student − ψ_D teacher) over the [b, b] distance matrix +
 * λ_A · mean Huber(ψ_A student − ψ_A teacher) over the [b, b, b] angle tensor, both means over
 * every entry (zeros of the diagonals included), as Park et al.'s reference code takes them.
 * Returns the total and its two terms (unweighted).
 */
export function relationalKdLoss(studentFeatures: Tensor, teacherFeatures: Tensor, opts: RelationalKdLossOptions = {}): { loss: Tensor; distance: Tensor; angle: Tensor } {
  const distanceWeight = opts.distanceWeight ?? RKD_TERM_WEIGHTS.distanceWeight;
  const angleWeight = opts.angleWeight ?? RKD_TERM_WEIGHTS.angleWeight;
  for (const [name, v] of [["distanceWeight", distanceWeight], ["angleWeight", angleWeight]] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`relationalKdLoss: ${name} must be a finite number >= 0, got ${v}`);
  }
  checkBatches(studentFeatures, teacherFeatures, "relationalKdLoss");
  const distance = tf.tidy(() => tf.mean(smoothL1(tf.sub(normalisedDistances(studentFeatures), normalisedDistances(teacherFeatures)))));
  const angle = tf.tidy(() => tf.mean(smoothL1(tf.sub(tripletAngles(studentFeatures), tripletAngles(teacherFeatures)))));
  const loss = tf.tidy(() => tf.add(tf.mul(distance, distanceWeight), tf.mul(angle, angleWeight)));
  return { loss, distance, angle };
}
