/**
 * The fabrication study of paper Table 4, and sweeps beyond it: take the NTKD-trained students
 * of the distillation study, fabricate their optics with the errors of Eq. 10, and measure the
 * fabricated system uncompensated, after end-to-end backend fine-tuning, and after NTKD backend
 * fine-tuning, on a small share (default 10 %) of captured training data.
 */
import type { LayersModel } from "@tensorflow/tfjs";
import type { RunStore } from "../notebook/run-store";
import { byMode, type NotebookMode } from "../notebook/params";
import { InputError } from "../notebook/errors";
import type { OpticalStudent } from "../models/optical-student";
import { evaluate } from "../train/metrics";
import { sampleFraction } from "../data/splits";
import type { FabricatedDevice } from "../fabrication/device";
import type { FabricationErrors } from "../fabrication/errors";
import { fabricateFrontend, offsetDeviceSeeds, type DeviceErrors } from "../fabrication/frontend-device";
import type { FrontendKind } from "../models/frontends/factory";
import { captureDataset, compensate, restoreBackend, snapshotBackend, type CompensationMethod } from "../fabrication/compensation";
import { loadClassificationSplits, type ClassificationDatasetName, type ClassificationSplits } from "./datasets";
import { obtainStudent, obtainTeacher, resolvePreset, studentTag, type StudyProgress } from "./distillation";
import type { DistillationPreset, StudentMethod } from "./presets";
import { summarizeRuns, type SeedSummary } from "./stats";
import { configHash, modelAuditEntry, reportedWeightsOf, saveTrainedModel, TrainingLog, trainingLogPath, type ModelProvenance } from "./model-files";

/** The sensor errors every physical frontend's default device has. */
const DEFAULT_SENSOR_ERRORS: FabricationErrors = { gain: 0.8, misalignment: { shiftRowsPx: 1, shiftColsPx: 0.5, rotationDeg: 1 }, noiseStd: 0.01 };

/**
 * The default fabricated device: errors whose uncompensated drop is near the paper's 8 points.
 * kernelErrorStd stays the first key: the errors enter the compensation fine-tunes' config keys.
 */
export const DEFAULT_FABRICATION_ERRORS: FabricationErrors = { kernelErrorStd: 0.3, ...DEFAULT_SENSOR_ERRORS };

/**
 * The default device of each physical frontend: the same sensor errors, and the optics' errors
 * where they are made (`fabricateFrontend`).
 * - psf: the PSF error δ = 0.3 of {@link DEFAULT_FABRICATION_ERRORS}.
 * - metasurface: a height error of σ = 20 nm, correlated over ℓ = 4 µm (two simulation cells),
 *   about what electron-beam lithography and etching leave on pillars of ~1 µm; no δ.
 * - fourier: Fourier masks with a 5 % amplitude error and a 0.1 rad phase error per sample (an
 *   SLM's calibration residual, a few of its 8-bit phase levels), offset by half a sample along
 *   both axes (a few µm of alignment in the Fourier plane).
 * The paper gives none of these; the metasurface and 4f values are physical guesses, not tuned
 * to a target drop (the psf δ was tuned to the paper's 8 points).
 */
export function defaultFabricationErrors(frontend: FrontendKind = "psf"): DeviceErrors {
  switch (frontend) {
    case "psf":
      return DEFAULT_FABRICATION_ERRORS;
    case "metasurface":
      return { ...DEFAULT_SENSOR_ERRORS, metasurface: { heightErrorM: 20e-9, correlationLengthM: 4e-6 } };
    case "fourier":
      return { ...DEFAULT_SENSOR_ERRORS, fourier: { amplitudeErrorStd: 0.05, phaseErrorStdRad: 0.1, maskOffsetSamples: [0.5, 0.5] } };
    case "ideal":
      throw new Error(`defaultFabricationErrors: frontend "ideal" is a digital convolution; only optics are fabricated (psf, metasurface, fourier)`);
    default:
      throw new Error(`defaultFabricationErrors: unknown frontend ${JSON.stringify(frontend)}; expected psf, metasurface or fourier`);
  }
}

/** Settings of the compensation fine-tuning. */
export interface CompensationSettings {
  /** Share of the training set captured for fine-tuning (default 0.1, the paper's "e.g. 10%"). */
  fraction: number;
  epochs: number;
  learningRate: number;
  batchSize: number;
}

/** Default compensation settings per mode. */
export function compensationSettings(mode: NotebookMode): CompensationSettings {
  // Three epochs outside full mode keep npm start within its ten minutes (an NTKD fine-tune of 5,000
  // captures is ~12 s an epoch here).
  return mode !== "full" ? { fraction: 0.1, epochs: 3, learningRate: 1e-3, batchSize: 64 } : { fraction: 0.1, epochs: 5, learningRate: 1e-3, batchSize: 128 };
}

/** The models and data a fabrication study works on. */
export interface FabricationContext {
  dataset: ClassificationDatasetName;
  preset: DistillationPreset;
  splits: ClassificationSplits;
  teacher: LayersModel;
  /** Run store of the distillation study (models are loaded from, or trained into, it). */
  distillRun: RunStore;
  /** Method of the students that get fabricated (default "ntkd", as in the paper). */
  studentMethod: StudentMethod;
  /** Training progress of every model the study trains or fine-tunes (e.g. `studyProgressReporter()`). */
  onProgress?: (p: StudyProgress) => void;
}

/** Loads (or trains) the teacher and prepares the splits of a fabrication study. */
export async function prepareFabrication(opts: {
  dataset: ClassificationDatasetName;
  mode: NotebookMode;
  distillRun: RunStore;
  preset?: Partial<DistillationPreset>;
  studentMethod?: StudentMethod;
  /** Training progress of every model the study trains or fine-tunes ({@link FabricationContext.onProgress}). */
  onProgress?: (p: StudyProgress) => void;
}): Promise<FabricationContext> {
  const preset = resolvePreset(opts.dataset, opts.mode, opts.preset);
  if (preset.frontend === "ideal") {
    throw new InputError(`prepareFabrication: frontend "ideal" is a digital convolution, which is not fabricated; expected psf, metasurface or fourier`);
  }
  const splits = loadClassificationSplits(opts.dataset, preset.sizes);
  const teacher = await obtainTeacher({ dataset: opts.dataset, mode: opts.mode, run: opts.distillRun, onProgress: opts.onProgress }, splits, preset);
  return {
    dataset: opts.dataset, preset, splits, teacher: teacher.model, distillRun: opts.distillRun, studentMethod: opts.studentMethod ?? "ntkd",
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
}

/** One seed's outcome: accuracies (fractions) of the simulated and the fabricated system. */
export interface FabricationSeedResult {
  seed: number;
  simulated: number;
  none: number;
  e2e?: number;
  ntkd?: number;
  /** The student measured (its simulated and uncompensated numbers), when the study kept models. */
  student?: ModelProvenance;
  /** Each compensation fine-tune's saved backend, log and metadata, when the study kept models. */
  compensation?: Partial<Record<"e2e" | "ntkd", ModelProvenance>>;
}

/**
 * Keeps each compensation fine-tune of {@link measureFabrication} in the distillation run store:
 * its fine-tuned backend weights, its own training log and its metadata, named
 * `compensation-<method>-<student method>-seed<seed>` and replaced by every new fine-tune.
 */
export interface KeepCompensationModels {
  /** The measured student's provenance (its config key is part of each fine-tune's). */
  student: ModelProvenance;
}

/**
 * Measures one student under one device: simulated, uncompensated and each compensation. The
 * device is `fabricateFrontend` of the student's frontend with `errors` (seeds moved by 7·seed,
 * so each seed's device is its own), or what `makeDevice` builds; it is disposed here.
 */
export async function measureFabrication(
  ctx: FabricationContext,
  student: OpticalStudent,
  errors: DeviceErrors,
  settings: CompensationSettings,
  methods: CompensationMethod[],
  seed: number,
  makeDevice?: () => FabricatedDevice,
  keep?: KeepCompensationModels,
  progressLabel?: string,
): Promise<FabricationSeedResult> {
  const { height, width } = ctx.splits.test;
  const device = makeDevice ? makeDevice() : fabricateFrontend(student.frontend, offsetDeviceSeeds(errors, 7 * seed), { height, width });
  try {
    const test = captureDataset(ctx.splits.test, device, { noiseSeed: 13 + seed });
    // Only the fine-tuning share is ever captured (as in the lab: 10 % of the images are shown and
    // photographed), and only when a method fine-tunes on it: "none" alone never reads it.
    const fineTunes = methods.some((m) => m !== "none");
    const train = fineTunes ? captureDataset(sampleFraction(ctx.splits.train, settings.fraction, 100 + seed), device, { noiseSeed: 11 + seed }) : test;
    const simulated = evaluate(student, ctx.splits.test).accuracy;
    const start = snapshotBackend(student);
    const out: FabricationSeedResult = { seed, simulated, none: 0, ...(keep ? { student: keep.student, compensation: {} } : {}) };
    for (const method of ["none", ...methods.filter((m) => m !== "none")] as CompensationMethod[]) {
      restoreBackend(student, start);
      const kept = keep && method !== "none" ? compensationFiles(ctx, keep, method, errors, settings, seed) : undefined;
      const r = await compensate({
        student,
        teacher: ctx.teacher,
        train,
        test,
        method,
        fraction: 1,
        epochs: settings.epochs,
        learningRate: settings.learningRate,
        batchSize: settings.batchSize,
        seed: 100 + seed,
        // A lighter NTK weight than in training: on 10 % of the data with β balanced 1:1 the NTK term
        // pulled the backend away from the task (quick MNIST: 78.5 % vs 82.8 % end-to-end; 0.3: 82.1 %).
        ntkd: { ...ctx.preset.ntkd, betaScale: 0.3 },
        ...(kept ? { onEpochEnd: kept.log.append } : {}),
        ...(ctx.onProgress && method !== "none"
          ? {
              onBatchEnd: (b: { epoch: number; batch: number; batches: number; loss: number }) =>
                ctx.onProgress!({ phase: `compensation-${method}`, seed, label: progressLabel, epoch: b.epoch, epochs: settings.epochs, batch: b.batch, batches: b.batches, loss: b.loss }),
            }
          : {}),
      });
      out[method] = r.evaluation.accuracy;
      if (kept && r.training && method !== "none") {
        // No validation share here: the loop keeps the last epoch's weights.
        out.compensation![method] = saveTrainedModel(kept.file, student.backend.weights, { ...kept.identity, configKey: kept.configKey, history: r.training.history, reported: reportedWeightsOf(r.training, false) });
      }
    }
    restoreBackend(student, start);
    return out;
  } finally {
    device.dispose();
  }
}

/** Files and key of one kept compensation fine-tune; its log is started (and replaced) here. */
function compensationFiles(ctx: FabricationContext, keep: KeepCompensationModels, method: "e2e" | "ntkd", errors: DeviceErrors, settings: CompensationSettings, seed: number) {
  const configKey = JSON.stringify({ dataset: ctx.dataset, what: "compensation", method, seed, errors, settings, student: keep.student.configKey });
  const identity = { phase: `compensation-${method}`, seed };
  // Named after the student (its method, frontend and seed), so each frontend keeps its own fine-tunes.
  const file = ctx.distillRun.checkpointPath(`compensation-${method}-${studentTag(ctx.studentMethod, seed, undefined, ctx.preset.frontend)}.weights`);
  return { file, configKey, identity, log: new TrainingLog(trainingLogPath(file), { ...identity, configHash: configHash(configKey) }) };
}

/** Options of {@link runFabricationStudy}. */
export interface FabricationStudyOptions {
  /** The device's errors (default: {@link defaultFabricationErrors} of the students' frontend). */
  errors?: DeviceErrors;
  settings?: Partial<CompensationSettings>;
  mode: NotebookMode;
  /** Seeds (default: the distillation preset's). */
  seeds?: number[];
  methods?: CompensationMethod[];
  onSeedDone?: (r: FabricationSeedResult) => void;
}

/** Table 4: per method, mean ± std over seeds, plus the per-seed results. */
export interface FabricationStudyResult {
  errors: DeviceErrors;
  settings: CompensationSettings;
  simulated: SeedSummary;
  none: SeedSummary;
  e2e: SeedSummary;
  ntkd: SeedSummary;
  details: FabricationSeedResult[];
}

/** Fabricates each seed's student and compensates it (paper Table 4). */
export async function runFabricationStudy(ctx: FabricationContext, opts: FabricationStudyOptions): Promise<FabricationStudyResult> {
  const errors = opts.errors ?? defaultFabricationErrors(ctx.preset.frontend);
  const settings = { ...compensationSettings(opts.mode), ...opts.settings };
  const details: FabricationSeedResult[] = [];
  for (const seed of opts.seeds ?? ctx.preset.seeds) {
    const { student, run } = await obtainStudent({ dataset: ctx.dataset, run: ctx.distillRun, onProgress: ctx.onProgress }, ctx.splits, ctx.preset, ctx.teacher, ctx.studentMethod, seed);
    try {
      const r = await measureFabrication(ctx, student, errors, settings, opts.methods ?? ["e2e", "ntkd"], seed, undefined, { student: run.provenance });
      details.push(r);
      opts.onSeedDone?.(r);
    } finally {
      student.dispose();
    }
  }
  const pick = (k: keyof FabricationSeedResult): SeedSummary => summarizeRuns(details.map((d) => (d[k] as number | undefined) ?? Number.NaN), k);
  return { errors, settings, simulated: pick("simulated"), none: pick("none"), e2e: pick("e2e"), ntkd: pick("ntkd"), details };
}

/** One point of a robustness sweep. */
export interface SweepPoint {
  /** The swept quantity's value. */
  value: number;
  /** Accuracy per method (fractions). */
  accuracy: Partial<Record<CompensationMethod, number>>;
}

/** Options of {@link sweepFabrication}. */
export interface SweepOptions {
  mode: NotebookMode;
  /** The student's seed (default the preset's first). */
  seed?: number;
  /** Compensation methods measured at every point besides "none" (default ["ntkd"]). */
  methods?: CompensationMethod[];
  /** Overrides of the mode's compensation settings. */
  settings?: Partial<CompensationSettings>;
  /** The student's optical kernels (default: the architecture's; a width sweep varies it). */
  kernels?: number;
  /**
   * Overrides of the study's preset for the student this sweep uses, e.g. a shorter protocol for
   * the extra students of a width sweep ({@link widthSweepStudentPreset}); default: the study's own.
   */
  studentPreset?: Partial<DistillationPreset>;
  onPoint?: (p: SweepPoint) => void;
}

/**
 * The protocol of a width sweep's students: in quick mode 5,000 training images and 3 epochs (a
 * full-data student per width would take most of `npm start`'s ten minutes), otherwise the study's.
 * Every width gets the same protocol, so the widths compare with each other.
 */
export function widthSweepStudentPreset(mode: NotebookMode): Partial<DistillationPreset> {
  return byMode<Partial<DistillationPreset>>(mode, { smoke: {}, quick: { sizes: { trainCount: 5000, validationCount: 5000 }, studentEpochs: 3 }, full: {} });
}

/**
 * Accuracy against one error term (the others at zero), with and without compensation, for
 * one seed's student: `errorsAt(value)` builds the device errors of each point.
 */
export async function sweepFabrication(
  ctx: FabricationContext,
  values: number[],
  errorsAt: (value: number) => DeviceErrors,
  opts: SweepOptions,
): Promise<SweepPoint[]> {
  const settings = { ...compensationSettings(opts.mode), ...opts.settings };
  const seed = opts.seed ?? ctx.preset.seeds[0];
  // The student may train on its own, smaller protocol (its sizes pick its training split); the
  // fabricated system is always scored on the study's test split.
  const preset = opts.studentPreset ? { ...ctx.preset, ...opts.studentPreset } : ctx.preset;
  const trainSplits = opts.studentPreset?.sizes ? loadClassificationSplits(ctx.dataset, preset.sizes) : ctx.splits;
  const { student } = await obtainStudent({ dataset: ctx.dataset, run: ctx.distillRun, onProgress: ctx.onProgress }, trainSplits, preset, ctx.teacher, ctx.studentMethod, seed, opts.kernels);
  const points: SweepPoint[] = [];
  try {
    for (const value of values) {
      const r = await measureFabrication(ctx, student, errorsAt(value), settings, opts.methods ?? ["ntkd"], seed, undefined, undefined, `sweep point ${value}`);
      const accuracy: SweepPoint["accuracy"] = { none: r.none };
      for (const m of opts.methods ?? ["ntkd"]) accuracy[m] = r[m];
      const point = { value, accuracy };
      points.push(point);
      opts.onPoint?.(point);
    }
  } finally {
    student.dispose();
  }
  return points;
}

/**
 * The context with its test split cut to `count` images (class-stratified, seeded), for sweeps
 * whose many points each capture and score the test set; `count` >= the split keeps it whole.
 */
export function withTestImages(ctx: FabricationContext, count: number, seed = 0): FabricationContext {
  const test = ctx.splits.test;
  if (!Number.isInteger(count) || count < 1) throw new Error(`withTestImages: count must be an integer >= 1, got ${count}`);
  if (count >= test.count) return ctx;
  return { ...ctx, splits: { ...ctx.splits, test: sampleFraction(test, count / test.count, seed) } };
}

/** One width of {@link widthRobustness}: accuracies in percent. */
export interface WidthRobustnessRow {
  kernels: number;
  /** The simulated (clean) system. */
  clean: number;
  /** The fabricated system, uncompensated. */
  fabricated: number;
  /** clean − fabricated, points. */
  drop: number;
}

/**
 * How much fabrication costs against the number of optical kernels: for each width a student
 * trained with no transfer ({@link widthSweepStudentPreset}), measured clean and under a kernel
 * error of `kernelErrorStd` (default 0.6 of the PSF peak), without compensation.
 */
export async function widthRobustness(
  ctx: FabricationContext,
  widths: readonly number[],
  opts: { mode: NotebookMode; kernelErrorStd?: number; seed?: number },
): Promise<WidthRobustnessRow[]> {
  if (!Array.isArray(widths) || widths.length === 0 || widths.some((k) => !Number.isInteger(k) || k < 1)) {
    throw new Error(`widthRobustness: widths must be a non-empty list of integers >= 1, got ${JSON.stringify(widths)}`);
  }
  const delta = opts.kernelErrorStd ?? 0.6;
  const rows: WidthRobustnessRow[] = [];
  for (const kernels of widths) {
    const [clean, fab] = await sweepFabrication({ ...ctx, studentMethod: "none" }, [0, delta], (v) => ({ kernelErrorStd: v }), {
      mode: opts.mode, seed: opts.seed, methods: [], kernels, studentPreset: widthSweepStudentPreset(opts.mode),
    });
    rows.push({ kernels, clean: 100 * clean.accuracy.none!, fabricated: 100 * fab.accuracy.none!, drop: 100 * (clean.accuracy.none! - fab.accuracy.none!) });
  }
  return rows;
}

/** How a compensation method is named in charts and tables. */
export const COMPENSATION_LABELS: Record<CompensationMethod, string> = { none: "none", e2e: "end-to-end", ntkd: "NTKD" };

/** Chart rows of a sweep: one per point and per method it measured, accuracy in percent. */
export function sweepRows(points: readonly SweepPoint[]): { value: number; accuracy: number; compensation: string }[] {
  return points.flatMap((p) =>
    (Object.entries(p.accuracy) as [CompensationMethod, number | undefined][])
      .filter((entry): entry is [CompensationMethod, number] => entry[1] !== undefined)
      .map(([method, accuracy]) => ({ value: p.value, accuracy: 100 * accuracy, compensation: COMPENSATION_LABELS[method] })),
  );
}

/** The part of a fabrication study that goes into summary.json (per data set). */
export function fabricationSummary(r: FabricationStudyResult): Record<string, unknown> {
  const s = (x: SeedSummary): Record<string, unknown> => ({ mean: x.mean, std: x.std, runs: x.runs });
  // Per seed: the student measured and each compensation fine-tune, by config key and log.
  const models = r.details.map((d) => ({
    seed: d.seed,
    ...(d.student ? { student: modelAuditEntry(d.student) } : {}),
    ...Object.fromEntries(Object.entries(d.compensation ?? {}).map(([m, p]) => [m, modelAuditEntry(p as ModelProvenance)])),
  }));
  return { simulated: s(r.simulated), none: s(r.none), e2e: s(r.e2e), ntkd: s(r.ntkd), errors: r.errors, fraction: r.settings.fraction, models };
}

/**
 * The run store of a fabrication study: `fabrication` for the psf students of the paper, and
 * `fabrication-<frontend>` for another frontend's, so each frontend keeps its own record.
 */
export function fabricationRunName(frontend: FrontendKind = "psf"): string {
  return frontend === "psf" ? "fabrication" : `fabrication-${frontend}`;
}

/**
 * Where a data set's fabrication record goes in results.json (and so summary.json): beside its
 * psf study as `fabrication`, or for another frontend in its row of the hardware table,
 * `frontends.<frontend>.fabrication`.
 */
export function fabricationResults(frontend: FrontendKind, record: Record<string, unknown>): Record<string, unknown> {
  return frontend === "psf" ? { fabrication: record } : { frontends: { [frontend]: { fabrication: record } } };
}

/** The sweep of a frontend's own optics error: its record key, axis label and device errors per value. */
export interface OpticsErrorSweep {
  key: string;
  label: string;
  errors: (value: number) => DeviceErrors;
}

/**
 * The optics error a robustness sweep varies for each physical frontend: the PSF error δ (relative
 * to each PSF's peak) for psf, the height error σ in nm (correlated over `correlationLengthM`,
 * default 4 µm) for a metasurface, and the Fourier masks' phase error σ in rad for a 4f system.
 */
export function opticsErrorSweep(frontend: FrontendKind, opts: { correlationLengthM?: number } = {}): OpticsErrorSweep {
  switch (frontend) {
    case "psf":
      return { key: "kernelError", label: "kernel error δ (σ relative to PSF peak)", errors: (v) => ({ kernelErrorStd: v }) };
    case "metasurface": {
      const correlationLengthM = opts.correlationLengthM ?? 4e-6;
      return { key: "heightError", label: "height error σ (nm)", errors: (v) => ({ metasurface: { heightErrorM: v * 1e-9, correlationLengthM } }) };
    }
    case "fourier":
      return { key: "maskPhaseError", label: "Fourier-mask phase error σ (rad)", errors: (v) => ({ fourier: { phaseErrorStdRad: v } }) };
    default:
      throw new Error(`opticsErrorSweep: frontend ${JSON.stringify(frontend)} has no optics to fabricate; expected psf, metasurface or fourier`);
  }
}
