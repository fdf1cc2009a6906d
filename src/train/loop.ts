/**
 * The seeded training loop shared by every method.
 *
 * Determinism and resume: the sample order of epoch e comes from (seed, e), NTK probes from
 * (seed, epoch, batch), and the optimizer is our own (see optimizers.ts), so a run resumed from
 * the checkpoint of epoch e continues bit-for-bit as an uninterrupted run on the same backend.
 * Checkpoints (`last.ckpt` in `checkpointDir`) are written atomically at the end of each epoch
 * and hold the weights, the optimizer state, the objective's state (e.g. a calibrated β), the
 * early-stopping state with the best weights, and the history.
 *
 * Before the first batch (of a fresh or a resumed run) the objective's `prepare` gets the
 * training set and seed, and every batch's context carries its sample indices into that set, so
 * an objective can precompute per-sample values once (e.g. NTKD's teacher sketch cache).
 *
 * A NaN or infinite loss or gradient stops the run before the update is applied, with a
 * {@link TrainingDivergedError} naming the epoch and batch; `last.ckpt` is left as it was.
 */
import * as path from "node:path";
import * as fs from "node:fs";
import type { LayersModel, LayerVariable, Tensor } from "@tensorflow/tfjs";
import type { ImageDataset } from "../data/types";
import { tf } from "../runtime/tf";
import { checkDataset, epochBatches, gatherBatch } from "./batching";
import { readCheckpoint, removeStaleTemporaries, writeCheckpoint, type StoredTensor } from "./checkpoint";
import { evaluate } from "./metrics";
import type { Objective } from "./objectives";
import { Optimizer, clipByGlobalNorm, learningRateAt, type OptimizerOptions, type Schedule } from "./optimizers";

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

/** Metrics of one finished epoch. */
export interface EpochRecord {
  epoch: number;
  learningRate: number;
  /** Mean training loss over the epoch's batches (weighted by batch size). */
  trainLoss: number;
  /** Training accuracy of the training-mode forward passes of the epoch. */
  trainAccuracy: number;
  /** Validation accuracy and loss, when a validation set is given. */
  validationAccuracy?: number;
  validationLoss?: number;
  /** Means of the objective's named parts (e.g. task, ntk, beta). */
  parts: Record<string, number>;
  /** Wall-clock seconds of the epoch (not part of any determinism guarantee). */
  seconds: number;
}

/** Options of {@link trainLoop}. */
export interface TrainLoopOptions {
  /** The network; its output must be logits [n, classes]. */
  model: LayersModel;
  /** Weights to train (default: all trainable weights of `model`). */
  trainable?: LayerVariable[];
  /** Per-batch objective (task, KD, NTKD, or your own). */
  objective: Objective;
  /** Training images. */
  train: ImageDataset;
  /** Validation images for early stopping and best-epoch selection (optional). */
  validation?: ImageDataset;
  /** Number of epochs (≥ 1). */
  epochs: number;
  /** Minibatch size (default 128, the paper's for MNIST and CIFAR-10). */
  batchSize?: number;
  /** Seed of the shuffles and probes (the model's initial weights come from its builder's seed). */
  seed?: number;
  /** Base learning rate (default 1e-3). */
  learningRate?: number;
  /** Optimizer (default Adam). */
  optimizer?: OptimizerOptions;
  /** Learning-rate schedule per epoch (default constant). */
  schedule?: Schedule;
  /** Clip the global gradient norm to this value (default: no clipping). */
  clipNorm?: number;
  /** Stop when validation accuracy has not improved by `minDelta` for `patience` epochs. */
  earlyStopping?: { patience: number; minDelta?: number };
  /** At the end, load the weights of the best validation epoch (default true with a validation set). */
  restoreBest?: boolean;
  /** Folder for `last.ckpt` (e.g. a run store's checkpoints folder); none = no checkpoints. */
  checkpointDir?: string;
  /** Continue from `checkpointDir/last.ckpt` when it exists (default false). */
  resume?: boolean;
  /** Called after every batch. */
  onBatchEnd?: (p: BatchProgress) => void;
  /** Called after every epoch (after the checkpoint is written). */
  onEpochEnd?: (r: EpochRecord) => void;
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

/** Thrown when a loss or gradient becomes NaN or infinite. */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
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

/** Trains `model` with `objective`; see the module comment for the guarantees. */
export async function trainLoop(opts: TrainLoopOptions): Promise<TrainResult> {
  const { model, objective, train, validation } = opts;
  checkDataset(train, "trainLoop train");
  if (validation) checkDataset(validation, "trainLoop validation");
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new Error(`trainLoop: epochs must be an integer >= 1, got ${opts.epochs}`);
  const batchSize = opts.batchSize ?? 128;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`trainLoop: batchSize must be an integer >= 1, got ${batchSize}`);
  const seed = opts.seed ?? 0;
  const baseLr = opts.learningRate ?? 1e-3;
  if (!(baseLr > 0)) throw new Error(`trainLoop: learningRate must be > 0, got ${baseLr}`);
  const schedule = opts.schedule ?? { kind: "constant" };
  const trainable = opts.trainable ?? model.trainableWeights;
  if (trainable.length === 0) throw new Error("trainLoop: nothing to train (no trainable weights)");
  const restoreBest = opts.restoreBest ?? validation !== undefined;
  const optimizer = new Optimizer(opts.optimizer ?? {}, trainable);
  const ckptFile = opts.checkpointDir ? path.join(opts.checkpointDir, "last.ckpt") : undefined;

  let history: EpochRecord[] = [];
  let startEpoch = 0;
  let bestAccuracy = -Infinity;
  let bestEpoch = -1;
  let sinceBest = 0;
  let bestWeights: StoredTensor[] | null = null;
  let resumedFrom: number | null = null;

  if (opts.checkpointDir) removeStaleTemporaries(opts.checkpointDir);
  if (opts.resume && ckptFile && fs.existsSync(ckptFile)) {
    const ck = readCheckpoint(ckptFile);
    // A resume only continues the same run: another objective or seed would silently mix two runs.
    if (ck.meta.objective !== objective.name || ck.meta.seed !== seed) {
      throw new Error(
        `trainLoop: ${ckptFile} belongs to a run with objective "${String(ck.meta.objective)}" and seed ${String(ck.meta.seed)}; ` +
          `this run has objective "${objective.name}" and seed ${seed}. Use another checkpointDir or resume: false.`,
      );
    }
    loadStoredWeights(model.weights, ck.tensors.weights, ckptFile);
    optimizer.setState({ step: Number(ck.meta.optimizerStep), slots: ck.tensors.optimizer });
    objective.setState((ck.meta.objectiveState ?? {}) as Record<string, unknown>);
    history = ck.meta.history as EpochRecord[];
    startEpoch = Number(ck.meta.epochsCompleted);
    bestAccuracy = Number(ck.meta.bestAccuracy ?? -Infinity);
    bestEpoch = Number(ck.meta.bestEpoch ?? -1);
    sinceBest = Number(ck.meta.sinceBest ?? 0);
    bestWeights = ck.tensors.best ?? null;
    resumedFrom = startEpoch - 1;
    if (ck.meta.stoppedEarly) {
      optimizer.dispose();
      return { history, bestEpoch, bestValidationAccuracy: validation ? bestAccuracy : undefined, stoppedEarly: true, epochsCompleted: startEpoch, resumedFrom, checkpoint: ckptFile };
    }
  }

  let stoppedEarly = false;
  let epoch = startEpoch;
  // After a resume too: the objective's per-dataset precomputation depends only on (train, seed).
  if (epoch < opts.epochs) objective.prepare?.({ train, seed });
  try {
    for (; epoch < opts.epochs && !stoppedEarly; epoch++) {
      const t0 = Date.now();
      const lr = learningRateAt(schedule, baseLr, epoch);
      const batches = epochBatches(train.count, batchSize, seed, epoch);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      const partSums: Record<string, number> = {};
      for (let b = 0; b < batches.length; b++) {
        const { x, y } = gatherBatch(train, batches[b]);
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
          const kept = ckptFile && fs.existsSync(ckptFile) ? ckptFile : null;
          throw new TrainingDivergedError(
            `trainLoop (${objective.name}): ${what} at epoch ${epoch}, batch ${b} (step ${optimizer.step + 1}); no update applied. ` +
              (kept ? `The last good checkpoint is kept at ${kept}.` : "No checkpoint had been written.") +
              " Lower the learning rate, add clipNorm, or check the inputs for NaN.",
            epoch,
            b,
            kept,
          );
        }
        optimizer.applyGradients(clipped, lr);
        tf.dispose(clipped);
        const n = batches[b].length;
        lossSum += result.loss * n;
        correct += result.correct;
        seen += n;
        for (const [k, v] of Object.entries(result.parts)) partSums[k] = (partSums[k] ?? 0) + v * n;
        opts.onBatchEnd?.({ epoch, batch: b, batches: batches.length, step: optimizer.step, loss: result.loss, gradNorm: norm, learningRate: lr, parts: result.parts });
      }
      const parts: Record<string, number> = {};
      for (const [k, v] of Object.entries(partSums)) parts[k] = v / seen;
      const record: EpochRecord = { epoch, learningRate: lr, trainLoss: lossSum / seen, trainAccuracy: correct / seen, parts, seconds: 0 };
      if (validation) {
        const ev = evaluate(model, validation, { batchSize: Math.max(batchSize, 256) });
        record.validationAccuracy = ev.accuracy;
        record.validationLoss = ev.loss;
        const minDelta = opts.earlyStopping?.minDelta ?? 0;
        if (ev.accuracy > bestAccuracy + minDelta || bestEpoch < 0) {
          bestAccuracy = ev.accuracy;
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
      history.push(record);
      if (ckptFile) {
        const tensors: Record<string, StoredTensor[]> = { weights: snapshot(model.weights), optimizer: optimizer.getState().slots };
        if (bestWeights) tensors.best = bestWeights;
        writeCheckpoint(ckptFile, {
          meta: {
            epochsCompleted: epoch + 1,
            optimizerStep: optimizer.step,
            objective: objective.name,
            objectiveState: objective.getState(),
            history,
            bestAccuracy: Number.isFinite(bestAccuracy) ? bestAccuracy : null,
            bestEpoch,
            sinceBest,
            stoppedEarly,
            seed,
          },
          tensors,
        });
      }
      opts.onEpochEnd?.(record);
    }
  } finally {
    optimizer.dispose();
  }
  if (restoreBest && bestWeights) loadStoredWeights(model.weights, bestWeights, "best epoch snapshot");
  return {
    history,
    bestEpoch,
    bestValidationAccuracy: validation ? bestAccuracy : undefined,
    stoppedEarly,
    epochsCompleted: epoch,
    resumedFrom,
    checkpoint: ckptFile,
  };
}

export type { Tensor };
