/**
 * Segmentation on the one training loop: the segmentation task adapter ({@link segmentationTask}:
 * masks as targets, BCE (+ Dice) and per-pixel KD, pixel confusion per batch, mIoU per epoch and
 * for validation), `evaluateSegmentation`, and thin entry points over `trainTaskLoop`:
 * {@link trainSegmentationLoop}, {@link trainSegmentationTeacher} and
 * {@link trainSegmentationStudent} (no transfer, KD or NTKD over output pixels, with the
 * teacher-sketch cache as for classification).
 *
 * Defaults follow the paper where it speaks (batch 8 for segmentation, digest §8) and the
 * classification loop otherwise (Adam, learning rate 1e-3).
 */
import type { LayersModel, LayerVariable, Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import type { SegmentationDataset } from "../data/types";
import { checkSegmentationDataset, gatherBatch } from "../data/batches";
import type { NtkMatchOptions } from "../distill/ntkd";
import { segmentationKdLoss, segmentationTaskLoss, type SegmentationTaskLossOptions } from "../distill/segmentation-losses";
import type { StudentPart } from "../models/optical-student";
import { trainTaskLoop, type BaseEpochRecord, type BatchProgress, type TaskLoopOptions } from "./loop";
import {
  kdObjective, ntkdObjective, taskObjective, type BatchContext, type BatchResult, type KdObjectiveOptions, type NtkdObjectiveOptions, type Objective,
} from "./objectives";
import { binaryConfusions, diceFromConfusion, meanIoUFromConfusion, poolConfusions, type BinaryConfusion } from "./segmentation-metrics";
import type { TaskEvaluation, TrainingTask } from "./task";

/** A segmentation network: a LayersModel (image -> mask logits) or an object holding one (e.g. SegmentationOnn). */
export type SegmentationNet = LayersModel | { model: LayersModel };

function modelOf(net: SegmentationNet, where: string): LayersModel {
  const m = (net as { model?: LayersModel }).model ?? net;
  if (!m || typeof (m as LayersModel).apply !== "function" || !Array.isArray((m as LayersModel).trainableWeights)) {
    throw new Error(`${where}: expected a tf.LayersModel or an object with a .model LayersModel (e.g. a SegmentationOnn)`);
  }
  return m as LayersModel;
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
  const ev = segmentationScores(model, ds, batchSize, "evaluateSegmentation");
  if (ev === null) throw new Error(`evaluateSegmentation: the model's outputs on ${ds.name} hold NaN or ±Infinity (diverged weights?)`);
  return ev;
}

/** The scores of {@link evaluateSegmentation}, or null as soon as a batch's outputs are not finite. */
function segmentationScores(model: LayersModel, ds: SegmentationDataset, batchSize: number, where: string): SegmentationEvaluation | null {
  const confusions: BinaryConfusion[] = [];
  let lossSum = 0;
  for (let start = 0; start < ds.count; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, ds.count - start) }, (_, i) => start + i);
    const { x, y } = gatherBatch(ds, idx);
    try {
      const [prob, loss, finite] = tf.tidy(() => {
        const logits = model.apply(x, { training: false }) as Tensor;
        if (!tf.util.arraysEqual(logits.shape, y.shape)) {
          throw new Error(`${where}: the model outputs ${JSON.stringify(logits.shape)}, the masks of ${ds.name} are ${JSON.stringify(y.shape)}`);
        }
        return [tf.sigmoid(logits), segmentationTaskLoss(logits, y), tf.all(tf.isFinite(logits))];
      });
      try {
        if (!finite.dataSync()[0]) return null;
        confusions.push(poolConfusions(binaryConfusions(prob, y)));
        lossSum += loss.dataSync()[0] * idx.length;
      } finally {
        tf.dispose([prob, loss, finite]);
      }
    } finally {
      tf.dispose([x, y]);
    }
  }
  const confusion = poolConfusions(confusions);
  return { meanIoU: meanIoUFromConfusion(confusion), dice: diceFromConfusion(confusion), loss: lossSum / ds.count, confusion, count: ds.count };
}

/** Scores of predicting "all background" everywhere (see {@link allBackgroundBaseline}). */
export interface AllBackgroundBaseline {
  /** mIoU of the all-zero prediction: (0 + background pixels / all pixels) / 2 when any pixel is object, 1 when none is. */
  meanIoU: number;
  /** Dice of the all-zero prediction: 0 when any pixel is object, 1 when none is. */
  dice: number;
  /** Fraction of the pixels that are object (mask > 0.5). */
  objectFraction: number;
}

/**
 * mIoU and Dice of the trivial model that predicts background on every pixel of `ds`, pooled
 * over the set as {@link evaluateSegmentation} pools: the floor a segmenter must clear (with
 * a fifth of the pixels object it already scores 40 % mIoU).
 */
export function allBackgroundBaseline(ds: SegmentationDataset): AllBackgroundBaseline {
  checkSegmentationDataset(ds, "allBackgroundBaseline dataset");
  let object = 0;
  for (let i = 0; i < ds.masks.length; i++) if (ds.masks[i] > 0.5) object++;
  const pixels = ds.masks.length;
  const confusion: BinaryConfusion = { truePositive: 0, falsePositive: 0, falseNegative: object, trueNegative: pixels - object };
  return { meanIoU: meanIoUFromConfusion(confusion), dice: diceFromConfusion(confusion), objectFraction: pixels === 0 ? 0 : object / pixels };
}

/** Progress after each batch. */
export type SegmentationBatchProgress = BatchProgress;

/** Metrics of one finished segmentation epoch. */
export interface SegmentationEpochRecord extends BaseEpochRecord {
  /** mIoU of the epoch's training-mode predictions, pooled. */
  trainMeanIoU: number;
  /** Validation mIoU and Dice, when a validation set is given. */
  validationMeanIoU?: number;
  validationDice?: number;
}

/** What the loop passes a segmentation objective for one batch (`y`: masks [n, H, W, 1], float32 0/1). */
export type SegmentationBatchContext = BatchContext;
/** What a segmentation objective returns for one batch (`statistic`: the pixel confusion, logit > 0 = object). */
export type SegmentationBatchResult = BatchResult<BinaryConfusion>;
/** A per-batch segmentation training objective. */
export type SegmentationObjective = Objective<BinaryConfusion, SegmentationDataset>;

/** Confusion of logits (> 0 = object) against 0/1 masks; NaN logits count as background (the loop catches NaN losses). */
export function confusionOfLogits(logits: Tensor, masks: Tensor): BinaryConfusion {
  const counts = tf.tidy(() => {
    const p = tf.cast(tf.greater(logits, 0), "float32");
    const g = tf.cast(tf.greater(masks, 0.5), "float32");
    return tf.stack([tf.sum(tf.mul(p, g)), tf.sum(p), tf.sum(g)]);
  });
  const [tp, predicted, actual] = Array.from(counts.dataSync());
  counts.dispose();
  return { truePositive: tp, falsePositive: predicted - tp, falseNegative: actual - tp, trueNegative: logits.size - predicted - actual + tp };
}

/** Binary segmentation: mask logits [n, H, W, 1], 0/1 masks, BCE (+ `loss.diceWeight` · soft Dice), mIoU. */
export function segmentationTask(loss: SegmentationTaskLossOptions = {}): TrainingTask<SegmentationDataset, BinaryConfusion> {
  const lossOpts: SegmentationTaskLossOptions = { diceWeight: loss.diceWeight };
  return {
    kind: "segmentation",
    metricName: "meanIoU",
    defaultBatchSize: 8,
    evaluationBatchSize: () => 32,
    checkDataset: checkSegmentationDataset,
    gather: (ds, indices) => gatherBatch(ds, indices),
    loss: (logits, masks) => segmentationTaskLoss(logits, masks, lossOpts),
    kdLoss: (student, teacher, masks, opts) => segmentationKdLoss(student, teacher, masks, { ...lossOpts, ...opts }),
    batchStatistic: confusionOfLogits,
    epochMetric: (confusions) => meanIoUFromConfusion(poolConfusions(confusions)),
    evaluate(model, ds, batchSize): TaskEvaluation {
      const ev = segmentationScores(model, ds, batchSize, "evaluateSegmentation");
      return ev === null ? { metric: NaN, loss: NaN } : { metric: ev.meanIoU, loss: ev.loss, extras: { dice: ev.dice } };
    },
  };
}

/** Options of {@link trainSegmentationLoop}. */
export interface SegmentationLoopOptions extends TaskLoopOptions<SegmentationDataset, BinaryConfusion, SegmentationEpochRecord> {
  /** The network, image -> mask logits [n, H, W, 1]. */
  model: LayersModel;
  /** Per-batch objective (e.g. {@link segmentationTaskObjective}). */
  objective: SegmentationObjective;
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

/** Trains a segmentation network with `objective` on the one loop; same guarantees as the classification `trainLoop`. */
export async function trainSegmentationLoop(opts: SegmentationLoopOptions): Promise<SegmentationTrainResult> {
  const { bestValidationMetric, ...rest } = await trainTaskLoop(segmentationTask(), opts, "trainSegmentationLoop");
  return { ...rest, bestValidationMeanIoU: bestValidationMetric };
}

/** Task loss only ("no transfer", and teacher training). */
export function segmentationTaskObjective(loss: SegmentationTaskLossOptions = {}): SegmentationObjective {
  return taskObjective(segmentationTask(loss));
}

/** Options of {@link segmentationKdObjective}. */
export interface SegmentationKdObjectiveOptions extends SegmentationTaskLossOptions, Omit<KdObjectiveOptions<SegmentationDataset, BinaryConfusion>, "task"> {}

/** Per-pixel KD: α·T²·KL(teacher_T ‖ student_T) + (1 − α)·task. */
export function segmentationKdObjective(opts: SegmentationKdObjectiveOptions): SegmentationObjective {
  return kdObjective({ ...opts, task: segmentationTask({ diceWeight: opts.diceWeight }) });
}

/** Options of {@link segmentationNtkdObjective}. */
export interface SegmentationNtkdObjectiveOptions extends SegmentationTaskLossOptions, Omit<NtkdObjectiveOptions<SegmentationDataset, BinaryConfusion>, "task"> {}

/** NTKD over output pixels: α·task + β·MSE(norm Θ_teacher, norm Θ_student) per minibatch (the classification NTKD objective on the segmentation task). */
export function segmentationNtkdObjective(opts: SegmentationNtkdObjectiveOptions): SegmentationObjective {
  return ntkdObjective({ ...opts, task: segmentationTask({ diceWeight: opts.diceWeight }) });
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
  /**
   * NTKD settings (see `ntkdObjective` and `NtkMatchOptions` for defaults, the same as for
   * classification: automatic β balancing gradient norms with `DEFAULT_BETA_SCALE`). The
   * teacher's sketch is precomputed once for `train` by default (`teacherCache: "dataset"`).
   */
  ntkd?: NtkMatchOptions & { alpha?: number; beta?: number | "auto"; betaScale?: number; autoBetaBatches?: number; betaBalance?: "gradient" | "loss" };
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
