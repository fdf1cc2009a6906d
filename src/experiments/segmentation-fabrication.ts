/**
 * Fabrication and compensation of the segmentation ONN (paper Table 4, Carvana column), through
 * the same `FabricatedDevice` and `compensate` as classification, with the full error model of
 * Eq. 10 (kernel error δ, gain α, misalignment β, sensor noise ε, bit depth).
 *
 * How the three PSF groups become devices (our choice, documented here because the paper says
 * nothing): group g's 3×3 PSFs are defined on an s_g×s_g-binned sensor grid (s = 1, 2, 4). The
 * metasurface images every group onto one full-resolution sensor, so each group is one
 * `FabricatedDevice` whose PSF has the 3×3 taps s_g pixels apart on that sensor
 * (`FabricatedDevice.fromFrontend(group, errors, { binning: s_g })`): at zero error this senses
 * exactly what the ONN computes, and the errors act where they physically do: δ on the
 * full-resolution PSF (additive stray light also falls between the taps), misalignment in
 * full-resolution pixels, noise and quantisation per sensor pixel, then digital s_g×s_g binning
 * (so binned noise has std σ/s_g). All groups share α and β (one sensor, one mount); δ and ε are
 * drawn independently per group (seed·101 + g). Unlike the earlier copy-the-ONN model, PSF energy
 * is no longer capped at 1 after δ: the device keeps δ as drawn, like the classification device.
 */
import type { LayersModel } from "@tensorflow/tfjs";
import type { NotebookMode } from "../notebook/params";
import type { SegmentationDataset } from "../data/types";
import { sampleFraction } from "../data/splits";
import { FabricatedDevice } from "../fabrication/device";
import type { FabricationErrors } from "../fabrication/errors";
import { captureSegmentationDataset, compensate, restoreBackend, snapshotBackend } from "../fabrication/compensation";
import type { SegmentationOnn } from "../models/segmentation/segmentation-onn";
import { evaluateSegmentation } from "../train/segmentation";
import {
  obtainSegmentationStudent, obtainSegmentationTeacher,
  type SegmentationModelsContext, type SegmentationPreset, type SegmentationSplits,
} from "./segmentation-study";
import { summarizeRuns, type SeedSummary } from "./stats";

/** Errors of a fabricated segmentation ONN: the full model of Eq. 10 (see `FabricationErrors`). */
export type SegmentationFabricationErrors = FabricationErrors;

/**
 * Default errors: additive stray light of 0.5 × each kernel's peak, 30 % light loss, the
 * classification study's misalignment (1 px / 0.5 px, 1°) and sensor noise (0.01), 8-bit sensor.
 */
export const DEFAULT_SEGMENTATION_FABRICATION_ERRORS: SegmentationFabricationErrors = {
  kernelErrorStd: 0.5,
  gain: 0.7,
  misalignment: { shiftRowsPx: 1, shiftColsPx: 0.5, rotationDeg: 1 },
  noiseStd: 0.01,
  bitDepth: 8,
};

/**
 * One fabricated device per optical group of `student`, finest first (see the module comment).
 * Every group must hold intensity PSFs (energy "unit" or "bounded", no signed readout). The
 * caller disposes the devices.
 */
export function fabricateSegmentationOnn(student: SegmentationOnn, errors: SegmentationFabricationErrors = DEFAULT_SEGMENTATION_FABRICATION_ERRORS): FabricatedDevice[] {
  const seed = errors.seed ?? 0;
  const devices: FabricatedDevice[] = [];
  try {
    student.groups.forEach((g, i) => devices.push(FabricatedDevice.fromFrontend(g, { ...errors, seed: seed * 101 + i }, { binning: student.scales[i] })));
  } catch (e) {
    devices.forEach((d) => d.dispose());
    throw e;
  }
  return devices;
}

/** Compensation methods of the fabricated segmentation ONN. */
export type SegmentationCompensationMethod = "none" | "e2e" | "ntkd";

/** Settings of the backend fine-tuning. */
export interface SegmentationCompensationSettings {
  /** Share of the training images used for fine-tuning (the paper's 10 %). */
  fraction: number;
  epochs: number;
  learningRate: number;
  batchSize: number;
}

/** Default fine-tuning settings of a mode. */
export function segmentationCompensationSettings(mode: NotebookMode): SegmentationCompensationSettings {
  return mode !== "full" ? { fraction: 0.1, epochs: 3, learningRate: 2e-3, batchSize: 8 } : { fraction: 0.1, epochs: 10, learningRate: 1e-3, batchSize: 8 };
}

/** One seed's outcome (test mIoU, fractions). */
export interface SegmentationFabricationSeedResult {
  seed: number;
  /** The student as simulated (designed PSFs). */
  simulated: number;
  none: number;
  e2e: number;
  ntkd: number;
}

/**
 * Fabricates `student` and measures it uncompensated and after each backend fine-tuning on
 * `settings.fraction` of `train` (each method starts from the student's own decoder weights,
 * which are restored afterwards). Only the fine-tuning share and the test set are captured.
 */
export async function measureSegmentationFabrication(opts: {
  student: SegmentationOnn;
  teacher: LayersModel;
  train: SegmentationDataset;
  test: SegmentationDataset;
  errors?: SegmentationFabricationErrors;
  settings: SegmentationCompensationSettings;
  ntkd?: SegmentationPreset["ntkd"];
  seed: number;
}): Promise<SegmentationFabricationSeedResult> {
  const errors = { ...(opts.errors ?? DEFAULT_SEGMENTATION_FABRICATION_ERRORS), seed: (opts.errors?.seed ?? 0) + 7 * opts.seed };
  const out: SegmentationFabricationSeedResult = { seed: opts.seed, simulated: evaluateSegmentation(opts.student, opts.test).meanIoU, none: 0, e2e: 0, ntkd: 0 };
  const devices = fabricateSegmentationOnn(opts.student, errors);
  const start = snapshotBackend(opts.student);
  try {
    const share = sampleFraction(opts.train, opts.settings.fraction, 100 + opts.seed);
    const train = captureSegmentationDataset(share, devices, { noiseSeed: 11 + opts.seed });
    const test = captureSegmentationDataset(opts.test, devices, { noiseSeed: 13 + opts.seed });
    for (const method of ["none", "e2e", "ntkd"] as const) {
      restoreBackend(opts.student, start);
      const r = await compensate({
        student: opts.student, teacher: opts.teacher, train, test, method, fraction: 1,
        epochs: opts.settings.epochs, batchSize: opts.settings.batchSize, learningRate: opts.settings.learningRate, seed: 100 + opts.seed, ntkd: opts.ntkd,
      });
      out[method] = r.evaluation.meanIoU;
    }
  } finally {
    restoreBackend(opts.student, start);
    devices.forEach((d) => d.dispose());
  }
  return out;
}

/** Result of {@link runSegmentationFabricationStudy}: test mIoU per method over seeds. */
export interface SegmentationFabricationStudyResult {
  errors: SegmentationFabricationErrors;
  settings: SegmentationCompensationSettings;
  simulated: SeedSummary;
  none: SeedSummary;
  e2e: SeedSummary;
  ntkd: SeedSummary;
  details: SegmentationFabricationSeedResult[];
}

/** Fabricates the NTKD student of each seed (loaded from the run store, or trained) and compensates it. */
export async function runSegmentationFabricationStudy(
  ctx: SegmentationModelsContext,
  splits: SegmentationSplits,
  preset: SegmentationPreset,
  opts: { mode: NotebookMode; errors?: SegmentationFabricationErrors; settings?: Partial<SegmentationCompensationSettings>; seeds?: number[]; onSeedDone?: (r: SegmentationFabricationSeedResult) => void },
): Promise<SegmentationFabricationStudyResult> {
  const errors = opts.errors ?? DEFAULT_SEGMENTATION_FABRICATION_ERRORS;
  const settings = { ...segmentationCompensationSettings(opts.mode), ...opts.settings };
  const teacher = await obtainSegmentationTeacher(ctx, splits, preset);
  const details: SegmentationFabricationSeedResult[] = [];
  try {
    for (const seed of opts.seeds ?? preset.seeds) {
      const { student } = await obtainSegmentationStudent(ctx, splits, preset, teacher.model, "ntkd", seed);
      try {
        const r = await measureSegmentationFabrication({
          student, teacher: teacher.model,
          train: splits.train, test: splits.test, errors, settings, ntkd: preset.ntkd, seed,
        });
        details.push(r);
        opts.onSeedDone?.(r);
      } finally {
        student.dispose();
      }
    }
  } finally {
    teacher.model.dispose();
  }
  const pick = (k: "simulated" | SegmentationCompensationMethod) => summarizeRuns(details.map((d) => d[k]), k);
  return { errors, settings, simulated: pick("simulated"), none: pick("none"), e2e: pick("e2e"), ntkd: pick("ntkd"), details };
}
