/**
 * Fabrication and compensation of the segmentation ONN (paper Table 4, Carvana column): each
 * optical group's PSFs get the kernel error δ and the gain α of Eq. 10 (the same draw as
 * `FabricatedDevice`, via `perturbKernels`), the optics are frozen, and the backend is
 * fine-tuned on a small share of the training data: none / end-to-end (task loss) / NTKD.
 *
 * The fabricated system is a copy of the student whose groups hold the perturbed PSFs
 * (`setPsfs`), so the fine-tuning runs on the ordinary segmentation loop. Misalignment, sensor
 * noise and quantisation of Eq. 10 are not modelled here: they act on the sensor image, which
 * would need a sensing layer inside the model; {@link SegmentationFabricationErrors} therefore
 * only accepts the kernel terms and the gain.
 */
import type { LayersModel } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import type { NotebookMode } from "../notebook/params";
import { sampleFraction } from "../data/splits";
import type { SegmentationDataset } from "../data/types";
import { perturbKernels } from "../fabrication/device";
import { resolveFabricationErrors, type FabricationErrors } from "../fabrication/errors";
import { PsfConvFrontend } from "../models/frontends/psf-conv";
import { buildSegmentationOnn, type SegmentationOnn, type SegmentationOnnOptions } from "../models/segmentation/segmentation-onn";
import { evaluateSegmentation, trainSegmentationStudent } from "../train/segmentation";
import {
  obtainSegmentationStudent, obtainSegmentationTeacher, segmentationStudentOptions,
  type SegmentationModelsContext, type SegmentationPreset, type SegmentationSplits,
} from "./segmentation-study";
import { summarizeRuns, type SeedSummary } from "./stats";

/** The error terms of Eq. 10 that act on the PSFs (see the module comment). */
export type SegmentationFabricationErrors = Pick<FabricationErrors, "kernelErrorStd" | "kernelErrorMode" | "gain" | "seed">;

/** Default errors: additive stray light of 0.5 × each kernel's peak and 30 % light loss. */
export const DEFAULT_SEGMENTATION_FABRICATION_ERRORS: SegmentationFabricationErrors = { kernelErrorStd: 0.5, gain: 0.7 };

/** A fabricated copy of a segmentation ONN and what was done to its PSFs. */
export interface FabricatedSegmentationOnn {
  /** The copy: perturbed PSFs (energy-bounded layers), the student's backend weights, optics frozen. */
  onn: SegmentationOnn;
  /** Per group: designed and fabricated PSFs [k, k, C, n] (flattened) and their shape. */
  groups: { designed: Float32Array; fabricated: Float32Array; shape: [number, number, number, number] }[];
  /** PSFs (colour, kernel) whose fabricated energy exceeded 1 and were scaled back to 1 (a passive optic cannot amplify). */
  cappedPsfs: number;
}

/**
 * Builds the fabricated system of `student`: `architecture` must be the options the student
 * was built with (its PsfConvFrontend groups are rebuilt with energy "bounded" so they can hold
 * PSFs of less than unit efficiency). The caller disposes `onn`.
 */
export function fabricateSegmentationOnn(
  student: SegmentationOnn,
  architecture: Omit<SegmentationOnnOptions, "frontendFactory">,
  errors: SegmentationFabricationErrors = DEFAULT_SEGMENTATION_FABRICATION_ERRORS,
): FabricatedSegmentationOnn {
  for (const key of Object.keys(errors)) {
    if (!["kernelErrorStd", "kernelErrorMode", "gain", "seed"].includes(key)) {
      throw new Error(`fabricateSegmentationOnn: errors.${key} is not modelled for the segmentation ONN (only kernelErrorStd, kernelErrorMode, gain, seed)`);
    }
  }
  const resolved = resolveFabricationErrors(errors);
  const designedGroups = student.groups.map((g, i) => {
    if (!(g instanceof PsfConvFrontend) || g.signed !== "none") {
      throw new Error(`fabricateSegmentationOnn: group ${i} must be a PsfConvFrontend with signed "none" (non-negative PSFs)`);
    }
    const p = g.psfs();
    try {
      return { designed: Float32Array.from(p.dataSync() as Float32Array), shape: p.shape as [number, number, number, number], colorMode: g.colorMode };
    } finally {
      p.dispose();
    }
  });
  const onn = buildSegmentationOnn({
    ...architecture,
    frontendFactory: (a) => {
      const colorMode = designedGroups[a.group]?.colorMode ?? "depthwise";
      return new PsfConvFrontend({ kernels: a.kernels, kernelSize: a.kernelSize, inputChannels: a.inputChannels, seed: a.seed, name: a.name, parametrization: "softplus", signed: "none", padding: "same", colorMode, energy: "bounded" });
    },
  });
  try {
    if (onn.groups.length !== student.groups.length || onn.backend.weights.length !== student.backend.weights.length) {
      throw new Error(`fabricateSegmentationOnn: architecture builds ${onn.groups.length} groups and ${onn.backend.weights.length} backend weights, the student has ${student.groups.length} and ${student.backend.weights.length}; pass the options the student was built with`);
    }
    onn.backend.setWeights(student.backend.getWeights());
    let cappedPsfs = 0;
    const groups = designedGroups.map(({ designed, shape }, g) => {
      // One device seed per group, so groups do not share an error pattern.
      const fabricated = perturbKernels(designed, shape, { ...resolved, seed: resolved.seed * 101 + g });
      const perPsf = shape[2] * shape[3];
      const sums = new Float64Array(perPsf);
      for (let i = 0; i < fabricated.length; i++) {
        fabricated[i] *= resolved.gain;
        sums[i % perPsf] += fabricated[i];
      }
      // Float32 sums of a unit-energy PSF land a few ulps either side of 1: only real excess counts.
      for (let j = 0; j < perPsf; j++) if (sums[j] > 1 + 1e-6) cappedPsfs++;
      for (let i = 0; i < fabricated.length; i++) {
        const s = sums[i % perPsf];
        if (s > 1 + 1e-6) fabricated[i] /= s;
      }
      const t = tf.tensor4d(fabricated, shape);
      try {
        (onn.groups[g] as PsfConvFrontend).setPsfs(t);
      } finally {
        t.dispose();
      }
      return { designed, fabricated, shape };
    });
    onn.freezeFrontend();
    return { onn, groups, cappedPsfs };
  } catch (e) {
    onn.dispose();
    throw e;
  }
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
  return mode === "quick" ? { fraction: 0.1, epochs: 4, learningRate: 2e-3, batchSize: 8 } : { fraction: 0.1, epochs: 10, learningRate: 1e-3, batchSize: 8 };
}

/** One seed's outcome (test mIoU, fractions). */
export interface SegmentationFabricationSeedResult {
  seed: number;
  /** The student as simulated (designed PSFs). */
  simulated: number;
  none: number;
  e2e: number;
  ntkd: number;
  /** PSFs whose energy was capped at 1 (see {@link FabricatedSegmentationOnn}). */
  cappedPsfs: number;
}

/**
 * Fabricates `student` and measures it uncompensated and after each backend fine-tuning on
 * `settings.fraction` of `train` (each method starts from the same fabricated copy).
 */
export async function measureSegmentationFabrication(opts: {
  student: SegmentationOnn;
  architecture: Omit<SegmentationOnnOptions, "frontendFactory">;
  teacher: LayersModel;
  train: SegmentationDataset;
  test: SegmentationDataset;
  errors?: SegmentationFabricationErrors;
  settings: SegmentationCompensationSettings;
  ntkd?: SegmentationPreset["ntkd"];
  seed: number;
}): Promise<SegmentationFabricationSeedResult> {
  const errors = { ...(opts.errors ?? DEFAULT_SEGMENTATION_FABRICATION_ERRORS), seed: (opts.errors?.seed ?? 0) + 7 * opts.seed };
  const share = sampleFraction(opts.train, opts.settings.fraction, 100 + opts.seed);
  const out: SegmentationFabricationSeedResult = { seed: opts.seed, simulated: evaluateSegmentation(opts.student, opts.test).meanIoU, none: 0, e2e: 0, ntkd: 0, cappedPsfs: 0 };
  for (const method of ["none", "e2e", "ntkd"] as const) {
    const fab = fabricateSegmentationOnn(opts.student, opts.architecture, errors);
    try {
      out.cappedPsfs = fab.cappedPsfs;
      if (method !== "none") {
        await trainSegmentationStudent({
          student: fab.onn, method: method === "e2e" ? "none" : "ntkd", part: "backend", teacher: opts.teacher, train: share,
          epochs: opts.settings.epochs, batchSize: opts.settings.batchSize, learningRate: opts.settings.learningRate, seed: 100 + opts.seed, ntkd: opts.ntkd,
        });
      }
      out[method] = evaluateSegmentation(fab.onn, opts.test).meanIoU;
    } finally {
      fab.onn.dispose();
    }
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
          student, architecture: segmentationStudentOptions(preset, splits.train.channels, seed + 1), teacher: teacher.model,
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
