/**
 * Accuracy against the metasurface height error (the number a foundry quotes, in nm): a
 * student whose optics are a `MetasurfaceFrontend` (heights learned through the wave optics) is
 * trained, or loaded from the run store, then fabricated with height errors of several σ
 * (`fabricateMetasurface`: the PSFs are recomputed from the as-built heights) and measured on
 * captured test images, without and optionally with backend compensation.
 */
import * as fs from "node:fs";
import type { NotebookMode } from "../notebook/params";
import type { RunStore } from "../notebook/run-store";
import { MetasurfaceFrontend, type MetasurfaceFrontendArgs } from "../models/frontends/metasurface-frontend";
import { buildCompressedMetaOnn, buildPolychromaticMetaOnn } from "../models/students";
import type { OpticalStudent } from "../models/optical-student";
import { trainStudent } from "../train/api";
import { readCheckpoint } from "../train/checkpoint";
import { evaluate } from "../train/metrics";
import type { CompensationMethod } from "../fabrication/compensation";
import { fabricateMetasurface } from "../fabrication/metasurface-errors";
import { loadWeights, saveWeights, TrainingLog, trainingLogPath } from "./model-files";
import { compensationSettings, measureFabrication, type CompensationSettings, type FabricationContext } from "./fabrication";
import { configHash } from "./distillation";

/** How the metasurface student is built and trained. */
export interface MetasurfaceStudentSettings {
  /** Optical kernels (sub-apertures). */
  kernels: number;
  /** Kernel side in sensor pixels. */
  kernelSize: number;
  /** Simulation samples per side of one sub-aperture. */
  gridSize: number;
  /** Training epochs (no transfer: the task loss alone). */
  epochs: number;
  /** Training images used (the first of the training split). */
  trainCount: number;
  learningRate: number;
  batchSize: number;
}

/** Defaults per mode: smoke and quick keep the whole sweep within a minute or so on two cores. */
export function metasurfaceStudentSettings(mode: NotebookMode): MetasurfaceStudentSettings {
  return mode !== "full"
    ? { kernels: 4, kernelSize: 7, gridSize: 24, epochs: 2, trainCount: 1500, learningRate: 1e-2, batchSize: 64 }
    : { kernels: 8, kernelSize: 7, gridSize: 32, epochs: 10, trainCount: Number.POSITIVE_INFINITY, learningRate: 1e-2, batchSize: 128 };
}

/** The frontend geometry of the sweep's student (metasurface defaults otherwise). */
function frontendArgs(s: MetasurfaceStudentSettings, inputChannels: number, seed: number): MetasurfaceFrontendArgs {
  return { kernels: s.kernels, kernelSize: s.kernelSize, inputChannels, gridSize: s.gridSize, seed, name: "metasurface_frontend" };
}

/**
 * Trains (or loads from `run`) a student with a `MetasurfaceFrontend` for the context's data
 * set: the Compressed Meta ONN's backend for grey images, the Polychromatic Meta ONN's for RGB.
 */
export async function obtainMetasurfaceStudent(
  ctx: FabricationContext,
  run: RunStore,
  settings: MetasurfaceStudentSettings,
  seed: number,
): Promise<{ student: OpticalStudent; accuracy: number; loaded: boolean }> {
  const train = ctx.splits.train;
  const frontend = new MetasurfaceFrontend(frontendArgs(settings, train.channels, seed));
  const inputShape: [number, number, number] = [train.height, train.width, train.channels];
  const numClasses = train.classNames.length;
  const student = train.channels === 1
    ? buildCompressedMetaOnn({ frontend, kernels: settings.kernels, kernelSize: settings.kernelSize, inputShape, numClasses, seed })
    : buildPolychromaticMetaOnn({ frontend, kernels: settings.kernels, kernelSize: settings.kernelSize, inputShape, numClasses, seed });
  const count = Math.min(settings.trainCount, train.count);
  const key = JSON.stringify({ what: "metasurface-student", dataset: ctx.dataset, seed, settings: { ...settings, trainCount: count }, sizes: ctx.preset.sizes });
  const file = run.checkpointPath(`metasurface-student-seed${seed}-${configHash(key)}.weights`);
  let loaded = false;
  if (fs.existsSync(file) && readCheckpoint(file).meta.configKey === key) {
    loadWeights(file, student.model.weights);
    loaded = true;
  } else {
    const trainSet = count === train.count ? train : { ...train, count, images: train.images.subarray(0, count * train.height * train.width * train.channels), labels: train.labels.subarray(0, count) };
    // Its own log beside its weights, replaced by a retrain (the run's metrics.jsonl mixed every model).
    const log = new TrainingLog(trainingLogPath(file), { phase: "metasurface-student", seed, configHash: configHash(key) });
    await trainStudent({
      student, method: "none", train: trainSet, validation: ctx.splits.validation, epochs: settings.epochs, batchSize: settings.batchSize,
      learningRate: settings.learningRate, schedule: { kind: "cosine", totalEpochs: settings.epochs }, seed,
      onEpochEnd: log.append,
      onBatchEnd: (b) => ctx.onProgress?.({ phase: "none", seed, label: "metasurface student", epoch: b.epoch, epochs: settings.epochs, batch: b.batch, batches: b.batches, loss: b.loss }),
    });
    saveWeights(file, student.model.weights, { configKey: key });
  }
  return { student, accuracy: evaluate(student, ctx.splits.test).accuracy, loaded };
}

/** One σ of the sweep. */
export interface HeightErrorPoint {
  /** σ of the height error, nm. */
  heightErrorNm: number;
  /** Mean accuracy (fraction) over the devices, per method ("none": uncompensated). */
  accuracy: Partial<Record<CompensationMethod, number>>;
  /** Accuracy of each device, per method. */
  devices: Partial<Record<CompensationMethod, number>>[];
}

/** Options of {@link runHeightErrorSweep}. */
export interface HeightErrorSweepOptions {
  mode: NotebookMode;
  /** Run store the student is saved in and loaded from. */
  run: RunStore;
  /** σ values of the height error, nm (e.g. [0, 5, 10, 20, 40]). */
  heightErrorsNm: number[];
  /** Correlation length of the height error, metres (default 4 µm: two simulation cells). */
  correlationLengthM?: number;
  /** Fabricated devices per σ, each with its own height error (default 1 smoke and quick, 3 full). */
  devices?: number;
  /** Compensation methods beyond "none" (default none: the uncompensated accuracy only). */
  methods?: CompensationMethod[];
  /** Student seed (default the preset's first). */
  seed?: number;
  /** Overrides of {@link metasurfaceStudentSettings}. */
  student?: Partial<MetasurfaceStudentSettings>;
  /** Overrides of the compensation settings. */
  settings?: Partial<CompensationSettings>;
  onPoint?: (p: HeightErrorPoint) => void;
}

/** The sweep: the student's simulated accuracy and one point per σ. */
export interface HeightErrorSweepResult {
  /** Test accuracy of the simulated (designed) metasurface student. */
  simulated: number;
  /** Whether the student came from the run store. */
  loaded: boolean;
  correlationLengthM: number;
  student: MetasurfaceStudentSettings;
  points: HeightErrorPoint[];
}

/** Fabricates the metasurface student with each height error σ and measures it (see the module comment). */
export async function runHeightErrorSweep(ctx: FabricationContext, opts: HeightErrorSweepOptions): Promise<HeightErrorSweepResult> {
  if (!Array.isArray(opts.heightErrorsNm) || opts.heightErrorsNm.length === 0 || opts.heightErrorsNm.some((v) => !(v >= 0) || !Number.isFinite(v))) {
    throw new Error(`runHeightErrorSweep: heightErrorsNm must be a non-empty list of finite numbers >= 0 (nm), got ${JSON.stringify(opts.heightErrorsNm)}`);
  }
  const devices = opts.devices ?? (opts.mode !== "full" ? 1 : 3);
  if (!Number.isInteger(devices) || devices < 1) throw new Error(`runHeightErrorSweep: devices must be a positive integer, got ${String(devices)}`);
  const correlationLengthM = opts.correlationLengthM ?? 4e-6;
  const studentSettings = { ...metasurfaceStudentSettings(opts.mode), ...opts.student };
  const settings = { ...compensationSettings(opts.mode), ...opts.settings };
  const methods = opts.methods ?? [];
  const seed = opts.seed ?? ctx.preset.seeds[0];
  const { student, accuracy: simulated, loaded } = await obtainMetasurfaceStudent(ctx, opts.run, studentSettings, seed);
  const points: HeightErrorPoint[] = [];
  try {
    for (const heightErrorNm of opts.heightErrorsNm) {
      const perDevice: Partial<Record<CompensationMethod, number>>[] = [];
      for (let d = 0; d < devices; d++) {
        const errors = { heightErrorM: heightErrorNm * 1e-9, correlationLengthM, seed: 1000 * seed + d };
        const r = await measureFabrication(ctx, student, {}, settings, methods, seed, () => fabricateMetasurface(student.frontend, errors), undefined, `σ = ${heightErrorNm} nm`);
        const row: Partial<Record<CompensationMethod, number>> = { none: r.none };
        for (const m of methods) row[m] = r[m];
        perDevice.push(row);
      }
      const accuracy: Partial<Record<CompensationMethod, number>> = {};
      for (const m of ["none", ...methods] as CompensationMethod[]) accuracy[m] = perDevice.reduce((s, row) => s + (row[m] ?? 0), 0) / perDevice.length;
      const point = { heightErrorNm, accuracy, devices: perDevice };
      points.push(point);
      opts.onPoint?.(point);
    }
  } finally {
    student.dispose();
  }
  return { simulated, loaded, correlationLengthM, student: studentSettings, points };
}

/** Chart rows of a sweep: one per σ and method, accuracy in percent. */
export function heightErrorRows(r: HeightErrorSweepResult): { heightErrorNm: number; accuracy: number; compensation: string }[] {
  return r.points.flatMap((p) => Object.entries(p.accuracy).map(([m, a]) => ({ heightErrorNm: p.heightErrorNm, accuracy: 100 * (a as number), compensation: m === "none" ? "none" : m === "ntkd" ? "NTKD" : "end-to-end" })));
}
