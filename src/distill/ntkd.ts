/**
 * The NTKD loss (digest §4.3): L = α · L_task + β · L_NTKD with
 * L_NTKD = MSE(norm(Θ_teacher), norm(Θ_student)) over one minibatch.
 *
 * Choices the paper leaves open, made here (all are options):
 * - Estimator: `"sketch"` (full n×n matrix by random finite differences, default) or `"trace"`
 *   (only the per-sample NTK traces, the literal NTK-SAP quantity the paper says it estimates).
 *   The teacher may instead use `"exact"` (per-sample Jacobians) when it is small.
 * - Normalisation (a deviation from the paper's plain MSE, needed because a teacher's and a
 *   student's raw NTK magnitudes differ by orders of magnitude):
 *   `"none"`; `"trace"` scales each kernel to mean diagonal 1 (Θ · n / tr Θ; a trace vector to
 *   mean 1), i.e. matches shapes, not scales; `"frobenius"` scales each to ‖Θ‖_F = n (mean
 *   squared entry 1; a trace vector to ‖t‖ = √n), i.e. matches kernel alignment. Default "trace".
 * - MSE averages over all n² entries (or n traces).
 * - The task loss is cross-entropy on the hard labels; the teacher's Θ carries no gradient.
 */
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import { exactNtk, kernelLossAndGrads, probeDistribution, sketchNtk, traceNtk, type KernelKind, type KernelLossAndGrads, type NtkSubject, type ProbeDistribution } from "./ntk";

/** How each kernel is scaled before the two are compared. */
export type NtkNormalisation = "none" | "trace" | "frobenius";

/** Estimator used for a kernel. */
export type NtkEstimator = "sketch" | "trace" | "exact";

/** Options of the NTK-matching term. */
export interface NtkMatchOptions {
  /** Student estimator: "sketch" (n×n matrix) or "trace" (per-sample traces). Default "sketch". */
  estimator?: "sketch" | "trace";
  /**
   * Teacher estimator: "sketch", "trace" or "exact"; default the student's. "exact" gives the
   * matrix (or, with estimator "trace", its diagonal) from per-sample Jacobians: small teachers only.
   */
  teacherEstimator?: NtkEstimator;
  /** Normalisation applied to both kernels before the MSE. Default "trace". */
  normalisation?: NtkNormalisation;
  /** Probes R of the student's sketch (default 4). */
  probes?: number;
  /** Probes of the teacher's sketch (default: `probes`). */
  teacherProbes?: number;
  /** Absolute perturbation scale ε of the student's probes (default 1e-2). */
  epsilon?: number;
  /** ε of the teacher's probes (default: `epsilon`). */
  teacherEpsilon?: number;
  /**
   * Where the teacher's sketch comes from. "dataset" (default for the "sketch" and "trace"
   * teacher estimators): its rows are precomputed once for the whole training set with fixed
   * probes (`distill/teacher-cache`), and each batch's kernel is built from them; this is a
   * fixed Johnson-Lindenstrauss sketch of the teacher's Jacobian shared by every batch, rather
   * than fresh probes per batch, and it makes the teacher's cost per step negligible. "none":
   * fresh probes and R + 1 teacher forward passes per batch (needed when batches are not
   * samples of one fixed dataset). The "exact" teacher estimator always uses "none".
   */
  teacherCache?: "dataset" | "none";
  /**
   * Distribution of every probe's entries, student's and teacher's (default "rademacher"; see
   * distill/ntk.ts: both give E[ΔΔᵀ] = I, Rademacher with the smaller variance and at a fraction
   * of the cost).
   */
  probeDistribution?: ProbeDistribution;
}

/** Resolved options with every default filled in. */
export type ResolvedNtkMatchOptions = Required<NtkMatchOptions>;

/** Fills the defaults of {@link NtkMatchOptions} and validates them. */
export function resolveNtkMatchOptions(opts: NtkMatchOptions = {}): ResolvedNtkMatchOptions {
  const estimator = opts.estimator ?? "sketch";
  if (estimator !== "sketch" && estimator !== "trace") {
    throw new Error(`NTKD options: estimator must be "sketch" or "trace" (the student's kernel must be differentiable), got ${String(estimator)}`);
  }
  const teacherEstimator = opts.teacherEstimator ?? estimator;
  if (!["sketch", "trace", "exact"].includes(teacherEstimator)) {
    throw new Error(`NTKD options: teacherEstimator must be "sketch", "trace" or "exact", got ${String(teacherEstimator)}`);
  }
  if (estimator === "sketch" && teacherEstimator === "trace") {
    throw new Error(`NTKD options: a "sketch" (matrix) student kernel needs a matrix teacher kernel ("sketch" or "exact"), got teacherEstimator "trace"`);
  }
  const normalisation = opts.normalisation ?? "trace";
  if (!["none", "trace", "frobenius"].includes(normalisation)) {
    throw new Error(`NTKD options: normalisation must be "none", "trace" or "frobenius", got ${String(normalisation)}`);
  }
  const teacherCache = opts.teacherCache ?? (teacherEstimator === "exact" ? "none" : "dataset");
  if (teacherCache !== "dataset" && teacherCache !== "none") {
    throw new Error(`NTKD options: teacherCache must be "dataset" or "none", got ${String(teacherCache)}`);
  }
  if (teacherCache === "dataset" && teacherEstimator === "exact") {
    throw new Error(`NTKD options: teacherCache "dataset" caches sketch rows; the "exact" teacher estimator has none (use teacherCache "none")`);
  }
  const probes = opts.probes ?? 4;
  const epsilon = opts.epsilon ?? 1e-2;
  return {
    estimator,
    teacherEstimator,
    normalisation,
    probes,
    teacherProbes: opts.teacherProbes ?? probes,
    epsilon,
    teacherEpsilon: opts.teacherEpsilon ?? epsilon,
    teacherCache,
    probeDistribution: probeDistribution(opts.probeDistribution, "NTKD options"),
  };
}

/** Scales a kernel matrix [n, n] or trace vector [n] as `mode` says (see the module comment). */
export function normaliseKernel(kernel: Tensor, mode: NtkNormalisation): Tensor {
  if (mode === "none") return tf.clone(kernel);
  return tf.tidy(() => {
    const n = kernel.shape[0] as number;
    const tiny = 1e-30;
    if (mode === "trace") {
      const tr = kernel.rank === 2 ? tf.sum(tf.mul(kernel, tf.eye(n))) : tf.sum(kernel);
      return tf.div(tf.mul(kernel, n), tf.add(tr, tiny));
    }
    const norm = tf.sqrt(tf.sum(tf.square(kernel)));
    const target = kernel.rank === 2 ? n : Math.sqrt(n);
    return tf.div(tf.mul(kernel, target), tf.add(norm, tiny));
  });
}

/** MSE between the normalised teacher and student kernels (the NTKD loss of one batch). */
export function kernelMismatch(teacherKernel: Tensor, studentKernel: Tensor, mode: NtkNormalisation): Tensor {
  if (!tf.util.arraysEqual(teacherKernel.shape, studentKernel.shape)) {
    throw new Error(`NTKD: teacher kernel ${JSON.stringify(teacherKernel.shape)} and student kernel ${JSON.stringify(studentKernel.shape)} differ in shape`);
  }
  return tf.tidy(() => tf.mean(tf.square(tf.sub(normaliseKernel(teacherKernel, mode), normaliseKernel(studentKernel, mode)))));
}

/** The teacher's kernel on `x` (no gradient), matching the student's kind. */
export function teacherKernel(teacher: NtkSubject, x: Tensor, opts: ResolvedNtkMatchOptions, seed: number): Tensor {
  const kind: KernelKind = opts.estimator === "sketch" ? "matrix" : "trace";
  const sketch = { probes: opts.teacherProbes, epsilon: opts.teacherEpsilon, seed, distribution: opts.probeDistribution };
  switch (opts.teacherEstimator) {
    case "exact":
      return exactNtk(teacher, x, kind);
    case "sketch":
      return kind === "matrix" ? sketchNtk(teacher, x, sketch) : traceNtk(teacher, x, sketch);
    case "trace":
      return traceNtk(teacher, x, sketch);
  }
}

/**
 * The NTKD loss of one batch and its gradient with respect to the student's variables.
 * `teacherKernelValue` is the teacher's kernel from {@link teacherKernel} (computed once per
 * batch) or `cachedTeacherKernel`; `seed` fixes the student's probes. `extraLoss`, when given,
 * is added to the loss as a function of the student's outputs at θ (sharing that forward pass):
 * the value and gradients are then those of the sum.
 */
export function ntkdLossAndGrads(
  student: NtkSubject,
  x: Tensor,
  teacherKernelValue: Tensor,
  opts: ResolvedNtkMatchOptions,
  seed: number,
  extraLoss?: (outputsAtTheta: Tensor) => Tensor,
): KernelLossAndGrads {
  const kind: KernelKind = opts.estimator === "sketch" ? "matrix" : "trace";
  return kernelLossAndGrads(
    student,
    x,
    kind,
    { probes: opts.probes, epsilon: opts.epsilon, seed, distribution: opts.probeDistribution },
    (k) => kernelMismatch(teacherKernelValue, k, opts.normalisation),
    extraLoss,
  );
}

/** The NTKD loss value alone (no gradient), e.g. for monitoring or finite-difference checks. */
export function ntkdLoss(student: NtkSubject, x: Tensor, teacherKernelValue: Tensor, opts: ResolvedNtkMatchOptions, seed: number): Tensor {
  const sketch = { probes: opts.probes, epsilon: opts.epsilon, seed, distribution: opts.probeDistribution };
  const k = opts.estimator === "sketch" ? sketchNtk(student, x, sketch) : traceNtk(student, x, sketch);
  try {
    return kernelMismatch(teacherKernelValue, k, opts.normalisation);
  } finally {
    k.dispose();
  }
}
