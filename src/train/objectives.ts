/**
 * Per-batch objectives of the training loop: the task loss alone, KD, and NTKD, written once for
 * every task: the task adapter (`task.ts`) supplies the losses and the per-batch statistic, so
 * the same objectives train classifiers and segmenters. Each returns the loss value and the
 * gradients for the loop's trainable weights; NTKD combines autodiff of the task term with the
 * first-order NTK gradient of `distill/ntk`, the NTK being contracted over every output value
 * (logits, or every pixel of a mask-logit map).
 */
import type { LayersModel, LayerVariable, NamedTensorMap, Scalar, Tensor, Tensor4D, Variable } from "@tensorflow/tfjs";
import type { ImageDataset } from "../data/types";
import type { AnyDataset } from "../data/splits";
import { tf } from "../runtime/tf";
import { deriveSeed } from "../runtime/seed";
import { flattenedSubject, kernelLossAndGrads, type KernelKind, type NtkSubject } from "../distill/ntk";
import { kernelMismatch, ntkdLossAndGrads, resolveNtkMatchOptions, teacherKernel, type NtkMatchOptions, type ResolvedNtkMatchOptions } from "../distill/ntkd";
import { cachedTeacherKernel, precomputeTeacherSketch, type TeacherSketchCache } from "../distill/teacher-cache";
import { classificationTask, type TrainingTask } from "./task";
import { relationalKdLoss, similarityPreservingLoss, type RelationalKdLossOptions } from "../distill/relational";
import { featureForward, type FeatureForward } from "./features";
import { gramMismatch, kernelGram, teacherKernelGram } from "../distill/kernel-gram";

/** What the loop passes an objective for one batch. */
export interface BatchContext {
  /** Images [n, H, W, C]. */
  x: Tensor;
  /** The task's target: int32 labels [n] (classification), float32 0/1 masks [n, H, W, 1] (segmentation). */
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

/** What an objective returns for one batch; `S` is the task's per-batch statistic. */
export interface BatchResult<S = number> {
  /** Total loss of the batch (may be NaN: the loop checks). */
  loss: number;
  /** Gradients aligned with the loop's trainable weights (owned by the loop after return). */
  grads: Tensor[];
  /** The task's statistic of the training-mode forward (classification: correctly classified images). */
  statistic: S;
  /** Named loss components for logging (e.g. task, ntk, beta). */
  parts: Record<string, number>;
}

/** What the loop gives an objective once before training (see {@link Objective.prepare}). */
export interface ObjectivePreparation<D extends AnyDataset = ImageDataset> {
  /** The training set that {@link BatchContext.indices} index into. */
  train: D;
  /** The run's seed. */
  seed: number;
}

/** A per-batch training objective (`S`: the task's per-batch statistic, `D`: its dataset type). */
export interface Objective<S = number, D extends AnyDataset = ImageDataset> {
  /** Short name ("task", "kd", "ntkd"). */
  readonly name: string;
  /**
   * Called by the loop once before the first batch (also when resuming) with the training set,
   * e.g. to precompute per-sample quantities that batches then look up by index. Must be
   * deterministic in its arguments, so that a resumed run sees the same values.
   */
  prepare?(data: ObjectivePreparation<D>): void;
  /** Loss and gradients of one batch for `weights`. */
  compute(model: LayersModel, weights: LayerVariable[], ctx: BatchContext): BatchResult<S>;
  /** JSON state to checkpoint (e.g. a calibrated β). */
  getState(): Record<string, unknown>;
  /** Restores {@link getState}'s output. */
  setState(state: Record<string, unknown>): void;
}

function variablesOf(weights: LayerVariable[]): Variable[] {
  return weights.map((w) => w.read() as Variable);
}

/** Runs `lossFn(outputs)` under variableGrads; returns value, grads aligned with weights, and the task's batch statistic. */
function lossWithGrads<S>(task: TrainingTask<AnyDataset, S>, model: LayersModel, weights: LayerVariable[], ctx: BatchContext, lossFn: (outputs: Tensor) => Tensor): { loss: number; grads: Tensor[]; statistic: S } {
  const vars = variablesOf(weights);
  let statistic: S | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const outputs = model.apply(ctx.x, { training: true }) as Tensor;
    statistic = task.batchStatistic(outputs, ctx.y);
    return lossFn(outputs) as Scalar;
  }, vars);
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, grads: alignGrads(grads, vars), statistic: statistic as S };
}

/** Gradients in the weights' order; a weight the loss does not reach gets zeros. */
function alignGrads(grads: NamedTensorMap, vars: Variable[]): Tensor[] {
  return vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
}

function globalNorm(ts: Tensor[]): number {
  return tf.tidy(() => tf.sqrt(tf.addN(ts.map((t) => tf.sum(tf.square(t))))).dataSync()[0]);
}

/** The task loss alone ("no transfer", and teacher training); classification's cross-entropy by default. */
export function taskObjective(): Objective;
export function taskObjective<D extends AnyDataset, S>(task: TrainingTask<D, S>): Objective<S, D>;
export function taskObjective<D extends AnyDataset, S>(task: TrainingTask<D, S> = classificationTask as unknown as TrainingTask<D, S>): Objective<S, D> {
  return {
    name: "task",
    compute(model, weights, ctx) {
      const r = lossWithGrads(task, model, weights, ctx, (outputs) => task.loss(outputs, ctx.y));
      return { ...r, parts: { task: r.loss } };
    },
    getState: () => ({}),
    setState: () => undefined,
  };
}

/** Options of {@link kdObjective}. */
export interface KdObjectiveOptions<D extends AnyDataset = ImageDataset, S = number> {
  /** The trained teacher (the task's outputs, e.g. logits; evaluated in inference mode, never updated). */
  teacher: LayersModel;
  /** The task (default classification). */
  task?: TrainingTask<D, S>;
  /** Temperature T (default 4; the authors' earlier code used 10, digest §11). */
  temperature?: number;
  /** Weight α of the soft term (default 0.5, the authors' earlier code). */
  alpha?: number;
}

/** Hinton KD: α·T²·KL(teacher_T || student_T) + (1 − α)·task loss (per pixel for segmentation). */
export function kdObjective<D extends AnyDataset = ImageDataset, S = number>(opts: KdObjectiveOptions<D, S>): Objective<S, D> {
  const temperature = opts.temperature ?? 4;
  const alpha = opts.alpha ?? 0.5;
  const task = opts.task ?? (classificationTask as unknown as TrainingTask<D, S>);
  return {
    name: "kd",
    compute(model, weights, ctx) {
      const teacherLogits = opts.teacher.apply(ctx.x, { training: false }) as Tensor;
      try {
        const r = lossWithGrads(task, model, weights, ctx, (outputs) => task.kdLoss(outputs, teacherLogits, ctx.y, { temperature, alpha }));
        return { ...r, parts: { kd: r.loss } };
      } finally {
        teacherLogits.dispose();
      }
    },
    getState: () => ({}),
    setState: () => undefined,
  };
}

/**
 * Default multiplier of the automatic β: 1, i.e. the NTK term's gradient as large as the task
 * term's (β balances gradient norms by default). It is the one value that encodes no data set:
 * neither term dominates the first updates. Values tuned on a validation split belong in presets,
 * which state them explicitly (the full MNIST preset uses 0.3, the segmentation study 0.1 with
 * loss balance).
 */
export const DEFAULT_BETA_SCALE = 1;

/** Options of {@link ntkdObjective}. */
export interface NtkdObjectiveOptions<D extends AnyDataset = ImageDataset, S = number> extends NtkMatchOptions {
  /** The trained teacher; its NTK is taken over all its trainable weights and all its outputs, without gradient. */
  teacher: LayersModel;
  /** The task (default classification). */
  task?: TrainingTask<D, S>;
  /** Weight α of the task (cross-entropy) term (default 1). */
  alpha?: number;
  /**
   * Weight β of the NTK term, or "auto" (default): β = betaScale · the mean, over the first
   * `autoBetaBatches` batches, of the task-to-NTK ratio chosen by `betaBalance`; then frozen
   * (and checkpointed). During calibration β is the running mean.
   */
  beta?: number | "auto";
  /** Multiplier of the automatic β (default {@link DEFAULT_BETA_SCALE}). */
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
  /**
   * KD + NTKD: when given, the term weighted by α is Hinton's KD loss against the teacher's
   * logits with these settings (see {@link kdObjective}) instead of the task loss alone, so
   * that the student matches the teacher's outputs and its tangent kernel at once. The
   * objective is then named "kd+ntkd". Absent: NTKD as the paper has it.
   */
  kd?: { temperature?: number; alpha?: number };
}

/** NTKD: α·task + β·MSE(norm Θ_teacher, norm Θ_student) on each minibatch (α·KD + β·… with `kd`: KD + NTKD). */
export function ntkdObjective<D extends AnyDataset = ImageDataset, S = number>(opts: NtkdObjectiveOptions<D, S>): Objective<S, D> {
  const match: ResolvedNtkMatchOptions = resolveNtkMatchOptions(opts);
  const task = opts.task ?? (classificationTask as unknown as TrainingTask<D, S>);
  const alpha = opts.alpha ?? 1;
  const betaOpt = opts.beta ?? "auto";
  const betaScale = opts.betaScale ?? DEFAULT_BETA_SCALE;
  const autoBatches = opts.autoBetaBatches ?? 5;
  const balance = opts.betaBalance ?? "gradient";
  if (balance !== "gradient" && balance !== "loss") throw new Error(`ntkdObjective: betaBalance must be "gradient" or "loss", got ${String(balance)}`);
  if (betaOpt !== "auto" && !(betaOpt >= 0)) throw new Error(`ntkdObjective: beta must be a number >= 0 or "auto", got ${String(betaOpt)}`);
  if (!(alpha >= 0)) throw new Error(`ntkdObjective: alpha must be >= 0, got ${alpha}`);
  if (!(betaScale >= 0) || !Number.isFinite(betaScale)) throw new Error(`ntkdObjective: betaScale must be a finite number >= 0, got ${betaScale}`);
  if (!Number.isInteger(autoBatches) || autoBatches < 1) throw new Error(`ntkdObjective: autoBetaBatches must be an integer >= 1, got ${autoBatches}`);
  const teacherVars = variablesOf(opts.teacher.trainableWeights);
  if (teacherVars.length === 0) throw new Error(`ntkdObjective: teacher ${opts.teacher.name} has no trainable weights to take the NTK over`);
  const teacherSubject = flattenedSubject((x) => opts.teacher.apply(x, { training: false }) as Tensor, teacherVars);
  const kind: KernelKind = match.estimator === "sketch" ? "matrix" : "trace";
  const kd = opts.kd === undefined ? null : { temperature: opts.kd.temperature ?? 4, alpha: opts.kd.alpha ?? 0.5 };
  /** The term weighted by α for one batch: the task loss, or (KD + NTKD) KD's loss against the teacher's logits of the batch. */
  type AlphaTerm = (outputs: Tensor) => Tensor;
  let ratioSum = 0;
  let ratioCount = 0;
  let cache: { train: D; seed: number; sketch: TeacherSketchCache } | null = null;

  /** The student seen by the NTK: outputs flattened; `shape` keeps the unflattened shape for the task term. */
  function studentOf(model: LayersModel, weights: LayerVariable[]): { subject: NtkSubject; unflatten: (flat: Tensor) => Tensor } {
    let shape: number[] = [];
    const forward = (x: Tensor) => {
      const outputs = model.apply(x, { training: true }) as Tensor;
      shape = outputs.shape;
      return outputs;
    };
    return { subject: flattenedSubject(forward, variablesOf(weights)), unflatten: (flat) => (flat.rank === shape.length ? flat : tf.reshape(flat, shape)) };
  }

  function teacherKernelOf(ctx: BatchContext): Tensor {
    if (match.teacherCache === "none") return teacherKernel(teacherSubject, ctx.x, match, deriveSeed(ctx.seed, 0x7eac, ctx.epoch, ctx.batch));
    if (cache === null) {
      throw new Error('ntkdObjective: teacherCache "dataset" needs prepare({ train, seed }) before compute (trainLoop calls it); use teacherCache "none" for batches that are not drawn from one dataset');
    }
    if (ctx.indices.length !== ctx.x.shape[0]) throw new Error(`ntkdObjective: ctx.indices has ${ctx.indices.length} entries for a batch of ${ctx.x.shape[0]} images`);
    return cachedTeacherKernel(cache.sketch, ctx.indices, kind);
  }

  /** Separate task and NTK gradients: needed while β is calibrated from their ratio. */
  function separate(model: LayersModel, weights: LayerVariable[], ctx: BatchContext, kT: Tensor, studentSeed: number, alphaTerm: AlphaTerm): BatchResult<S> {
    const taskPart = lossWithGrads(task, model, weights, ctx, alphaTerm);
    const vars = variablesOf(weights);
    let ntk;
    try {
      ntk = ntkdLossAndGrads(studentOf(model, weights).subject, ctx.x, kT, match, studentSeed);
    } catch (err) {
      tf.dispose(taskPart.grads);
      throw err;
    }
    const ntkLoss = ntk.value.dataSync()[0];
    ntk.value.dispose();
    const ntkGrads = alignGrads(ntk.grads, vars);
    if (ratioCount < autoBatches) {
      const ratio = balance === "loss" ? (alpha * taskPart.loss) / ntkLoss : (alpha * globalNorm(taskPart.grads)) / globalNorm(ntkGrads);
      if (Number.isFinite(ratio) && ratio > 0) {
        ratioSum += ratio;
        ratioCount++;
      }
    }
    const beta = ratioCount > 0 ? (betaScale * ratioSum) / ratioCount : 0;
    const grads = taskPart.grads.map((g, k) => tf.tidy(() => tf.add(tf.mul(g, alpha), tf.mul(ntkGrads[k], beta))));
    tf.dispose([...taskPart.grads, ...ntkGrads]);
    tf.dispose(Object.values(ntk.grads).filter((t) => !ntkGrads.includes(t)));
    return { loss: alpha * taskPart.loss + beta * ntkLoss, grads, statistic: taskPart.statistic, parts: { task: taskPart.loss, ntk: ntkLoss, beta } };
  }

  /**
   * α·CE + β·L_NTKD differentiated in one pass once β is known: the task term reuses the
   * student's forward at θ that the NTK sketch needs anyway (same maths, one forward and one
   * backward fewer than computing the two gradients apart).
   */
  function combined(model: LayersModel, weights: LayerVariable[], ctx: BatchContext, kT: Tensor, studentSeed: number, beta: number, alphaTerm: AlphaTerm): BatchResult<S> {
    const vars = variablesOf(weights);
    const student = studentOf(model, weights);
    let ntkLoss = NaN;
    let taskLoss = NaN;
    let statistic: S | undefined;
    const { value, grads } = kernelLossAndGrads(
      student.subject,
      ctx.x,
      kind,
      { probes: match.probes, epsilon: match.epsilon, seed: studentSeed, distribution: match.probeDistribution },
      (k) => {
        const mismatch = kernelMismatch(kT, k, match.normalisation);
        ntkLoss = mismatch.dataSync()[0];
        return tf.mul(mismatch, beta);
      },
      (flatOutputs) => {
        const outputs = student.unflatten(flatOutputs);
        statistic = task.batchStatistic(outputs, ctx.y);
        const taskValue = alphaTerm(outputs);
        taskLoss = taskValue.dataSync()[0];
        return tf.mul(taskValue, alpha);
      },
    );
    const loss = value.dataSync()[0];
    value.dispose();
    const aligned = alignGrads(grads, vars);
    tf.dispose(Object.values(grads).filter((t) => !aligned.includes(t)));
    return { loss, grads: aligned, statistic: statistic as S, parts: { task: taskLoss, ntk: ntkLoss, beta } };
  }

  return {
    name: kd === null ? "ntkd" : "kd+ntkd",
    prepare({ train, seed }) {
      if (match.teacherCache === "none") return;
      if (cache !== null && cache.train === train && cache.seed === seed) return;
      const sketch = precomputeTeacherSketch(teacherSubject, train, { probes: match.teacherProbes, epsilon: match.teacherEpsilon, seed: deriveSeed(seed, 0x7eac, 0xcac4e), distribution: match.probeDistribution });
      cache = { train, seed, sketch };
    },
    compute(model, weights, ctx) {
      const studentSeed = deriveSeed(ctx.seed, 0x57d, ctx.epoch, ctx.batch);
      const kT = teacherKernelOf(ctx);
      const teacherLogits = kd === null ? null : (opts.teacher.apply(ctx.x, { training: false }) as Tensor);
      const alphaTerm: AlphaTerm = (outputs) => (kd === null || teacherLogits === null ? task.loss(outputs, ctx.y) : task.kdLoss(outputs, teacherLogits, ctx.y, kd));
      try {
        if (betaOpt !== "auto") return combined(model, weights, ctx, kT, studentSeed, betaOpt, alphaTerm);
        if (ratioCount < autoBatches) return separate(model, weights, ctx, kT, studentSeed, alphaTerm);
        return combined(model, weights, ctx, kT, studentSeed, (betaScale * ratioSum) / ratioCount, alphaTerm);
      } finally {
        kT.dispose();
        teacherLogits?.dispose();
      }
    },
    getState: () => ({ ratioSum, ratioCount }),
    setState(state) {
      ratioSum = Number(state.ratioSum ?? 0);
      ratioCount = Number(state.ratioCount ?? 0);
    },
  };
}

/** The feature-relational transfer baselines of {@link relationalObjective}. */
export type RelationalMethod = "sp" | "rkd";

/**
 * Default weight γ of each relational term beside the task loss: 3000 for SP (Tung & Mori's
 * CIFAR-10 value, for their b = 128 batches: the term is divided by b²), 1 for RKD (whose
 * λ_D and λ_A already weigh its terms).
 */
export const RELATIONAL_DEFAULT_WEIGHTS: Readonly<Record<RelationalMethod, number>> = { sp: 3000, rkd: 1 };

/** Options of {@link relationalObjective}. */
export interface RelationalObjectiveOptions extends RelationalKdLossOptions {
  /** "sp": similarity-preserving KD (Tung & Mori 2019); "rkd": relational KD, distance and angle (Park et al. 2019). */
  method: RelationalMethod;
  /** The trained teacher: its last hidden features (the input of its last layer), in inference mode. */
  teacher: LayersModel | FeatureForward;
  /** The student's feature forward (`featureForward(student)`); the loop's model is not used for it. */
  student: FeatureForward;
  /** Weight γ of the relational term beside the task loss (weight 1); default {@link RELATIONAL_DEFAULT_WEIGHTS}. */
  weight?: number;
}

/**
 * Task loss + γ · a relational loss between the batch's student and teacher features
 * (`distill/relational`): the classification transfer baselines that match how the samples of
 * a batch relate, as NTKD does with tangent features, rather than the logits, as KD does.
 */
export function relationalObjective(opts: RelationalObjectiveOptions): Objective {
  const { method } = opts;
  if (method !== "sp" && method !== "rkd") throw new Error(`relationalObjective: method must be "sp" or "rkd", got ${String(method)}`);
  const weight = opts.weight ?? RELATIONAL_DEFAULT_WEIGHTS[method];
  if (!(weight >= 0) || !Number.isFinite(weight)) throw new Error(`relationalObjective: weight must be a finite number >= 0, got ${weight}`);
  const teacher = typeof opts.teacher === "function" ? opts.teacher : featureForward(opts.teacher, "relationalObjective teacher");
  const task = classificationTask;
  return {
    name: method,
    compute(_model, weights, ctx) {
      const teacherFeatures = tf.tidy(() => teacher(ctx.x, false).features);
      const vars = variablesOf(weights);
      let statistic = 0;
      let taskLoss = NaN;
      let relational = NaN;
      try {
        const { value, grads } = tf.variableGrads(() => {
          const { features, outputs } = opts.student(ctx.x, true);
          statistic = task.batchStatistic(outputs, ctx.y);
          const taskValue = task.loss(outputs, ctx.y);
          const relationalValue = method === "sp" ? similarityPreservingLoss(features, teacherFeatures) : relationalKdLoss(features, teacherFeatures, opts).loss;
          taskLoss = taskValue.dataSync()[0];
          relational = relationalValue.dataSync()[0];
          return tf.add(taskValue, tf.mul(relationalValue, weight)) as Scalar;
        }, vars);
        const loss = value.dataSync()[0];
        value.dispose();
        return { loss, grads: alignGrads(grads, vars), statistic, parts: { task: taskLoss, [method]: relational } };
      } finally {
        teacherFeatures.dispose();
      }
    },
    getState: () => ({}),
    setState: () => undefined,
  };
}

/** Default weight γ of the encoder Gram term beside the task loss (not tuned: the term lies in [0, 4]). */
export const KERNEL_GRAM_DEFAULT_WEIGHT = 1;

/** Options of {@link kernelGramObjective}. */
export interface KernelGramObjectiveOptions {
  /** The trained teacher: the Gram matrix of its first Conv2D layer's kernels is the target. */
  teacher: LayersModel;
  /** The student's optical layer: its conv2d-orientation kernels [k, k, C, n], differentiable. */
  studentKernels: () => Tensor4D;
  /** Weight γ of the Gram term beside the task loss; default {@link KERNEL_GRAM_DEFAULT_WEIGHT}. */
  weight?: number;
}

/**
 * Task loss + γ · ‖Gₛ − Gₜ‖²_F, the normalised Gram matrices of the student's optical kernels and
 * of the teacher's first convolution (`distill/kernel-gram`): encoder Gram-matrix KD, which
 * shapes only the optics, and only what they span.
 */
export function kernelGramObjective(opts: KernelGramObjectiveOptions): Objective {
  const weight = opts.weight ?? KERNEL_GRAM_DEFAULT_WEIGHT;
  if (!(weight >= 0) || !Number.isFinite(weight)) throw new Error(`kernelGramObjective: weight must be a finite number >= 0, got ${weight}`);
  // The teacher's Gram matrix as numbers, made a tensor per batch: no tensor outlives a step.
  let target: { values: Float32Array; size: number } | null = null;
  const task = classificationTask;
  return {
    name: "gram",
    compute(model, weights, ctx) {
      if (target === null) {
        const probe = opts.studentKernels();
        const [k, , c] = probe.shape;
        probe.dispose();
        const g = teacherKernelGram(opts.teacher, k, c);
        target = { values: g.dataSync() as Float32Array, size: g.shape[0] };
        g.dispose();
      }
      const t = target;
      let taskLoss = NaN;
      let gram = NaN;
      const r = lossWithGrads(task, model, weights, ctx, (outputs) => {
        const taskValue = task.loss(outputs, ctx.y);
        const gramValue = gramMismatch(kernelGram(opts.studentKernels()), tf.tensor2d(t.values, [t.size, t.size]));
        taskLoss = taskValue.dataSync()[0];
        gram = gramValue.dataSync()[0];
        return tf.add(taskValue, tf.mul(gramValue, weight));
      });
      return { ...r, parts: { task: taskLoss, gram } };
    },
    getState: () => ({}),
    setState: () => undefined,
  };
}
