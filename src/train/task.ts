/**
 * The task adapter of the one training loop: everything the loop and the objectives need to
 * know about a task, and nothing else. The loop (`loop.ts`) owns the epochs, shuffles, the
 * optimizer, NaN and divergence checks, early stopping, resume and checkpoints; the objectives
 * (`objectives.ts`) own task / KD / NTKD; a task supplies its batches, its losses, a per-batch
 * statistic and its validation. Classification ({@link classificationTask}) and segmentation
 * (`segmentationTask` in `segmentation.ts`) are two adapters; a third task (regression,
 * detection) is a third adapter, with no copy of the loop.
 */
import type { LayersModel, Tensor } from "@tensorflow/tfjs";
import type { ImageDataset } from "../data/types";
import type { AnyDataset } from "../data/splits";
import { checkDataset, gatherBatch } from "../data/batches";
import { tf } from "../runtime/tf";
import { crossEntropy, kdLoss } from "../distill/losses";
import { evaluate } from "./metrics";

/** Validation of one model on one dataset, as the loop needs it. */
export interface TaskEvaluation {
  /** The task's metric (higher is better); selects the best epoch and drives early stopping. NaN when the outputs are not finite. */
  metric: number;
  /** Mean task loss. */
  loss: number;
  /** Further validation values, recorded as `validation<Name>` (e.g. `dice` becomes `validationDice`). */
  extras?: Record<string, number>;
}

/** KD settings every task's KD loss takes. */
export interface TaskKdOptions {
  /** Temperature T > 0. */
  temperature: number;
  /** Weight α in [0, 1] of the soft term; the task loss gets 1 − α. */
  alpha: number;
}

/**
 * A task as the training loop sees it. `D` is the dataset type, `S` the per-batch statistic
 * (e.g. correct count, pixel confusion) that {@link epochMetric} pools.
 */
export interface TrainingTask<D extends AnyDataset = AnyDataset, S = unknown> {
  /** Kind stored in checkpoints; a resume refuses a checkpoint of another kind. */
  readonly kind: string;
  /** Name of the metric in records: "accuracy" gives `trainAccuracy`, `validationAccuracy`. */
  readonly metricName: string;
  /** Minibatch size when the caller gives none. */
  readonly defaultBatchSize: number;
  /** Validation batch size for a given training batch size (memory only; results do not depend on it beyond rounding). */
  evaluationBatchSize(trainBatchSize: number): number;
  /** Throws a one-line error naming `what` when `ds` is not a dataset of this task. */
  checkDataset(ds: D, what: string): void;
  /** Images [n, H, W, C] and the target of the samples `indices` (the caller disposes both). */
  gather(ds: D, indices: Int32Array): { x: Tensor; y: Tensor };
  /** Task loss (a scalar) of model outputs against the batch target. */
  loss(outputs: Tensor, target: Tensor): Tensor;
  /** KD loss (a scalar): soft term against the teacher's outputs plus (1 − α) task loss. */
  kdLoss(studentOutputs: Tensor, teacherOutputs: Tensor, target: Tensor, opts: TaskKdOptions): Tensor;
  /** Statistic of one batch's training-mode outputs, pooled by {@link epochMetric}. */
  batchStatistic(outputs: Tensor, target: Tensor): S;
  /** The epoch's training metric from its batch statistics (`samples` images in all). */
  epochMetric(statistics: S[], samples: number): number;
  /** Inference-mode validation; returns NaN (never throws) when the outputs are not finite, so the loop reports a divergence. */
  evaluate(model: LayersModel, ds: D, batchSize: number): TaskEvaluation;
}

/** Image classification: logits [n, classes], int32 labels, cross-entropy, accuracy. */
export const classificationTask: TrainingTask<ImageDataset, number> = {
  kind: "classification",
  metricName: "accuracy",
  defaultBatchSize: 128,
  evaluationBatchSize: (trainBatchSize) => Math.max(trainBatchSize, 256),
  checkDataset,
  gather: (ds, indices) => gatherBatch(ds, indices),
  loss: (logits, labels) => crossEntropy(logits, labels),
  kdLoss: (student, teacher, labels, opts) => kdLoss(student, teacher, labels, opts),
  batchStatistic: (logits, labels) => tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, "int32")), "int32")).dataSync()[0]),
  epochMetric: (correct, samples) => correct.reduce((a, b) => a + b, 0) / samples,
  evaluate(model, ds, batchSize) {
    const ev = evaluate(model, ds, { batchSize });
    return { metric: Number.isFinite(ev.loss) ? ev.accuracy : NaN, loss: ev.loss };
  },
};
