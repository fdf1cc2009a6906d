/**
 * The segmentation stage as a study for notebook 05: a U-Net teacher and the segmentation ONN
 * trained with no transfer, KD and NTKD over seeds, on the generated car set (default) or
 * Carvana. Every trained model is saved in a run store with the configuration it was trained
 * with, so a rerun with the same settings loads instead of retraining.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { LayersModel } from "@tensorflow/tfjs";
import type { RunStore } from "../notebook/run-store";
import type { NotebookMode } from "../notebook/params";
import type { SegmentationDataset } from "../data/types";
import { generateSegmentationSplits } from "../data/generated-segmentation";
import { carvanaAvailable, carvanaImagesDir, loadCarvana, splitCarvanaByCar } from "../data/carvana";
import { subset } from "../data/splits";
import { readCheckpoint } from "../train/checkpoint";
import { buildUNet } from "../models/segmentation/unet";
import { buildSegmentationOnn, type SegmentationOnn, type SegmentationOnnOptions } from "../models/segmentation/segmentation-onn";
import {
  allBackgroundBaseline, evaluateSegmentation, trainSegmentationStudent, trainSegmentationTeacher,
  type AllBackgroundBaseline, type SegmentationEpochRecord, type SegmentationEvaluation,
} from "../train/segmentation";
import type { NtkMatchOptions } from "../distill/ntkd";
import { configHash, loadedModelProvenance, loadWeights, reportedWeightsOf, saveTrainedModel, TrainingLog, trainingLogPath, type ModelProvenance } from "./model-files";
import { summarizeRuns, type SeedSummary } from "./stats";

/** Which segmentation data a study uses. */
export type SegmentationDatasetName = "generated-cars" | "carvana";

/** Segmentation student methods (paper Table 3, last column). */
export type SegmentationStudentMethod = "none" | "kd" | "ntkd";

/** Everything a segmentation study's results depend on. */
export interface SegmentationPreset {
  /** Image side in pixels (square images; divisible by 4 for the ONN and 2^teacherDepth for the U-Net). */
  size: number;
  /** Training images. */
  trainCount: number;
  /** Test images. */
  testCount: number;
  /**
   * Validation images (for tuning; no study result uses them). Carvana splits are by car, so
   * each part holds whole cars and can exceed its count by less than one car's views.
   */
  validationCount: number;
  /** U-Net down-sampling steps. */
  teacherDepth: number;
  /** U-Net channels of the first level. */
  teacherBaseFilters: number;
  teacherEpochs: number;
  studentEpochs: number;
  /** Minibatch size (the paper's is 8). */
  batchSize: number;
  teacherLearningRate: number;
  studentLearningRate: number;
  /** Student seeds (one student per method and seed). */
  seeds: number[];
  /** Kernels of each optical group (the paper's 8, 16, 32). */
  groups: number[];
  /** Channels of the ONN decoder's up-convolutions, coarse to fine (one fewer than groups). */
  decoderWidths: number[];
  /** 3×3 conv blocks of the ONN decoder on the coarsest sensor map (see `SegmentationOnnOptions.bottleneckConvs`). */
  bottleneckConvs: number;
  /** 3×3 conv blocks of the ONN decoder per up-sampling level (see `SegmentationOnnOptions.decoderConvs`). */
  decoderConvs: number;
  /**
   * Weight of the soft Dice term added to the per-pixel BCE, for the teacher and every student
   * (0: BCE only). 1 by default: with BCE alone the students under-predicted the car (5 % of
   * the pixels predicted car where 13 % are) and scored 5 mIoU points less.
   */
  diceWeight: number;
  /**
   * KD temperature and weight of the distillation term. T 2, α 0.25, tuned on the validation
   * split of generated cars (quick sizes, seeds 0 and 1, mIoU %): T 4 / α 0.5 gave 69.0 against
   * 71.9 without transfer, T 2 / α 0.25 gives 72.1.
   */
  kd: { temperature: number; alpha: number };
  /**
   * NTKD settings (sketch probes, β scale and balance). betaScale 0.03 with betaBalance "loss"
   * (β = 0.03 · L_task / L_NTKD), stated here because the library default balances gradient
   * norms: with 1 the NTK term swamped the task on the generated car set, and on the validation
   * split (quick sizes, seeds 0 and 1) 0.1 gave 70.4 mIoU against 71.9 without transfer, 0.03
   * gives 72.9.
   */
  ntkd: NtkMatchOptions & { alpha?: number; betaScale?: number; betaBalance?: "gradient" | "loss" };
}

/**
 * Working resolution: the paper does not state the resolution it feeds its optics (only that
 * Carvana's photos are 1920x1280). Ours is `size`² in every mode (32 quick and full), because
 * the ONN and U-Net take square inputs divisible by 4 and 2^depth, and 64² would cost hours on
 * two cores; Carvana's 3:2 photos are letterboxed into that square (32x21 of photo, black bands
 * above and below), never squashed.
 *
 * The preset of a mode. Quick fits a CI run of about a minute on two cores, so its ONN has half
 * the paper's kernels per group (4/8/16). Full uses the paper's 8/16/32 kernels and three seeds
 * at 32×32 on 384 images: measured on wasm (2 shared cores), an NTKD epoch of that ONN on 384
 * images at 32×32 takes about a minute with 4 probes, so 64×64 and thousands of images would
 * take hours; pass overrides (`size: 64`, `trainCount: 2000`) on a faster machine.
 */
export function segmentationPreset(mode: NotebookMode, overrides: Partial<SegmentationPreset> = {}): SegmentationPreset {
  const base: Omit<SegmentationPreset, "validationCount"> =
    mode !== "full"
      ? {
          size: 32, trainCount: 256, testCount: 48, teacherDepth: 2, teacherBaseFilters: 8, teacherEpochs: 5, studentEpochs: 4,
          batchSize: 8, teacherLearningRate: 3e-3, studentLearningRate: 3e-3, seeds: [0], groups: [4, 8, 16], decoderWidths: [32, 16],
          bottleneckConvs: 2, decoderConvs: 1, diceWeight: 1,
          kd: { temperature: 2, alpha: 0.25 }, ntkd: { probes: 2, betaScale: 0.03, betaBalance: "loss", probeDistribution: "rademacher" },
        }
      : {
          size: 32, trainCount: 384, testCount: 128, teacherDepth: 3, teacherBaseFilters: 16, teacherEpochs: 16, studentEpochs: 5,
          batchSize: 8, teacherLearningRate: 2e-3, studentLearningRate: 3e-3, seeds: [0, 1, 2], groups: [8, 16, 32], decoderWidths: [64, 32],
          bottleneckConvs: 2, decoderConvs: 1, diceWeight: 1,
          kd: { temperature: 2, alpha: 0.25 }, ntkd: { probes: 2, betaScale: 0.03, betaBalance: "loss", probeDistribution: "rademacher" },
        };
  // Smoke (the test suite) halves quick's images and epochs: every cell still runs, on a budget.
  if (mode === "smoke") Object.assign(base, { trainCount: 128, teacherEpochs: 3, studentEpochs: 3 });
  const validationCount = mode === "full" ? 64 : 32;
  const p = { validationCount, ...base, ...overrides };
  for (const k of ["size", "trainCount", "testCount", "teacherDepth", "teacherBaseFilters", "teacherEpochs", "studentEpochs", "batchSize"] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 1) throw new Error(`segmentationPreset: ${k} must be a positive integer, got ${String(p[k])}`);
  }
  for (const k of ["bottleneckConvs", "decoderConvs"] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 0) throw new Error(`segmentationPreset: ${k} must be a non-negative integer, got ${String(p[k])}`);
  }
  if (!(p.diceWeight >= 0) || !Number.isFinite(p.diceWeight)) throw new Error(`segmentationPreset: diceWeight must be a finite number >= 0, got ${String(p.diceWeight)}`);
  if (!Number.isInteger(p.validationCount) || p.validationCount < 0) {
    throw new Error(`segmentationPreset: validationCount must be a non-negative integer, got ${String(p.validationCount)}`);
  }
  if (!Array.isArray(p.seeds) || p.seeds.length === 0 || p.seeds.some((s) => !Number.isInteger(s))) {
    throw new Error(`segmentationPreset: seeds must be a non-empty list of integers, got ${JSON.stringify(p.seeds)}`);
  }
  const multiple = Math.max(2 ** p.teacherDepth, 2 ** (p.groups.length - 1));
  if (p.size % multiple !== 0) throw new Error(`segmentationPreset: size ${p.size} must be divisible by ${multiple} (U-Net depth ${p.teacherDepth}, ${p.groups.length} optical groups)`);
  return p;
}

/** Training, validation and test images of a segmentation study. */
export interface SegmentationSplits {
  dataset: SegmentationDatasetName;
  train: SegmentationDataset;
  /** For tuning; may be empty (`count` 0) when the preset's validationCount is 0. */
  validation: SegmentationDataset;
  test: SegmentationDataset;
}

/** Seed of the Carvana split by car, fixed so that every student seed sees the same split. */
export const CARVANA_SPLIT_SEED = 0;

/**
 * The study's data. Generated cars: train, validation and test from the disjoint generator
 * seeds `GENERATED_SPLIT_SEEDS` of data/generated-segmentation (no image in two parts). Carvana (folder `NTKD_CARVANA_DIR` or data/cache/carvana),
 * letterboxed to `size`²: split by car with seed {@link CARVANA_SPLIT_SEED}, so no car's views
 * straddle two parts; a folder with fewer images than trainCount + validationCount + testCount is
 * split in the same proportions (all its images used), and one too small for that fails naming
 * the folder and the counts needed.
 */
export async function loadSegmentationSplits(dataset: SegmentationDatasetName, preset: SegmentationPreset): Promise<SegmentationSplits> {
  const { size, trainCount, validationCount, testCount } = preset;
  if (dataset === "generated-cars") {
    return { dataset, ...generateSegmentationSplits({ trainCount, validationCount, testCount, height: size, width: size }) };
  }
  if (dataset === "carvana") {
    if (!carvanaAvailable()) {
      throw new Error(`loadSegmentationSplits: Carvana is not present at ${carvanaImagesDir()} (set NTKD_CARVANA_DIR or place it in data/cache/carvana)`);
    }
    const ids = splitCarvanaByCar({}, { train: trainCount, validation: validationCount, test: testCount }, CARVANA_SPLIT_SEED);
    const all = await loadCarvana({ height: size, width: size, ids: [...ids.train, ...ids.validation, ...ids.test] });
    const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
    const nTrain = ids.train.length;
    const nValidation = ids.validation.length;
    return {
      dataset,
      train: subset(all, range(0, nTrain)),
      validation: subset(all, range(nTrain, nValidation)),
      test: subset(all, range(nTrain + nValidation, ids.test.length)),
    };
  }
  throw new Error(`loadSegmentationSplits: dataset must be "generated-cars" or "carvana", got ${JSON.stringify(dataset)}`);
}

/** Carvana when it is present, else the generated car set. */
export function defaultSegmentationDataset(): SegmentationDatasetName {
  return carvanaAvailable() ? "carvana" : "generated-cars";
}

/** A U-Net built to the preset (seed 1000, as the classification teachers). */
export function buildSegmentationTeacherFor(preset: SegmentationPreset, channels: number): LayersModel {
  return buildUNet({ inputShape: [preset.size, preset.size, channels], depth: preset.teacherDepth, baseFilters: preset.teacherBaseFilters, seed: 1000 });
}

/** The options a study builds its segmentation ONN with (the fabricated copy needs the same). */
export function segmentationStudentOptions(preset: SegmentationPreset, channels: number, seed: number): SegmentationOnnOptions {
  return {
    inputShape: [preset.size, preset.size, channels], groups: preset.groups, decoderWidths: preset.decoderWidths,
    bottleneckConvs: preset.bottleneckConvs, decoderConvs: preset.decoderConvs, seed,
  };
}

/** A segmentation ONN built to the preset. */
export function buildSegmentationStudentFor(preset: SegmentationPreset, channels: number, seed: number): SegmentationOnn {
  return buildSegmentationOnn(segmentationStudentOptions(preset, channels, seed));
}

/**
 * Digest of the training images and masks: a model saved under one split (e.g. Carvana before
 * the split by car, or another folder) must not be loaded for another.
 */
function trainDigest(train: SegmentationDataset): string {
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return createHash("sha256").update(bytes(train.images)).update(bytes(train.masks)).digest("hex").slice(0, 16);
}

function teacherKey(dataset: string, p: SegmentationPreset, train: SegmentationDataset): string {
  return JSON.stringify({ dataset, what: "seg-teacher", size: p.size, trainCount: p.trainCount, depth: p.teacherDepth, base: p.teacherBaseFilters, epochs: p.teacherEpochs, batchSize: p.batchSize, lr: p.teacherLearningRate, dice: p.diceWeight, train: trainDigest(train) });
}

function studentKey(dataset: string, p: SegmentationPreset, method: SegmentationStudentMethod, seed: number, train: SegmentationDataset): string {
  return JSON.stringify({ dataset, what: "seg-student", method, seed, preset: { ...p, seeds: [], testCount: 0, validationCount: 0 }, train: trainDigest(train) });
}

/** Loads saved weights when their config key matches; the saved history and provenance, or null. */
function tryLoad(file: string, model: LayersModel, key: string, identity: { phase: string; seed: number }): { history: SegmentationEpochRecord[]; provenance: ModelProvenance } | null {
  if (!fs.existsSync(file)) return null;
  let meta: Record<string, unknown>;
  try {
    if (readCheckpoint(file).meta.configKey !== key) return null;
    meta = loadWeights(file, model.weights);
  } catch {
    return null;
  }
  return { history: (meta.history as SegmentationEpochRecord[]) ?? [], provenance: loadedModelProvenance(file, meta, identity) };
}

/** A model's own log, started (replacing the previous one) as it begins to train. */
function startLog(file: string, key: string, identity: { phase: string; seed: number }): TrainingLog {
  return new TrainingLog(trainingLogPath(file), { ...identity, configHash: configHash(key) });
}

/** Progress of a segmentation study (one call per finished epoch or model). */
export interface SegmentationStudyProgress {
  phase: "teacher" | SegmentationStudentMethod;
  seed: number;
  /** Epoch just finished (absent when a model is done or loaded). */
  epoch?: number;
  epochs: number;
  loss?: number;
  /** Test mIoU once the model is done. */
  meanIoU?: number;
  /** True when the model came from the run store. */
  loaded?: boolean;
}

/** Where a study keeps its models and how it reports. */
export interface SegmentationModelsContext {
  dataset: SegmentationDatasetName;
  /** Run store of the models (e.g. `openRun("models-seg-generated-cars", mode)`). */
  run: RunStore;
  onProgress?: (p: SegmentationStudyProgress) => void;
}

/** Trains (or loads) the U-Net teacher. */
export async function obtainSegmentationTeacher(
  ctx: SegmentationModelsContext,
  splits: SegmentationSplits,
  preset: SegmentationPreset,
): Promise<{ model: LayersModel; evaluation: SegmentationEvaluation; history: SegmentationEpochRecord[]; loaded: boolean; provenance: ModelProvenance }> {
  const model = buildSegmentationTeacherFor(preset, splits.train.channels);
  const key = teacherKey(ctx.dataset, preset, splits.train);
  const file = ctx.run.checkpointPath("seg-teacher.weights");
  const identity = { phase: "seg-teacher", seed: 1000 };
  const stored = tryLoad(file, model, key, identity);
  const loaded = stored !== null;
  let history = stored?.history ?? null;
  let provenance = stored?.provenance;
  if (history === null) {
    const log = startLog(file, key, identity);
    const r = await trainSegmentationTeacher({
      model, train: splits.train, epochs: preset.teacherEpochs, batchSize: preset.batchSize, learningRate: preset.teacherLearningRate, seed: identity.seed, loss: { diceWeight: preset.diceWeight },
      onEpochEnd: (e) => {
        log.append(e);
        ctx.onProgress?.({ phase: "teacher", seed: 0, epoch: e.epoch, epochs: preset.teacherEpochs, loss: e.trainLoss });
      },
    });
    history = r.history;
    // Trained without a validation set: the weights are the last epoch's.
    provenance = saveTrainedModel(file, model.weights, { ...identity, configKey: key, history, reported: reportedWeightsOf(r, false) });
  }
  const evaluation = evaluateSegmentation(model, splits.test);
  ctx.onProgress?.({ phase: "teacher", seed: 0, epochs: preset.teacherEpochs, meanIoU: evaluation.meanIoU, loaded });
  return { model, evaluation, history, loaded, provenance: provenance as ModelProvenance };
}

/** Trains (or loads) one segmentation student. */
export async function obtainSegmentationStudent(
  ctx: SegmentationModelsContext,
  splits: SegmentationSplits,
  preset: SegmentationPreset,
  teacher: LayersModel,
  method: SegmentationStudentMethod,
  seed: number,
): Promise<{ student: SegmentationOnn; evaluation: SegmentationEvaluation; history: SegmentationEpochRecord[]; loaded: boolean; provenance: ModelProvenance }> {
  const student = buildSegmentationStudentFor(preset, splits.train.channels, seed + 1);
  try {
    const key = studentKey(ctx.dataset, preset, method, seed, splits.train);
    const file = ctx.run.checkpointPath(`seg-student-${method}-seed${seed}.weights`);
    const identity = { phase: `seg-${method}`, seed };
    const stored = tryLoad(file, student.model, key, identity);
    const loaded = stored !== null;
    let history = stored?.history ?? null;
    let provenance = stored?.provenance;
    if (history === null) {
      const log = startLog(file, key, identity);
      const r = await trainSegmentationStudent({
        student, method, teacher, train: splits.train, epochs: preset.studentEpochs, batchSize: preset.batchSize,
        learningRate: preset.studentLearningRate, seed, loss: { diceWeight: preset.diceWeight }, kd: preset.kd, ntkd: preset.ntkd,
        onEpochEnd: (e) => {
          log.append(e);
          ctx.onProgress?.({ phase: method, seed, epoch: e.epoch, epochs: preset.studentEpochs, loss: e.trainLoss });
        },
      });
      history = r.history;
      provenance = saveTrainedModel(file, student.model.weights, { ...identity, configKey: key, history, reported: reportedWeightsOf(r, false) });
    }
    const evaluation = evaluateSegmentation(student, splits.test);
    ctx.onProgress?.({ phase: method, seed, epochs: preset.studentEpochs, meanIoU: evaluation.meanIoU, loaded });
    return { student, evaluation, history, loaded, provenance: provenance as ModelProvenance };
  } catch (e) {
    student.dispose();
    throw e;
  }
}

/** One student's outcome. */
export interface SegmentationStudentRun {
  seed: number;
  meanIoU: number;
  dice: number;
  history: SegmentationEpochRecord[];
  loaded: boolean;
  /** Config key, weights, own training log and metadata of this student. */
  provenance: ModelProvenance;
}

/** Result of {@link runSegmentationStudy}. */
export interface SegmentationStudyResult {
  dataset: SegmentationDatasetName;
  preset: SegmentationPreset;
  splits: SegmentationSplits;
  teacher: { meanIoU: number; dice: number; history: SegmentationEpochRecord[]; loaded: boolean; provenance: ModelProvenance };
  /** mIoU and Dice (fractions) of predicting all background on the test set: the floor every model must clear. */
  baseline: AllBackgroundBaseline;
  /** Test mIoU (fractions) per method over seeds, with Dice and per-seed details. */
  students: Record<SegmentationStudentMethod, SeedSummary & { dice: SeedSummary; details: SegmentationStudentRun[] }>;
}

/** Options of {@link runSegmentationStudy}. */
export interface SegmentationStudyOptions extends SegmentationModelsContext {
  mode: NotebookMode;
  /** Changes to the mode's preset. */
  preset?: Partial<SegmentationPreset>;
  /** Data already loaded (default: {@link loadSegmentationSplits}). */
  splits?: SegmentationSplits;
}

/** Teacher + none/KD/NTKD students over seeds, each trained once and then loaded from the run store. */
export async function runSegmentationStudy(opts: SegmentationStudyOptions): Promise<SegmentationStudyResult> {
  const preset = segmentationPreset(opts.mode, opts.preset);
  const splits = opts.splits ?? (await loadSegmentationSplits(opts.dataset, preset));
  const teacher = await obtainSegmentationTeacher(opts, splits, preset);
  try {
    const details: Record<SegmentationStudentMethod, SegmentationStudentRun[]> = { none: [], kd: [], ntkd: [] };
    for (const seed of preset.seeds) {
      for (const method of ["none", "kd", "ntkd"] as const) {
        const s = await obtainSegmentationStudent(opts, splits, preset, teacher.model, method, seed);
        s.student.dispose();
        details[method].push({ seed, meanIoU: s.evaluation.meanIoU, dice: s.evaluation.dice, history: s.history, loaded: s.loaded, provenance: s.provenance });
      }
    }
    const summary = (m: SegmentationStudentMethod) => ({
      ...summarizeRuns(details[m].map((d) => d.meanIoU), `${m} mIoU`),
      dice: summarizeRuns(details[m].map((d) => d.dice), `${m} Dice`),
      details: details[m],
    });
    return {
      dataset: opts.dataset,
      preset,
      splits,
      teacher: { meanIoU: teacher.evaluation.meanIoU, dice: teacher.evaluation.dice, history: teacher.history, loaded: teacher.loaded, provenance: teacher.provenance },
      baseline: allBackgroundBaseline(splits.test),
      students: { none: summary("none"), kd: summary("kd"), ntkd: summary("ntkd") },
    };
  } finally {
    teacher.model.dispose();
  }
}
