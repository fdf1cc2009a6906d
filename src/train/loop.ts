/**
 * The seeded training loop, one for every task: a task adapter (`task.ts`) supplies batches,
 * targets, losses, the per-batch statistic, the epoch metric and validation; this file owns
 * everything else. {@link trainLoop} is the classification entry point, `trainSegmentationLoop`
 * the segmentation one; both call {@link trainTaskLoop}.
 *
 * Determinism and resume: the sample order of epoch e comes from (seed, e), NTK probes from
 * (seed, epoch, batch), and the optimizer is our own (see optimizers.ts), so a run resumed from
 * the checkpoint of epoch e continues bit-for-bit as an uninterrupted run on the same backend.
 * Checkpoints (`last.ckpt` in `checkpointDir`) are written atomically at the end of each epoch
 * and hold the weights, the optimizer state, the objective's state (e.g. a calibrated β), the
 * early-stopping state with the best weights, and the history. A resume continues only the same
 * run: a checkpoint of another task kind, objective or seed is refused. Resuming a run that had
 * stopped early (or had finished) ends as the uninterrupted run did: with the best epoch's
 * weights when `restoreBest` holds.
 *
 * Before the first batch (of a fresh or a resumed run) the objective's `prepare` gets the
 * training set and seed, and every batch's context carries its sample indices into that set, so
 * an objective can precompute per-sample values once (e.g. NTKD's teacher sketch cache).
 *
 * Divergence: a NaN or infinite loss or gradient stops the run before the update is applied;
 * non-finite weights after an epoch's updates, or a non-finite validation metric or loss, stop
 * it before the checkpoint and the best-epoch snapshot are written. Each throws a
 * {@link TrainingDivergedError} naming what diverged, the epoch (and batch), and the checkpoint
 * kept from the last good epoch; `last.ckpt` is left as it was.
 *
 * The loop yields to the event loop (a macrotask) after every batch, so timers and IPC handlers
 * (e.g. a worker's "parent died" check) run during an epoch, not only between runs.
 */
import * as path from "node:path";
import * as fs from "node:fs";
import type { LayersModel, LayerVariable, Tensor } from "@tensorflow/tfjs";
import type { AnyDataset } from "../data/splits";
import type { ImageDataset } from "../data/types";
import { tf } from "../runtime/tf";
import { epochBatches } from "../data/batches";
import { readCheckpoint, removeStaleTemporaries, writeCheckpoint, type StoredTensor } from "./checkpoint";
import type { Objective } from "./objectives";
import { Optimizer, clipByGlobalNorm, learningRateAt, type OptimizerOptions, type Schedule } from "./optimizers";
import { classificationTask, type TrainingTask } from "./task";

/** Progress after each batch. */
export interface BatchProgress {
  epoch: number;
  batch: number;
  /** Batches in this epoch. */
  batches: number;
  /** Optimizer steps taken so far (after this batch). */
  step: number;
  loss: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  learningRate: number;
  parts: Record<string, number>;
}

/**
 * What every task's epoch record holds. The loop adds the task's metric as
 * `train<Metric>` and, with a validation set, `validation<Metric>`, `validationLoss` and
 * `validation<Extra>` for each of the evaluator's extras (see {@link TrainingTask.metricName}).
 */
export interface BaseEpochRecord {
  epoch: number;
  learningRate: number;
  /** Mean training loss over the epoch's batches (weighted by batch size). */
  trainLoss: number;
  /** Validation loss, when a validation set is given. */
  validationLoss?: number;
  /** Means of the objective's named parts (e.g. task, ntk, beta). */
  parts: Record<string, number>;
  /** Wall-clock seconds of the epoch (not part of any determinism guarantee). */
  seconds: number;
}

/** Metrics of one finished classification epoch. */
export interface EpochRecord extends BaseEpochRecord {
  /** Training accuracy of the training-mode forward passes of the epoch. */
  trainAccuracy: number;
  /** Validation accuracy, when a validation set is given. */
  validationAccuracy?: number;
}

/** Options of {@link trainTaskLoop}: the loop's settings for any task (`D` dataset, `S` batch statistic, `R` epoch record). */
export interface TaskLoopOptions<D extends AnyDataset, S, R extends BaseEpochRecord> {
  /** The network; its output is what the task's losses take (logits [n, classes], mask logits [n, H, W, 1]). */
  model: LayersModel;
  /** Weights to train (default: all trainable weights of `model`). */
  trainable?: LayerVariable[];
  /** Per-batch objective (task, KD, NTKD, or your own). */
  objective: Objective<S, D>;
  /** Training set. */
  train: D;
  /** Validation set for early stopping and best-epoch selection (optional). */
  validation?: D;
  /** Number of epochs (≥ 1). */
  epochs: number;
  /** Minibatch size (default: the task's, 128 for classification as the paper's MNIST and CIFAR-10, 8 for segmentation). */
  batchSize?: number;
  /** Seed of the shuffles and probes (the model's initial weights come from its builder's seed). Default 0. */
  seed?: number;
  /** Base learning rate, a finite number > 0 (default 1e-3). */
  learningRate?: number;
  /** Optimizer (default Adam). */
  optimizer?: OptimizerOptions;
  /** Learning-rate schedule per epoch (default constant). */
  schedule?: Schedule;
  /** Clip the global gradient norm to this value (default: no clipping). */
  clipNorm?: number;
  /** Stop when the validation metric has not improved by `minDelta` for `patience` epochs. */
  earlyStopping?: { patience: number; minDelta?: number };
  /** At the end, load the weights of the best validation epoch (default true with a validation set). */
  restoreBest?: boolean;
  /** Folder for `last.ckpt` (e.g. a run store's checkpoints folder); none = no checkpoints. */
  checkpointDir?: string;
  /** Continue from `checkpointDir/last.ckpt` when it exists (default false). */
  resume?: boolean;
  /** Validation batch size (default: the task's, e.g. max(batchSize, 256) for classification, 32 for segmentation). */
  evalBatchSize?: number;
  /** Called after every batch. */
  onBatchEnd?: (p: BatchProgress) => void;
  /** Called after every epoch (after the checkpoint is written). */
  onEpochEnd?: (r: R) => void;
}

/** Result of {@link trainTaskLoop}. */
export interface TaskTrainResult<R extends BaseEpochRecord> {
  history: R[];
  /** Epoch with the best validation metric (or the last epoch without validation). */
  bestEpoch: number;
  /** Best validation metric, if validated. */
  bestValidationMetric?: number;
  /** Whether early stopping ended the run. */
  stoppedEarly: boolean;
  /** Epochs completed (including those before a resume). */
  epochsCompleted: number;
  /** Epoch the run resumed after, or null for a fresh run. */
  resumedFrom: number | null;
  /** Path of the last checkpoint, if checkpoints were written. */
  checkpoint?: string;
}

/** Options of {@link trainLoop} (classification). */
export interface TrainLoopOptions extends TaskLoopOptions<ImageDataset, number, EpochRecord> {
  /** The network; its output must be logits [n, classes]. */
  model: LayersModel;
}

/** Result of {@link trainLoop}. */
export interface TrainResult {
  history: EpochRecord[];
  /** Epoch with the best validation accuracy (or the last epoch without validation). */
  bestEpoch: number;
  /** Best validation accuracy, if validated. */
  bestValidationAccuracy?: number;
  /** Whether early stopping ended the run. */
  stoppedEarly: boolean;
  /** Epochs completed (including those before a resume). */
  epochsCompleted: number;
  /** Epoch the run resumed after, or null for a fresh run. */
  resumedFrom: number | null;
  /** Path of the last checkpoint, if checkpoints were written. */
  checkpoint?: string;
}

/** Thrown when a loss, gradient, weight or validation value becomes NaN or infinite. */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
    /** Batch of the divergence, or -1 when it was found at the end of the epoch. */
    readonly batch: number,
    /** Checkpoint kept from the last good epoch, if any. */
    readonly checkpoint: string | null,
  ) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}

const snapshot = (ws: LayerVariable[]): StoredTensor[] => ws.map((w) => ({ shape: (w.shape as number[]).slice(), data: Float32Array.from(w.read().dataSync() as Float32Array) }));

/** Writes stored values into `ws` (same order and shapes). */
export function loadStoredWeights(ws: LayerVariable[], stored: StoredTensor[], source: string): void {
  if (stored.length !== ws.length) throw new Error(`${source}: holds ${stored.length} weight tensors, the model has ${ws.length} (different architecture?)`);
  stored.forEach((s, k) => {
    if (!tf.util.arraysEqual(s.shape, ws[k].shape as number[])) {
      throw new Error(`${source}: weight ${k} (${ws[k].name}) has shape ${JSON.stringify(s.shape)} in the checkpoint, ${JSON.stringify(ws[k].shape)} in the model`);
    }
    tf.tidy(() => {
      ws[k].write(tf.tensor(s.data, s.shape));
    });
  });
}

/** Loads the weights (or, with group "best", the best-epoch weights) of a checkpoint into a model. */
export function loadCheckpointWeights(model: LayersModel, file: string, group: "weights" | "best" = "weights"): void {
  const ck = readCheckpoint(file);
  const stored = ck.tensors[group];
  if (!stored) throw new Error(`loadCheckpointWeights: ${file} has no "${group}" tensors`);
  loadStoredWeights(model.weights, stored, file);
}


/** "accuracy" -> "Accuracy": the record field suffix of a task's metric or extra. */
const fieldSuffix = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/** Checks a learning rate (the one check every entry point goes through). */
export function checkLearningRate(where: string, lr: number): number {
  if (typeof lr !== "number" || !(lr > 0) || !Number.isFinite(lr)) throw new Error(`${where}: learningRate must be a finite number > 0, got ${String(lr)}`);
  return lr;
}

/** Whether every value of every weight is finite; otherwise the first weight that is not. */
function firstNonFiniteWeight(ws: LayerVariable[]): number {
  const flags = tf.tidy(() => tf.stack(ws.map((w) => tf.all(tf.isFinite(w.read())))).dataSync());
  return flags.findIndex((f) => !f);
}

/** Largest |value| over the weights (for messages: finite weights of 1e20 are a divergence too). */
function largestWeight(ws: LayerVariable[]): number {
  return tf.tidy(() => tf.max(tf.stack(ws.map((w) => tf.max(tf.abs(w.read()))))).dataSync()[0]);
}

/** Weight magnitude beyond which a divergence message says the weights were already diverging. */
const LARGE_WEIGHT = 1e6;

/** One clause on the state of the weights, for a divergence message. */
function weightState(ws: LayerVariable[]): string {
  const bad = firstNonFiniteWeight(ws);
  if (bad >= 0) return `weight ${bad} (${ws[bad].name}) holds NaN or ±Infinity`;
  const largest = largestWeight(ws);
  // Trained weights stay far below 1e6; finite weights beyond it mean the run was already
  // diverging, and the message must not present them as a good state.
  const note = largest > LARGE_WEIGHT ? ` (already diverging: trained weights stay far below ${LARGE_WEIGHT.toExponential(0)}, so the kept checkpoint may be unusable too)` : "";
  return `the weights are finite, largest |w| ${largest.toExponential(2)}${note}`;
}

/**
 * Trains `model` with `objective` on the task `task`; see the module comment for the guarantees.
 * `where` names the entry point in errors (e.g. "trainLoop").
 */
export async function trainTaskLoop<D extends AnyDataset, S, R extends BaseEpochRecord>(
  task: TrainingTask<D, S>,
  opts: TaskLoopOptions<D, S, R>,
  where = "trainTaskLoop",
): Promise<TaskTrainResult<R>> {
  const { model, objective, train, validation } = opts;
  task.checkDataset(train, `${where} train`);
  if (validation) task.checkDataset(validation, `${where} validation`);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new Error(`${where}: epochs must be an integer >= 1, got ${opts.epochs}`);
  const batchSize = opts.batchSize ?? task.defaultBatchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`${where}: batchSize must be an integer >= 1, got ${batchSize}`);
  const evalBatchSize = opts.evalBatchSize ?? task.evaluationBatchSize(batchSize);
  if (!Number.isInteger(evalBatchSize) || evalBatchSize < 1) throw new Error(`${where}: evalBatchSize must be an integer >= 1, got ${evalBatchSize}`);
  const seed = opts.seed ?? 0;
  if (!Number.isFinite(seed)) throw new Error(`${where}: seed must be a finite number, got ${seed}`);
  const baseLr = checkLearningRate(where, opts.learningRate ?? 1e-3);
  const schedule = opts.schedule ?? { kind: "constant" };
  const trainable = opts.trainable ?? model.trainableWeights;
  if (trainable.length === 0) throw new Error(`${where}: nothing to train (no trainable weights)`);
  const restoreBest = opts.restoreBest ?? validation !== undefined;
  const metric = fieldSuffix(task.metricName);
  const ckptFile = opts.checkpointDir ? path.join(opts.checkpointDir, "last.ckpt") : undefined;
  const optimizer = new Optimizer(opts.optimizer ?? {}, trainable);

  let history: R[] = [];
  let startEpoch = 0;
  let best = -Infinity;
  let bestEpoch = -1;
  let sinceBest = 0;
  let bestWeights: StoredTensor[] | null = null;
  let resumedFrom: number | null = null;
  let stoppedEarly = false;
  let epoch = 0;

  const diverged = (what: string, atEpoch: number, batch: number, advice: string): TrainingDivergedError => {
    const kept = ckptFile && fs.existsSync(ckptFile) ? ckptFile : null;
    return new TrainingDivergedError(
      `${where} (${objective.name}): ${what}. ` + (kept ? `The last checkpoint, of the last epoch that ended finite, is kept at ${kept}.` : "No checkpoint had been written.") + ` ${advice}`,
      atEpoch,
      batch,
      kept,
    );
  };

  try {
    if (opts.checkpointDir) removeStaleTemporaries(opts.checkpointDir);
    if (opts.resume && ckptFile && fs.existsSync(ckptFile)) {
      const ck = readCheckpoint(ckptFile);
      // A resume only continues the same run: another task, objective or seed would silently mix two runs.
      const kind = String(ck.meta.kind ?? "classification");
      if (kind !== task.kind || ck.meta.objective !== objective.name || ck.meta.seed !== seed) {
        throw new Error(
          `${where}: ${ckptFile} belongs to a ${kind} run with objective "${String(ck.meta.objective)}" and seed ${String(ck.meta.seed)}; ` +
            `this is a ${task.kind} run with objective "${objective.name}" and seed ${seed}. Use another checkpointDir or resume: false.`,
        );
      }
      loadStoredWeights(model.weights, ck.tensors.weights, ckptFile);
      optimizer.setState({ step: Number(ck.meta.optimizerStep), slots: ck.tensors.optimizer });
      objective.setState((ck.meta.objectiveState ?? {}) as Record<string, unknown>);
      history = ck.meta.history as R[];
      startEpoch = Number(ck.meta.epochsCompleted);
      best = Number(ck.meta.bestMetric ?? ck.meta.bestAccuracy ?? ck.meta.bestMeanIoU ?? -Infinity);
      bestEpoch = Number(ck.meta.bestEpoch ?? -1);
      sinceBest = Number(ck.meta.sinceBest ?? 0);
      bestWeights = ck.tensors.best ?? null;
      resumedFrom = startEpoch - 1;
      stoppedEarly = ck.meta.stoppedEarly === true;
    }

    epoch = startEpoch;
    // After a resume too: the objective's per-dataset precomputation depends only on (train, seed).
    if (epoch < opts.epochs && !stoppedEarly) objective.prepare?.({ train, seed });
    for (; epoch < opts.epochs && !stoppedEarly; epoch++) {
      const t0 = Date.now();
      const lr = learningRateAt(schedule, baseLr, epoch);
      const batches = epochBatches(train.count, batchSize, seed, epoch);
      let lossSum = 0;
      let seen = 0;
      const statistics: S[] = [];
      const partSums: Record<string, number> = {};
      for (let b = 0; b < batches.length; b++) {
        const { x, y } = task.gather(train, batches[b]);
        let result;
        try {
          result = objective.compute(model, trainable, { x, y, indices: batches[b], epoch, batch: b, step: optimizer.step, seed });
        } finally {
          tf.dispose([x, y]);
        }
        const { grads: clipped, norm } = clipByGlobalNorm(result.grads, opts.clipNorm);
        tf.dispose(result.grads);
        if (!Number.isFinite(result.loss) || !Number.isFinite(norm)) {
          tf.dispose(clipped);
          const what = !Number.isFinite(result.loss) ? `loss became ${result.loss}` : `gradient norm became ${norm}`;
          throw diverged(
            `${what} at epoch ${epoch}, batch ${b} (step ${optimizer.step + 1}); no update applied; before it ${weightState(model.weights)}`,
            epoch,
            b,
            "Lower the learning rate, add clipNorm, or check the inputs for NaN.",
          );
        }
        optimizer.applyGradients(clipped, lr);
        tf.dispose(clipped);
        const n = batches[b].length;
        lossSum += result.loss * n;
        seen += n;
        statistics.push(result.statistic);
        for (const [k, v] of Object.entries(result.parts)) partSums[k] = (partSums[k] ?? 0) + v * n;
        opts.onBatchEnd?.({ epoch, batch: b, batches: batches.length, step: optimizer.step, loss: result.loss, gradNorm: norm, learningRate: lr, parts: result.parts });
        // A macrotask, not a microtask: lets timers and IPC handlers (a worker's parent check) run mid-epoch.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const badWeight = firstNonFiniteWeight(model.weights);
      if (badWeight >= 0) {
        throw diverged(
          `weight ${badWeight} (${model.weights[badWeight].name}) holds NaN or ±Infinity after the updates of epoch ${epoch}, though every batch loss was finite`,
          epoch,
          -1,
          "Lower the learning rate or add clipNorm.",
        );
      }
      const parts: Record<string, number> = {};
      for (const [k, v] of Object.entries(partSums)) parts[k] = v / seen;
      const record: Record<string, unknown> = { epoch, learningRate: lr, trainLoss: lossSum / seen, [`train${metric}`]: task.epochMetric(statistics, seen), parts, seconds: 0 };
      if (validation) {
        const ev = task.evaluate(model, validation, evalBatchSize);
        if (!Number.isFinite(ev.metric) || !Number.isFinite(ev.loss)) {
          throw diverged(
            `validation ${task.metricName} ${ev.metric} and loss ${ev.loss} after epoch ${epoch} are not all finite (${weightState(model.weights)}): the run diverged`,
            epoch,
            -1,
            "Lower the learning rate or add clipNorm.",
          );
        }
        record[`validation${metric}`] = ev.metric;
        record.validationLoss = ev.loss;
        for (const [k, v] of Object.entries(ev.extras ?? {})) record[`validation${fieldSuffix(k)}`] = v;
        const minDelta = opts.earlyStopping?.minDelta ?? 0;
        if (ev.metric > best + minDelta || bestEpoch < 0) {
          best = ev.metric;
          bestEpoch = epoch;
          sinceBest = 0;
          if (restoreBest) bestWeights = snapshot(model.weights);
        } else {
          sinceBest++;
        }
        if (opts.earlyStopping && sinceBest >= opts.earlyStopping.patience) stoppedEarly = true;
      } else {
        bestEpoch = epoch;
      }
      record.seconds = (Date.now() - t0) / 1000;
      history.push(record as unknown as R);
      if (ckptFile) {
        const tensors: Record<string, StoredTensor[]> = { weights: snapshot(model.weights), optimizer: optimizer.getState().slots };
        if (bestWeights) tensors.best = bestWeights;
        writeCheckpoint(ckptFile, {
          meta: {
            kind: task.kind,
            epochsCompleted: epoch + 1,
            optimizerStep: optimizer.step,
            objective: objective.name,
            objectiveState: objective.getState(),
            history,
            bestMetric: Number.isFinite(best) ? best : null,
            bestEpoch,
            sinceBest,
            stoppedEarly,
            seed,
          },
          tensors,
        });
      }
      opts.onEpochEnd?.(record as unknown as R);
    }
  } finally {
    optimizer.dispose();
  }
  // Also after a resume of a run that had already stopped or finished: it ends as the uninterrupted run did.
  if (restoreBest && bestWeights) loadStoredWeights(model.weights, bestWeights, "best epoch snapshot");
  return {
    history,
    bestEpoch,
    bestValidationMetric: validation ? best : undefined,
    stoppedEarly,
    epochsCompleted: epoch,
    resumedFrom,
    checkpoint: ckptFile,
  };
}

/** Trains a classifier `model` with `objective` (the loop of {@link trainTaskLoop} with {@link classificationTask}). */
export async function trainLoop(opts: TrainLoopOptions): Promise<TrainResult> {
  const { bestValidationMetric, ...rest } = await trainTaskLoop(classificationTask, opts, "trainLoop");
  return { ...rest, bestValidationAccuracy: bestValidationMetric };
}

export type { Tensor };
