/**
 * Per-batch objectives of the training loop: the task loss alone, KD, and NTKD. Each returns the
 * loss value and the gradients for the loop's trainable weights; NTKD combines autodiff of the
 * task term with the first-order NTK gradient of `distill/ntk`.
 */
import type { LayersModel, LayerVariable, NamedTensorMap, Scalar, Tensor, Variable } from "@tensorflow/tfjs";
import type { ImageDataset } from "../data/types";
import { tf } from "../runtime/tf";
import { crossEntropy, kdLoss } from "../distill/losses";
import { kernelLossAndGrads, ntkSubject, type KernelKind, type NtkSubject } from "../distill/ntk";
import { kernelMismatch, ntkdLossAndGrads, resolveNtkMatchOptions, teacherKernel, type NtkMatchOptions, type ResolvedNtkMatchOptions } from "../distill/ntkd";
import { cachedTeacherKernel, precomputeTeacherSketch, type TeacherSketchCache } from "../distill/teacher-cache";
import { deriveSeed } from "./rng";

/** What the loop passes an objective for one batch. */
export interface BatchContext {
  /** Images [n, H, W, C]. */
  x: Tensor;
  /** Labels [n], int32. */
  y: Tensor;
  /** Indices of the batch's samples in the training set given to {@link Objective.prepare}. */
  indices: Int32Array;
  /** Epoch (from 0). */
  epoch: number;
  /** Batch index within the epoch (from 0). */
  batch: number;
  /** Optimizer steps taken before this batch. */
  step: number;
  /** The run's seed (derive per-batch seeds from it and the counters). */
  seed: number;
}

/** What an objective returns for one batch. */
export interface BatchResult {
  /** Total loss of the batch (may be NaN: the loop checks). */
  loss: number;
  /** Gradients aligned with the loop's trainable weights (owned by the loop after return). */
  grads: Tensor[];
  /** Correctly classified images in the batch (training-mode forward). */
  correct: number;
  /** Named loss components for logging (e.g. task, ntk, beta). */
  parts: Record<string, number>;
}

/** What the loop gives an objective once before training (see {@link Objective.prepare}). */
export interface ObjectivePreparation {
  /** The training set that {@link BatchContext.indices} index into. */
  train: ImageDataset;
  /** The run's seed. */
  seed: number;
}

/** A per-batch training objective. */
export interface Objective {
  /** Short name ("task", "kd", "ntkd"). */
  readonly name: string;
  /**
   * Called by the loop once before the first batch (also when resuming) with the training set,
   * e.g. to precompute per-sample quantities that batches then look up by index. Must be
   * deterministic in its arguments, so that a resumed run sees the same values.
   */
  prepare?(data: ObjectivePreparation): void;
  /** Loss and gradients of one batch for `weights`. */
  compute(model: LayersModel, weights: LayerVariable[], ctx: BatchContext): BatchResult;
  /** JSON state to checkpoint (e.g. a calibrated β). */
  getState(): Record<string, unknown>;
  /** Restores {@link getState}'s output. */
  setState(state: Record<string, unknown>): void;
}

function variablesOf(weights: LayerVariable[]): Variable[] {
  return weights.map((w) => w.read() as Variable);
}

/** Runs `lossFn(logits)` under variableGrads; returns value, grads aligned with weights, and correct count. */
function lossWithGrads(model: LayersModel, weights: LayerVariable[], x: Tensor, y: Tensor, lossFn: (logits: Tensor) => Tensor): { loss: number; grads: Tensor[]; correct: number } {
  const vars = variablesOf(weights);
  let correct = 0;
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.apply(x, { training: true }) as Tensor;
    correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(y, "int32")), "int32")).dataSync()[0]);
    return lossFn(logits) as Scalar;
  }, vars);
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, grads: alignGrads(grads, vars), correct };
}

/** Gradients in the weights' order; a weight the loss does not reach gets zeros. */
function alignGrads(grads: NamedTensorMap, vars: Variable[]): Tensor[] {
  return vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
}

function globalNorm(ts: Tensor[]): number {
  return tf.tidy(() => tf.sqrt(tf.addN(ts.map((t) => tf.sum(tf.square(t))))).dataSync()[0]);
}

/** Cross-entropy on the hard labels ("no transfer", and teacher training). */
export function taskObjective(): Objective {
  return {
    name: "task",
    compute(model, weights, ctx) {
      const r = lossWithGrads(model, weights, ctx.x, ctx.y, (logits) => crossEntropy(logits, ctx.y));
      return { ...r, parts: { task: r.loss } };
    },
    getState: () => ({}),
    setState: () => undefined,
  };
}

/** Options of {@link kdObjective}. */
export interface KdObjectiveOptions {
  /** The trained teacher (logits out; evaluated in inference mode, never updated). */
  teacher: LayersModel;
  /** Temperature T (default 4; the authors' earlier code used 10, digest §11). */
  temperature?: number;
  /** Weight α of the soft term (default 0.5, the authors' earlier code). */
  alpha?: number;
}

/** Hinton KD: α·T²·KL(teacher_T || student_T) + (1 − α)·CE. */
export function kdObjective(opts: KdObjectiveOptions): Objective {
  const temperature = opts.temperature ?? 4;
  const alpha = opts.alpha ?? 0.5;
  return {
    name: "kd",
    compute(model, weights, ctx) {
      const teacherLogits = opts.teacher.apply(ctx.x, { training: false }) as Tensor;
      try {
        const r = lossWithGrads(model, weights, ctx.x, ctx.y, (logits) => kdLoss(logits, teacherLogits, ctx.y, { temperature, alpha }));
        return { ...r, parts: { kd: r.loss } };
      } finally {
        teacherLogits.dispose();
      }
    },
    getState: () => ({}),
    setState: () => undefined,
  };
}

/** Options of {@link ntkdObjective}. */
export interface NtkdObjectiveOptions extends NtkMatchOptions {
  /** The trained teacher; its NTK is taken over all its trainable weights, without gradient. */
  teacher: LayersModel;
  /** Weight α of the task (cross-entropy) term (default 1). */
  alpha?: number;
  /**
   * Weight β of the NTK term, or "auto" (default): β = betaScale · the mean, over the first
   * `autoBetaBatches` batches, of the task-to-NTK ratio chosen by `betaBalance`; then frozen
   * (and checkpointed). During calibration β is the running mean.
   */
  beta?: number | "auto";
  /** Multiplier of the automatic β (default 1). */
  betaScale?: number;
  /** Batches over which the automatic β is calibrated (default 5). */
  autoBetaBatches?: number;
  /**
   * What the automatic β balances: "gradient" (default) makes ‖β·∇L_NTKD‖ ≈ betaScale·‖α·∇L_task‖
   * (global L2 norms); "loss" makes β·L_NTKD ≈ betaScale·α·L_task (the digest's suggestion).
   * Why "gradient" is the default: the NTK term's gradient is a finite difference of Jacobians
   * divided by ε, far larger than its loss value suggests, so a loss-balanced β lets it swamp
   * the task gradient (measured: the task loss stayed at chance on MNIST).
   */
  betaBalance?: "gradient" | "loss";
}

/** NTKD: α·CE + β·MSE(norm Θ_teacher, norm Θ_student) on each minibatch. */
export function ntkdObjective(opts: NtkdObjectiveOptions): Objective {
  const match: ResolvedNtkMatchOptions = resolveNtkMatchOptions(opts);
  const alpha = opts.alpha ?? 1;
  const betaOpt = opts.beta ?? "auto";
  const betaScale = opts.betaScale ?? 1;
  const autoBatches = opts.autoBetaBatches ?? 5;
  const balance = opts.betaBalance ?? "gradient";
  if (balance !== "gradient" && balance !== "loss") throw new Error(`ntkdObjective: betaBalance must be "gradient" or "loss", got ${String(balance)}`);
  if (betaOpt !== "auto" && !(betaOpt >= 0)) throw new Error(`ntkdObjective: beta must be a number >= 0 or "auto", got ${String(betaOpt)}`);
  if (!(alpha >= 0)) throw new Error(`ntkdObjective: alpha must be >= 0, got ${alpha}`);
  if (!Number.isInteger(autoBatches) || autoBatches < 1) throw new Error(`ntkdObjective: autoBetaBatches must be an integer >= 1, got ${autoBatches}`);
  const teacherSubject: NtkSubject = ntkSubject(opts.teacher);
  const kind: KernelKind = match.estimator === "sketch" ? "matrix" : "trace";
  let ratioSum = 0;
  let ratioCount = 0;
  let cache: { train: ImageDataset; seed: number; sketch: TeacherSketchCache } | null = null;

  function teacherKernelOf(ctx: BatchContext): Tensor {
    if (match.teacherCache === "none") return teacherKernel(teacherSubject, ctx.x, match, deriveSeed(ctx.seed, 0x7eac, ctx.epoch, ctx.batch));
    if (cache === null) {
      throw new Error('ntkdObjective: teacherCache "dataset" needs prepare({ train, seed }) before compute (trainLoop calls it); use teacherCache "none" for batches that are not drawn from one dataset');
    }
    if (ctx.indices.length !== ctx.x.shape[0]) throw new Error(`ntkdObjective: ctx.indices has ${ctx.indices.length} entries for a batch of ${ctx.x.shape[0]} images`);
    return cachedTeacherKernel(cache.sketch, ctx.indices, kind);
  }

  /** Separate task and NTK gradients: needed while β is calibrated from their ratio. */
  function separate(model: LayersModel, weights: LayerVariable[], ctx: BatchContext, kT: Tensor, studentSeed: number): BatchResult {
    const task = lossWithGrads(model, weights, ctx.x, ctx.y, (logits) => crossEntropy(logits, ctx.y));
    const vars = variablesOf(weights);
    const student: NtkSubject = { forward: (x) => model.apply(x, { training: true }) as Tensor, variables: vars };
    const ntk = ntkdLossAndGrads(student, ctx.x, kT, match, studentSeed);
    const ntkLoss = ntk.value.dataSync()[0];
    ntk.value.dispose();
    const ntkGrads = alignGrads(ntk.grads, vars);
    if (ratioCount < autoBatches) {
      const ratio = balance === "loss" ? (alpha * task.loss) / ntkLoss : (alpha * globalNorm(task.grads)) / globalNorm(ntkGrads);
      if (Number.isFinite(ratio) && ratio > 0) {
        ratioSum += ratio;
        ratioCount++;
      }
    }
    const beta = ratioCount > 0 ? (betaScale * ratioSum) / ratioCount : 0;
    const grads = task.grads.map((g, k) => tf.tidy(() => tf.add(tf.mul(g, alpha), tf.mul(ntkGrads[k], beta))));
    tf.dispose([...task.grads, ...ntkGrads]);
    tf.dispose(Object.values(ntk.grads).filter((t) => !ntkGrads.includes(t)));
    return { loss: alpha * task.loss + beta * ntkLoss, grads, correct: task.correct, parts: { task: task.loss, ntk: ntkLoss, beta } };
  }

  /**
   * α·CE + β·L_NTKD differentiated in one pass once β is known: the task term reuses the
   * student's forward at θ that the NTK sketch needs anyway (same maths, one forward and one
   * backward fewer than computing the two gradients apart).
   */
  function combined(model: LayersModel, weights: LayerVariable[], ctx: BatchContext, kT: Tensor, studentSeed: number, beta: number): BatchResult {
    const vars = variablesOf(weights);
    const student: NtkSubject = { forward: (x) => model.apply(x, { training: true }) as Tensor, variables: vars };
    let ntkLoss = NaN;
    let taskLoss = NaN;
    let correct = 0;
    const { value, grads } = kernelLossAndGrads(
      student,
      ctx.x,
      kind,
      { probes: match.probes, epsilon: match.epsilon, seed: studentSeed },
      (k) => {
        const mismatch = kernelMismatch(kT, k, match.normalisation);
        ntkLoss = mismatch.dataSync()[0];
        return tf.mul(mismatch, beta);
      },
      (logits) => {
        correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(ctx.y, "int32")), "int32")).dataSync()[0]);
        const ce = crossEntropy(logits, ctx.y);
        taskLoss = ce.dataSync()[0];
        return tf.mul(ce, alpha);
      },
    );
    const loss = value.dataSync()[0];
    value.dispose();
    const aligned = alignGrads(grads, vars);
    tf.dispose(Object.values(grads).filter((t) => !aligned.includes(t)));
    return { loss, grads: aligned, correct, parts: { task: taskLoss, ntk: ntkLoss, beta } };
  }

  return {
    name: "ntkd",
    prepare({ train, seed }) {
      if (match.teacherCache === "none") return;
      if (cache !== null && cache.train === train && cache.seed === seed) return;
      const sketch = precomputeTeacherSketch(teacherSubject, train, { probes: match.teacherProbes, epsilon: match.teacherEpsilon, seed: deriveSeed(seed, 0x7eac, 0xcac4e) });
      cache = { train, seed, sketch };
    },
    compute(model, weights, ctx) {
      const studentSeed = deriveSeed(ctx.seed, 0x57d, ctx.epoch, ctx.batch);
      const kT = teacherKernelOf(ctx);
      try {
        if (betaOpt !== "auto") return combined(model, weights, ctx, kT, studentSeed, betaOpt);
        if (ratioCount < autoBatches) return separate(model, weights, ctx, kT, studentSeed);
        return combined(model, weights, ctx, kT, studentSeed, (betaScale * ratioSum) / ratioCount);
      } finally {
        kT.dispose();
      }
    },
    getState: () => ({ ratioSum, ratioCount }),
    setState(state) {
      ratioSum = Number(state.ratioSum ?? 0);
      ratioCount = Number(state.ratioCount ?? 0);
    },
  };
}
