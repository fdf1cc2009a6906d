/**
 * Segmentation training: a seeded loop mirroring the classification `trainLoop` (same optimizer,
 * schedules, clipping, counter-based shuffles and probes, atomic `last.ckpt` checkpoints with
 * resume, NaN stop), with masks as targets and validation by mIoU; `evaluateSegmentation`; and
 * one function per role for notebooks: {@link trainSegmentationTeacher} and
 * {@link trainSegmentationStudent} (no transfer, KD or NTKD over output pixels).
 *
 * Defaults follow the paper where it speaks (batch 8 for segmentation, digest §8) and the
 * classification loop otherwise (Adam, learning rate 1e-3).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { LayersModel, LayerVariable, Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import type { SegmentationDataset } from "../data/types";
import { toTensors } from "../data/batches";
import type { NtkMatchOptions } from "../distill/ntkd";
import type { StudentPart } from "../models/optical-student";
import { epochBatches } from "./batching";
import { readCheckpoint, removeStaleTemporaries, writeCheckpoint, type StoredTensor } from "./checkpoint";
import { TrainingDivergedError, loadStoredWeights } from "./loop";
import { Optimizer, clipByGlobalNorm, learningRateAt, type OptimizerOptions, type Schedule } from "./optimizers";
import { binaryConfusions, diceFromConfusion, meanIoUFromConfusion, poolConfusions, type BinaryConfusion } from "./segmentation-metrics";
import { segmentationTaskLoss, type SegmentationTaskLossOptions } from "./segmentation-losses";
import {
  segmentationKdObjective, segmentationNtkdObjective, segmentationTaskObjective, type SegmentationObjective,
} from "./segmentation-objectives";

export * from "./segmentation-losses";
export * from "./segmentation-objectives";

/** A segmentation network: a LayersModel (image -> mask logits) or an object holding one (e.g. SegmentationOnn). */
export type SegmentationNet = LayersModel | { model: LayersModel };

function modelOf(net: SegmentationNet, where: string): LayersModel {
  const m = (net as { model?: LayersModel }).model ?? net;
  if (!m || typeof (m as LayersModel).apply !== "function" || !Array.isArray((m as LayersModel).trainableWeights)) {
    throw new Error(`${where}: expected a tf.LayersModel or an object with a .model LayersModel (e.g. a SegmentationOnn)`);
  }
  return m as LayersModel;
}

/** Checks a segmentation dataset's bookkeeping; `what` names it in errors. */
export function checkSegmentationDataset(ds: SegmentationDataset, what: string): void {
  if (!ds || !(ds.images instanceof Float32Array) || !(ds.masks instanceof Uint8Array)) {
    throw new Error(`${what}: expected a SegmentationDataset with Float32Array images and Uint8Array masks`);
  }
  const pixels = ds.height * ds.width;
  if (!(ds.count > 0) || ds.images.length !== ds.count * pixels * ds.channels || ds.masks.length !== ds.count * pixels) {
    throw new Error(`${what}: ${ds.count} images of ${ds.height}x${ds.width}x${ds.channels} need ${ds.count * pixels * ds.channels} pixel values and ${ds.count * pixels} mask values, got ${ds.images.length} and ${ds.masks.length}`);
  }
}

/** Result of {@link evaluateSegmentation}. */
export interface SegmentationEvaluation {
  /** Mean IoU of object and background, pixels pooled over the set, in [0, 1]. */
  meanIoU: number;
  /** Dice (F1) of the object class, pooled, in [0, 1]. */
  dice: number;
  /** Mean per-pixel BCE. */
  loss: number;
  /** Pooled pixel confusion. */
  confusion: BinaryConfusion;
  /** Images evaluated. */
  count: number;
}

/** mIoU, Dice and BCE of a network on a dataset (inference mode; sigmoid > 0.5 = object). Throws on NaN outputs. */
export function evaluateSegmentation(net: SegmentationNet, ds: SegmentationDataset, opts: { batchSize?: number } = {}): SegmentationEvaluation {
  checkSegmentationDataset(ds, "evaluateSegmentation dataset");
  const model = modelOf(net, "evaluateSegmentation");
  const batchSize = opts.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`evaluateSegmentation: batchSize must be a positive integer, got ${batchSize}`);
  const confusions: BinaryConfusion[] = [];
  let lossSum = 0;
  for (let start = 0; start < ds.count; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, ds.count - start) }, (_, i) => start + i);
    const { x, y } = toTensors(ds, idx);
    try {
      const [prob, loss] = tf.tidy(() => {
        const logits = model.apply(x, { training: false }) as Tensor;
        if (!tf.util.arraysEqual(logits.shape, y.shape)) {
          throw new Error(`evaluateSegmentation: the model outputs ${JSON.stringify(logits.shape)}, the masks of ${ds.name} are ${JSON.stringify(y.shape)}`);
        }
        return [tf.sigmoid(logits), segmentationTaskLoss(logits, y)];
      });
      try {
        confusions.push(poolConfusions(binaryConfusions(prob, y)));
        lossSum += loss.dataSync()[0] * idx.length;
      } finally {
        tf.dispose([prob, loss]);
      }
    } finally {
      tf.dispose([x, y]);
    }
  }
  const confusion = poolConfusions(confusions);
  return { meanIoU: meanIoUFromConfusion(confusion), dice: diceFromConfusion(confusion), loss: lossSum / ds.count, confusion, count: ds.count };
}

/** Progress after each batch. */
export interface SegmentationBatchProgress {
  epoch: number;
  batch: number;
  /** Batches in this epoch. */
  batches: number;
  /** Optimizer steps so far (after this batch). */
  step: number;
  loss: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  learningRate: number;
  parts: Record<string, number>;
}

/** Metrics of one finished epoch. */
export interface SegmentationEpochRecord {
  epoch: number;
  learningRate: number;
  /** Mean training loss over the epoch (weighted by batch size). */
  trainLoss: number;
  /** mIoU of the epoch's training-mode predictions, pooled. */
  trainMeanIoU: number;
  /** Validation mIoU, Dice and BCE, when a validation set is given. */
  validationMeanIoU?: number;
  validationDice?: number;
  validationLoss?: number;
  /** Means of the objective's named parts. */
  parts: Record<string, number>;
  /** Wall-clock seconds (not part of any determinism guarantee). */
  seconds: number;
}

/** Options of {@link trainSegmentationLoop}. */
export interface SegmentationLoopOptions {
  /** The network, image -> mask logits [n, H, W, 1]. */
  model: LayersModel;
  /** Weights to train (default: all trainable weights of `model`). */
  trainable?: LayerVariable[];
  /** Per-batch objective. */
  objective: SegmentationObjective;
  /** Training images and masks. */
  train: SegmentationDataset;
  /** Validation set for best-epoch selection and early stopping (optional). */
  validation?: SegmentationDataset;
  /** Number of epochs (≥ 1). */
  epochs: number;
  /** Minibatch size (default 8, the paper's for segmentation). */
  batchSize?: number;
  /** Seed of shuffles and NTK probes (initial weights come from the model builder's seed). Default 0. */
  seed?: number;
  /** Base learning rate (default 1e-3). */
  learningRate?: number;
  /** Optimizer (default Adam). */
  optimizer?: OptimizerOptions;
  /** Learning-rate schedule per epoch (default constant). */
  schedule?: Schedule;
  /** Clip the global gradient norm to this value (default none). */
  clipNorm?: number;
  /** Stop when validation mIoU has not improved by `minDelta` for `patience` epochs. */
  earlyStopping?: { patience: number; minDelta?: number };
  /** At the end, load the best validation epoch's weights (default true with a validation set). */
  restoreBest?: boolean;
  /** Folder of `last.ckpt`; none = no checkpoints. */
  checkpointDir?: string;
  /** Continue from `checkpointDir/last.ckpt` when it exists (default false). */
  resume?: boolean;
  /** Evaluation batch size (default 32). */
  evalBatchSize?: number;
  /** Called after every batch. */
  onBatchEnd?: (p: SegmentationBatchProgress) => void;
  /** Called after every epoch (after the checkpoint is written). */
  onEpochEnd?: (r: SegmentationEpochRecord) => void;
}

/** Result of {@link trainSegmentationLoop}. */
export interface SegmentationTrainResult {
  history: SegmentationEpochRecord[];
  /** Epoch with the best validation mIoU (the last epoch without validation). */
  bestEpoch: number;
  /** Best validation mIoU, if validated. */
  bestValidationMeanIoU?: number;
  stoppedEarly: boolean;
  /** Epochs completed (including those before a resume). */
  epochsCompleted: number;
  /** Epoch the run resumed after, or null. */
  resumedFrom: number | null;
  /** Path of the last checkpoint, if written. */
  checkpoint?: string;
}

const snapshot = (ws: LayerVariable[]): StoredTensor[] => ws.map((w) => ({ shape: (w.shape as number[]).slice(), data: Float32Array.from(w.read().dataSync() as Float32Array) }));

/** Trains a segmentation network with `objective`; same guarantees as the classification `trainLoop`. */
export async function trainSegmentationLoop(opts: SegmentationLoopOptions): Promise<SegmentationTrainResult> {
  const { model, objective, train, validation } = opts;
  checkSegmentationDataset(train, "trainSegmentationLoop train");
  if (validation) checkSegmentationDataset(validation, "trainSegmentationLoop validation");
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new Error(`trainSegmentationLoop: epochs must be an integer >= 1, got ${opts.epochs}`);
  const batchSize = opts.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`trainSegmentationLoop: batchSize must be an integer >= 1, got ${batchSize}`);
  const seed = opts.seed ?? 0;
  const baseLr = opts.learningRate ?? 1e-3;
  if (!(baseLr > 0) || !Number.isFinite(baseLr)) throw new Error(`trainSegmentationLoop: learningRate must be a positive number, got ${baseLr}`);
  const schedule = opts.schedule ?? { kind: "constant" };
  const trainable = opts.trainable ?? model.trainableWeights;
  if (trainable.length === 0) throw new Error("trainSegmentationLoop: nothing to train (no trainable weights)");
  const restoreBest = opts.restoreBest ?? validation !== undefined;
  const evalBatchSize = opts.evalBatchSize ?? 32;
  const optimizer = new Optimizer(opts.optimizer ?? {}, trainable);
  const ckptFile = opts.checkpointDir ? path.join(opts.checkpointDir, "last.ckpt") : undefined;

  let history: SegmentationEpochRecord[] = [];
  let startEpoch = 0;
  let best = -Infinity;
  let bestEpoch = -1;
  let sinceBest = 0;
  let bestWeights: StoredTensor[] | null = null;
  let resumedFrom: number | null = null;
  if (opts.checkpointDir) removeStaleTemporaries(opts.checkpointDir);
  if (opts.resume && ckptFile && fs.existsSync(ckptFile)) {
    const ck = readCheckpoint(ckptFile);
    if (ck.meta.kind !== "segmentation") throw new Error(`trainSegmentationLoop: ${ckptFile} is not a segmentation checkpoint (kind ${String(ck.meta.kind)})`);
    loadStoredWeights(model.weights, ck.tensors.weights, ckptFile);
    optimizer.setState({ step: Number(ck.meta.optimizerStep), slots: ck.tensors.optimizer });
    objective.setState((ck.meta.objectiveState ?? {}) as Record<string, unknown>);
    history = ck.meta.history as SegmentationEpochRecord[];
    startEpoch = Number(ck.meta.epochsCompleted);
    best = Number(ck.meta.bestMeanIoU ?? -Infinity);
    bestEpoch = Number(ck.meta.bestEpoch ?? -1);
    sinceBest = Number(ck.meta.sinceBest ?? 0);
    bestWeights = ck.tensors.best ?? null;
    resumedFrom = startEpoch - 1;
    if (ck.meta.stoppedEarly) {
      optimizer.dispose();
      if (restoreBest && bestWeights) loadStoredWeights(model.weights, bestWeights, `${ckptFile} (best)`);
      return { history, bestEpoch, bestValidationMeanIoU: validation ? best : undefined, stoppedEarly: true, epochsCompleted: startEpoch, resumedFrom, checkpoint: ckptFile };
    }
  }

  let stoppedEarly = false;
  let epoch = startEpoch;
  try {
    for (; epoch < opts.epochs && !stoppedEarly; epoch++) {
      const t0 = Date.now();
      const lr = learningRateAt(schedule, baseLr, epoch);
      const batches = epochBatches(train.count, batchSize, seed, epoch);
      let lossSum = 0;
      let seen = 0;
      const confusions: BinaryConfusion[] = [];
      const partSums: Record<string, number> = {};
      for (let b = 0; b < batches.length; b++) {
        const { x, y } = toTensors(train, batches[b]);
        let result;
        try {
          result = objective.compute(model, trainable, { x, masks: y, epoch, batch: b, step: optimizer.step, seed });
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
            `trainSegmentationLoop (${objective.name}): ${what} at epoch ${epoch}, batch ${b} (step ${optimizer.step + 1}); no update applied. ` +
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
        seen += n;
        confusions.push(result.confusion);
        for (const [k, v] of Object.entries(result.parts)) partSums[k] = (partSums[k] ?? 0) + v * n;
        opts.onBatchEnd?.({ epoch, batch: b, batches: batches.length, step: optimizer.step, loss: result.loss, gradNorm: norm, learningRate: lr, parts: result.parts });
      }
      const parts: Record<string, number> = {};
      for (const [k, v] of Object.entries(partSums)) parts[k] = v / seen;
      const record: SegmentationEpochRecord = { epoch, learningRate: lr, trainLoss: lossSum / seen, trainMeanIoU: meanIoUFromConfusion(poolConfusions(confusions)), parts, seconds: 0 };
      if (validation) {
        const ev = evaluateSegmentation(model, validation, { batchSize: evalBatchSize });
        record.validationMeanIoU = ev.meanIoU;
        record.validationDice = ev.dice;
        record.validationLoss = ev.loss;
        const minDelta = opts.earlyStopping?.minDelta ?? 0;
        if (ev.meanIoU > best + minDelta || bestEpoch < 0) {
          best = ev.meanIoU;
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
            kind: "segmentation",
            epochsCompleted: epoch + 1,
            optimizerStep: optimizer.step,
            objective: objective.name,
            objectiveState: objective.getState(),
            history,
            bestMeanIoU: Number.isFinite(best) ? best : null,
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
  return { history, bestEpoch, bestValidationMeanIoU: validation ? best : undefined, stoppedEarly, epochsCompleted: epoch, resumedFrom, checkpoint: ckptFile };
}

/** Loop settings shared by every method (everything but the model, objective and trainable list). */
export type CommonSegmentationTrainOptions = Omit<SegmentationLoopOptions, "model" | "objective" | "trainable">;

/** Options of {@link trainSegmentationTeacher}. */
export interface TrainSegmentationTeacherOptions extends CommonSegmentationTrainOptions {
  /** The teacher network (e.g. `buildUNet`), mask logits out. */
  model: LayersModel;
  /** Task loss settings (default BCE only). */
  loss?: SegmentationTaskLossOptions;
}

/** Trains a segmentation teacher with BCE (+ optional Dice). */
export function trainSegmentationTeacher(opts: TrainSegmentationTeacherOptions): Promise<SegmentationTrainResult> {
  const { loss, ...rest } = opts;
  return trainSegmentationLoop({ ...rest, objective: segmentationTaskObjective(loss) });
}

/** A student whose frontend and backend weights are separately addressable (e.g. SegmentationOnn). */
export interface PartitionedSegmentationStudent {
  model: LayersModel;
  trainableWeights(part: StudentPart): LayerVariable[];
}

/** Options of {@link trainSegmentationStudent}. */
export interface TrainSegmentationStudentOptions extends CommonSegmentationTrainOptions {
  /** The student: a SegmentationOnn (or anything with `model` and `trainableWeights(part)`), or a plain LayersModel. */
  student: PartitionedSegmentationStudent | LayersModel;
  /** "none" (task loss only), "kd" or "ntkd". */
  method: "none" | "kd" | "ntkd";
  /** The trained teacher (mask logits out); required for "kd" and "ntkd". */
  teacher?: LayersModel;
  /** Which part to train (default "all"); "backend" freezes the optics, and the NTK is then over the backend only. */
  part?: StudentPart;
  /** Task loss settings (default BCE only); used by every method. */
  loss?: SegmentationTaskLossOptions;
  /** KD settings: temperature (default 4) and α (default 0.5). */
  kd?: { temperature?: number; alpha?: number };
  /** NTKD settings (see `segmentationNtkdObjective` and `NtkMatchOptions` for defaults; β is automatic with betaScale 0.1). */
  ntkd?: NtkMatchOptions & { alpha?: number; beta?: number | "auto"; betaScale?: number; autoBetaBatches?: number };
}

/** Trains a segmentation student with no transfer, per-pixel KD, or NTKD over output pixels. */
export async function trainSegmentationStudent(opts: TrainSegmentationStudentOptions): Promise<SegmentationTrainResult> {
  const { student, method, teacher, part, loss, kd, ntkd, ...common } = opts;
  const partitioned = typeof (student as PartitionedSegmentationStudent).trainableWeights === "function";
  const model = partitioned ? (student as PartitionedSegmentationStudent).model : (student as LayersModel);
  let trainable: LayerVariable[];
  if (partitioned) {
    trainable = (student as PartitionedSegmentationStudent).trainableWeights(part ?? "all");
  } else {
    if (part !== undefined && part !== "all") throw new Error(`trainSegmentationStudent: part "${part}" needs a student with separate frontend and backend (e.g. SegmentationOnn); a plain LayersModel trains as a whole`);
    trainable = model.trainableWeights;
  }
  if ((method === "kd" || method === "ntkd") && !teacher) throw new Error(`trainSegmentationStudent: method "${method}" needs a trained teacher`);
  let objective: SegmentationObjective;
  switch (method) {
    case "none":
      objective = segmentationTaskObjective(loss);
      break;
    case "kd":
      objective = segmentationKdObjective({ teacher: teacher as LayersModel, ...loss, ...kd });
      break;
    case "ntkd":
      objective = segmentationNtkdObjective({ teacher: teacher as LayersModel, ...loss, ...ntkd });
      break;
    default:
      throw new Error(`trainSegmentationStudent: method must be "none", "kd" or "ntkd", got ${String(method)}`);
  }
  return trainSegmentationLoop({ ...common, model, trainable, objective });
}
