/**
 * The segmentation comparison of the paper's Table 3 (last column) on any segmentation data:
 * train a U-Net teacher, then the segmentation ONN with no transfer, KD and NTKD (same
 * architecture, seed, epochs and optimizer for all three), and report mIoU and Dice on a test
 * set. A notebook or script calls {@link runSegmentationComparison}; the generated car set is
 * the default data.
 */
import type { LayersModel } from "@tensorflow/tfjs";
import type { SegmentationDataset } from "../data/types";
import { GENERATED_SPLIT_SEEDS, generateSegmentationSet } from "../data/generated-segmentation";
import { buildUNet, type UNetOptions } from "../models/segmentation/unet";
import { buildSegmentationOnn, type SegmentationOnnOptions } from "../models/segmentation/segmentation-onn";
import type { NtkMatchOptions } from "../distill/ntkd";
import {
  evaluateSegmentation, trainSegmentationStudent, trainSegmentationTeacher,
  type SegmentationEvaluation, type SegmentationTrainResult,
} from "../train/segmentation";
import type { SegmentationTaskLossOptions } from "../distill/segmentation-losses";

/** Options of {@link runSegmentationComparison}. */
export interface SegmentationComparisonOptions {
  /** Training set (default: the generated car set, `trainCount` images of `size`², seed 0). */
  train?: SegmentationDataset;
  /** Test set (default: the generated set with seed 1, `testCount` images). */
  test?: SegmentationDataset;
  /** Images of the default generated training set (default 512). */
  trainCount?: number;
  /** Images of the default generated test set (default 128). */
  testCount?: number;
  /** Side of the default generated images (default 32). */
  size?: number;
  /** Teacher options besides the input shape (default depth 3, 16 base filters). */
  teacher?: Omit<UNetOptions, "inputShape">;
  /** An already trained teacher to use instead of training one. */
  trainedTeacher?: LayersModel;
  /** Student options besides the input shape (default: the paper's 56 kernels in 8/16/32). */
  student?: Omit<SegmentationOnnOptions, "inputShape">;
  /** Teacher epochs (default 10). */
  teacherEpochs?: number;
  /** Student epochs, same for every method (default 10). */
  studentEpochs?: number;
  /** Methods to run (default none, kd, ntkd). */
  methods?: ("none" | "kd" | "ntkd")[];
  /** Minibatch size (default 8, the paper's). */
  batchSize?: number;
  /** Learning rate of teacher and students (default 1e-3). */
  learningRate?: number;
  /** Seed of initial weights, shuffles and probes (default 0). */
  seed?: number;
  /** Task loss (default BCE only). */
  loss?: SegmentationTaskLossOptions;
  /** KD settings (default T = 4, α = 0.5). */
  kd?: { temperature?: number; alpha?: number };
  /** NTKD settings (default: those of `trainSegmentationStudent`: sketch, 4 probes, trace normalisation, automatic β). */
  ntkd?: NtkMatchOptions & { alpha?: number; beta?: number | "auto"; betaScale?: number; autoBetaBatches?: number };
  /** Progress messages (e.g. console.log). */
  log?: (message: string) => void;
}

/** One trained model's result. */
export interface SegmentationComparisonEntry {
  evaluation: SegmentationEvaluation;
  training: SegmentationTrainResult | null;
  /** Wall-clock seconds of training. */
  seconds: number;
}

/** Result of {@link runSegmentationComparison}. */
export interface SegmentationComparisonResult {
  teacher: SegmentationComparisonEntry;
  students: Partial<Record<"none" | "kd" | "ntkd", SegmentationComparisonEntry>>;
  /** The trained teacher (the caller disposes it). */
  teacherModel: LayersModel;
}

/** Trains the teacher (unless given) and the students, and evaluates all on the test set. */
export async function runSegmentationComparison(opts: SegmentationComparisonOptions = {}): Promise<SegmentationComparisonResult> {
  const size = opts.size ?? 32;
  const seed = opts.seed ?? 0;
  const train = opts.train ?? generateSegmentationSet({ count: opts.trainCount ?? 512, height: size, width: size, seed: GENERATED_SPLIT_SEEDS.train });
  const test = opts.test ?? generateSegmentationSet({ count: opts.testCount ?? 128, height: size, width: size, seed: GENERATED_SPLIT_SEEDS.test }); // seed 1 would repeat seed 0's images
  if (train.height !== test.height || train.width !== test.width || train.channels !== test.channels) {
    throw new Error(`runSegmentationComparison: train images are ${train.height}x${train.width}x${train.channels}, test images ${test.height}x${test.width}x${test.channels}; expected the same shape`);
  }
  const inputShape: [number, number, number] = [train.height, train.width, train.channels];
  const batchSize = opts.batchSize ?? 8;
  const learningRate = opts.learningRate ?? 1e-3;
  const log = opts.log ?? (() => undefined);

  let teacherModel = opts.trainedTeacher;
  let teacherTraining: SegmentationTrainResult | null = null;
  let t0 = Date.now();
  if (!teacherModel) {
    teacherModel = buildUNet({ depth: 3, baseFilters: 16, seed, ...opts.teacher, inputShape });
    teacherTraining = await trainSegmentationTeacher({
      model: teacherModel, train, epochs: opts.teacherEpochs ?? 10, batchSize, learningRate, seed, loss: opts.loss,
      onEpochEnd: (r) => log(`teacher epoch ${r.epoch}: loss ${r.trainLoss.toFixed(4)}, train mIoU ${r.trainMeanIoU.toFixed(4)}`),
    });
  }
  const teacher: SegmentationComparisonEntry = { evaluation: evaluateSegmentation(teacherModel, test), training: teacherTraining, seconds: (Date.now() - t0) / 1000 };
  log(`teacher test mIoU ${teacher.evaluation.meanIoU.toFixed(4)}, Dice ${teacher.evaluation.dice.toFixed(4)}`);

  const students: SegmentationComparisonResult["students"] = {};
  for (const method of opts.methods ?? ["none", "kd", "ntkd"]) {
    const student = buildSegmentationOnn({ seed: seed + 1, ...opts.student, inputShape });
    t0 = Date.now();
    try {
      const training = await trainSegmentationStudent({
        student, method, teacher: teacherModel, train, epochs: opts.studentEpochs ?? 10, batchSize, learningRate, seed,
        loss: opts.loss, kd: opts.kd, ntkd: opts.ntkd,
        onEpochEnd: (r) => log(`${method} epoch ${r.epoch}: loss ${r.trainLoss.toFixed(4)}, train mIoU ${r.trainMeanIoU.toFixed(4)}${r.parts.beta !== undefined ? `, β ${r.parts.beta.toExponential(2)}` : ""}`),
      });
      const seconds = (Date.now() - t0) / 1000;
      students[method] = { evaluation: evaluateSegmentation(student, test), training, seconds };
      log(`${method} test mIoU ${students[method]!.evaluation.meanIoU.toFixed(4)}, Dice ${students[method]!.evaluation.dice.toFixed(4)} (${seconds.toFixed(0)} s)`);
    } finally {
      student.dispose();
    }
  }
  return { teacher, students, teacherModel };
}
