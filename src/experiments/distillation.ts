/**
 * The distillation study of paper Table 3: train the electronic teacher, then the optical
 * student with no transfer, classic KD and NTKD, over several seeds, and evaluate all of them
 * on the test set. Every trained model is saved in the run store, so the fabrication stage (and
 * a rerun after an interruption) picks them up instead of training again.
 */
import * as fs from "node:fs";
import type { LayersModel } from "@tensorflow/tfjs";
import type { RunStore } from "../notebook/run-store";
import type { NotebookMode } from "../notebook/params";
import type { OpticalStudent } from "../models/optical-student";
import { trainStudent, trainTeacher } from "../train/api";
import { readCheckpoint } from "../train/checkpoint";
import type { EpochRecord } from "../train/loop";
import { evaluate, type Evaluation } from "../train/metrics";
import { sampleFractionIndices, subset } from "../data/splits";
import type { ImageDataset } from "../data/types";
import { loadClassificationSplits, type ClassificationDatasetName, type ClassificationSplits } from "./datasets";
import { DEFAULT_STUDENT_METHODS, distillationPreset, GRAM_DEFAULTS, RKD_DEFAULTS, SP_DEFAULTS, type DistillationPreset, type StudentMethod } from "./presets";
import { buildStudentFor, buildTeacherFor, PAPER_KERNEL_SIZE } from "./architectures";
import { configHash, loadedModelProvenance, loadWeights, modelAuditEntry, reportedWeightsOf, saveTrainedModel, TrainingLog, trainingLogPath, type ModelProvenance } from "./model-files";
import { summarizeRuns, type SeedSummary } from "./stats";
import { recordedGains, type RecordedStudents } from "./paired-difference";
import { trainStudentsInWorkers } from "./workers";
import { FRONTEND_KINDS, type FrontendKind } from "../models/frontends/factory";
import { InputError } from "../notebook/errors";

/** What a study reports while it trains. */
export interface StudyProgress {
  /** "teacher", the student method, or a fabricated system's fine-tune. */
  phase: "teacher" | StudentMethod | "compensation-e2e" | "compensation-ntkd";
  /** What else tells this model apart, e.g. a sweep point ("δ = 0.3"); a new label is a new bar. */
  label?: string;
  seed: number;
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
}

/** Where a pool of students training in parallel worker processes stands. */
export interface PoolProgress {
  /** Jobs (students) in the pool. */
  jobs: number;
  /** Jobs finished (trained, or loaded from the run store). */
  finished: number;
  /** The latest progress of each running job. */
  running: StudyProgress[];
}

/** Options of {@link runDistillationStudy}. */
export interface DistillationStudyOptions {
  dataset: ClassificationDatasetName;
  mode: NotebookMode;
  /** Where models, metrics and checkpoints go. */
  run: RunStore;
  /** Overrides of the mode's {@link distillationPreset}. */
  preset?: Partial<DistillationPreset>;
  /** Methods to train (default all three). */
  methods?: StudentMethod[];
  /** Splits to use instead of loading them (e.g. already loaded by the notebook). */
  splits?: ClassificationSplits;
  onProgress?: (p: StudyProgress) => void;
  /** Called when one model is done (trained or loaded). */
  onModelDone?: (what: { phase: "teacher" | StudentMethod; seed: number; accuracy: number; loaded: boolean }) => void;
  /**
   * Worker processes for the students (default 1: train in this process, with live progress).
   * With 2 or more, students train in parallel processes (both cores) and are then loaded here.
   */
  workers?: number;
  /** With `workers` > 1: the pool's progress, a few times a second (`studyProgressReporter().pool`). */
  onPoolProgress?: (p: PoolProgress) => void;
}

/** One trained student. */
export interface StudentRun {
  seed: number;
  accuracy: number;
  confusion: number[][];
  history: EpochRecord[];
  loaded: boolean;
  /** Config key, weights, own training log and metadata of this student. */
  provenance: ModelProvenance;
}

/** Result of {@link runDistillationStudy}; accuracies are fractions in [0, 1]. */
export interface DistillationStudyResult {
  dataset: ClassificationDatasetName;
  preset: DistillationPreset;
  teacher: { accuracy: number; confusion: number[][]; history: EpochRecord[]; parameters: number; loaded: boolean; provenance: ModelProvenance };
  students: Partial<Record<StudentMethod, SeedSummary & { details: StudentRun[] }>>;
  studentParameters: number;
  splits: ClassificationSplits;
}

/** Run-store file of a trained teacher. */
export function teacherFile(run: RunStore): string {
  return run.checkpointPath("teacher.weights");
}

/** What a teacher's weights depend on: a change to any student setting keeps the teacher. */
export function teacherKey(dataset: string, p: DistillationPreset): string {
  return JSON.stringify({ dataset, what: "teacher", sizes: p.sizes, epochs: p.teacherEpochs, batchSize: p.batchSize, lr: p.teacherLearningRate, cosine: p.teacherCosine, patience: p.patience });
}

/**
 * What a student's weights depend on: the teacher's settings included (KD and NTKD use it), and
 * only its own method's settings, so that tuning NTKD keeps the no-transfer and KD students.
 */
export function studentKey(dataset: string, p: DistillationPreset, method: StudentMethod, seed: number, kernels: number | undefined): string {
  return JSON.stringify({ dataset, what: "student", method, seed, kernels, kernelSize: keyedKernelSize(p.studentKernelSize), preset: presetOfMethod(p, method) });
}

/** A kernel size as keys and file names carry it: the paper's 7 is the default student (undefined). */
export function keyedKernelSize(kernelSize: number | undefined): number | undefined {
  return kernelSize === PAPER_KERNEL_SIZE ? undefined : kernelSize;
}

/**
 * The preset without the seed list and without the settings of the other methods; the default
 * frontend ("psf") is left out, so that its students keep the keys they had before frontends
 * could be chosen.
 */
function presetOfMethod(p: DistillationPreset, method: StudentMethod): Partial<DistillationPreset> {
  const relevant: Partial<DistillationPreset> = { ...p, seeds: [] };
  // The key's own `kernels` and `kernelSize` fields carry them (normalised: the defaults are left out).
  delete relevant.studentKernels;
  delete relevant.studentKernelSize;
  if ((relevant.frontend ?? "psf") === "psf") delete relevant.frontend;
  // KD + NTKD depends on both methods' settings.
  if (method !== "kd" && method !== "kd+ntkd") delete relevant.kd;
  if (method !== "ntkd" && method !== "kd+ntkd") delete relevant.ntkd;
  if (method !== "sp") delete relevant.sp;
  else relevant.sp = { ...SP_DEFAULTS, ...p.sp };
  if (method !== "rkd") delete relevant.rkd;
  else relevant.rkd = { ...RKD_DEFAULTS, ...p.rkd };
  if (method !== "gram") delete relevant.gram;
  else relevant.gram = { ...GRAM_DEFAULTS, ...p.gram };
  return relevant;
}

export { configHash };

/** Loads saved weights when they were trained with the same configuration; their history and provenance, or null. */
function tryLoad(file: string, model: LayersModel, key: string, identity: { phase: string; seed: number }): { history: EpochRecord[]; provenance: ModelProvenance } | null {
  if (!fs.existsSync(file)) return null;
  let meta: Record<string, unknown>;
  try {
    if (readCheckpoint(file).meta.configKey !== key) return null;
    meta = loadWeights(file, model.weights);
  } catch {
    return null;
  }
  return { history: (meta.history as EpochRecord[]) ?? [], provenance: loadedModelProvenance(file, meta, identity) };
}

/** Seed the teachers are built and trained with (the log lines' `seed`). */
const TEACHER_SEED = 1000;

/** Trains (or loads) the teacher of a study. */
export async function obtainTeacher(
  opts: Pick<DistillationStudyOptions, "dataset" | "mode" | "run" | "onProgress" | "onModelDone">,
  splits: ClassificationSplits,
  preset: DistillationPreset,
): Promise<{ model: LayersModel; evaluation: Evaluation; history: EpochRecord[]; loaded: boolean; provenance: ModelProvenance }> {
  const model = buildTeacherFor(splits.train, TEACHER_SEED, opts.mode);
  const key = teacherKey(opts.dataset, preset);
  const file = teacherFile(opts.run);
  const identity = { phase: "teacher", seed: TEACHER_SEED };
  const stored = tryLoad(file, model, key, identity);
  const loaded = stored !== null;
  let history = stored?.history ?? [];
  let provenance = stored?.provenance;
  if (!stored) {
    const checkpointDir = opts.run.checkpointPath(`teacher-training-${configHash(key)}`);
    const log = new TrainingLog(trainingLogPath(file), { ...identity, configHash: configHash(key) }, checkpointDir);
    const result = await trainTeacher({
      model,
      train: splits.train,
      validation: splits.validation,
      epochs: preset.teacherEpochs,
      batchSize: preset.batchSize,
      learningRate: preset.teacherLearningRate,
      schedule: preset.teacherCosine ? { kind: "cosine", totalEpochs: preset.teacherEpochs } : { kind: "constant" },
      seed: TEACHER_SEED,
      earlyStopping: { patience: preset.patience },
      checkpointDir,
      resume: true,
      onBatchEnd: (p) => opts.onProgress?.({ phase: "teacher", seed: 0, epoch: p.epoch, epochs: preset.teacherEpochs, batch: p.batch, batches: p.batches, loss: p.loss }),
      onEpochEnd: log.append,
    });
    history = result.history;
    // With a validation set the loop restores the best validation epoch's weights (restoreBest's default).
    provenance = saveTrainedModel(file, model.weights, { ...identity, configKey: key, history, reported: reportedWeightsOf(result, splits.validation !== undefined) });
  }
  const evaluation = evaluate(model, splits.test);
  opts.onModelDone?.({ phase: "teacher", seed: 0, accuracy: evaluation.accuracy, loaded });
  return { model, evaluation, history, loaded, provenance: provenance as ModelProvenance };
}

/** Trains (or loads) one student. */
export async function obtainStudent(
  opts: Pick<DistillationStudyOptions, "dataset" | "run" | "onProgress" | "onModelDone">,
  splits: ClassificationSplits,
  preset: DistillationPreset,
  teacher: LayersModel,
  method: StudentMethod,
  seed: number,
  requestedKernels?: number,
): Promise<{ student: OpticalStudent; run: StudentRun }> {
  const train = studentTrainingSet(splits.train, preset.studentTrainFraction);
  const asked = requestedKernels ?? preset.studentKernels;
  const student = buildStudentFor(train, seed, { kernels: asked, kernelSize: preset.studentKernelSize, frontend: preset.frontend });
  const kernels = keyedKernels(splits.train, asked);
  const key = studentKey(opts.dataset, preset, method, seed, kernels);
  const tag = studentTag(method, seed, kernels, preset.frontend, preset.studentTrainFraction, keyedKernelSize(preset.studentKernelSize));
  const file = opts.run.checkpointPath(`student-${tag}.weights`);
  const identity = { phase: method, seed };
  const stored = tryLoad(file, student.model, key, identity);
  const loaded = stored !== null;
  let history = stored?.history ?? [];
  let provenance = stored?.provenance;
  if (!stored) {
    const checkpointDir = opts.run.checkpointPath(`student-${tag}-training-${configHash(key)}`);
    const log = new TrainingLog(trainingLogPath(file), { ...identity, configHash: configHash(key) }, checkpointDir);
    const result = await trainStudent({
      student,
      method,
      teacher,
      train,
      validation: splits.validation,
      epochs: preset.studentEpochs,
      batchSize: preset.batchSize,
      learningRate: preset.studentLearningRate,
      schedule: preset.studentCosine ? { kind: "cosine", totalEpochs: preset.studentEpochs } : { kind: "constant" },
      seed,
      earlyStopping: { patience: preset.patience },
      checkpointDir,
      resume: true,
      kd: preset.kd,
      ntkd: preset.ntkd,
      sp: { ...SP_DEFAULTS, ...preset.sp },
      rkd: { ...RKD_DEFAULTS, ...preset.rkd },
      gram: { ...GRAM_DEFAULTS, ...preset.gram },
      onBatchEnd: (p) => opts.onProgress?.({ phase: method, seed, epoch: p.epoch, epochs: preset.studentEpochs, batch: p.batch, batches: p.batches, loss: p.loss }),
      onEpochEnd: log.append,
    });
    history = result.history;
    provenance = saveTrainedModel(file, student.model.weights, { ...identity, configKey: key, history, reported: reportedWeightsOf(result, splits.validation !== undefined) });
  }
  const ev = evaluate(student, splits.test);
  opts.onModelDone?.({ phase: method, seed, accuracy: ev.accuracy, loaded });
  return { student, run: { seed, accuracy: ev.accuracy, confusion: ev.confusion, history, loaded, provenance: provenance as ModelProvenance } };
}

/**
 * A student's file name stem in the run store: `none-seed0`, `ntkd-k4-seed1`, `kd-metasurface-seed2`,
 * `kd-f0.1-seed3` (a tenth of the training split), `none-k4-5px-seed0` (5x5 kernels); the default
 * "psf" frontend, kernel count and size and training set are not named.
 */
export function studentTag(method: StudentMethod, seed: number, kernels?: number, frontend?: FrontendKind, trainFraction?: number, kernelSize?: number): string {
  const parts = [
    method,
    ...(frontend !== undefined && frontend !== "psf" ? [frontend] : []),
    ...(kernels !== undefined ? [`k${kernels}`] : []),
    ...(kernelSize !== undefined ? [`${kernelSize}px`] : []),
    ...(trainFraction !== undefined ? [`f${trainFraction}`] : []),
    `seed${seed}`,
  ];
  return parts.join("-");
}

/** The indices of the students' share of `train`, or null for all of it (seed 0 for every student). */
function studentShareIndices(train: ImageDataset, fraction: number | undefined): Int32Array | null {
  return fraction === undefined || fraction === 1 ? null : sampleFractionIndices(train, fraction, 0);
}

/**
 * What a student learns from: the whole training split, or the fixed class-stratified sample of
 * `studentTrainFraction` of it (seed 0 for every student; see {@link DistillationPreset}).
 */
export function studentTrainingSet(train: ImageDataset, fraction: number | undefined): ImageDataset {
  const indices = studentShareIndices(train, fraction);
  return indices === null ? train : { ...subset(train, indices), name: `${train.name}-f${fraction}` };
}

/** How many images {@link studentTrainingSet} keeps (the share is rounded per class), without copying them. */
export function studentTrainCount(train: ImageDataset, fraction: number | undefined): number {
  return studentShareIndices(train, fraction)?.length ?? train.count;
}

/** Resolves a study's preset: the mode's defaults with the caller's overrides (checked). */
export function resolvePreset(dataset: ClassificationDatasetName, mode: NotebookMode, overrides: Partial<DistillationPreset> = {}): DistillationPreset {
  const preset = { ...distillationPreset(dataset, mode), ...overrides };
  if (preset.frontend !== undefined && !FRONTEND_KINDS.includes(preset.frontend)) {
    throw new InputError(`preset.frontend: expected one of ${FRONTEND_KINDS.join(", ")}, got ${JSON.stringify(preset.frontend)}`);
  }
  const f = preset.studentTrainFraction;
  if (f !== undefined && !(typeof f === "number" && f > 0 && f <= 1)) {
    throw new InputError(`preset.studentTrainFraction: expected a number in (0, 1], got ${JSON.stringify(f)}`);
  }
  const k = preset.studentKernels;
  if (k !== undefined && !(Number.isInteger(k) && k >= 1)) {
    throw new InputError(`preset.studentKernels: expected an integer >= 1, got ${JSON.stringify(k)}`);
  }
  const size = preset.studentKernelSize;
  if (size !== undefined && !(Number.isInteger(size) && size >= 1 && size % 2 === 1)) {
    throw new InputError(`preset.studentKernelSize: expected an odd integer >= 1 (kernel side in sensor pixels), got ${JSON.stringify(size)}`);
  }
  return preset;
}

/**
 * A kernel count as keys and file names carry it: the architecture's own count asked for by
 * number is the default student (undefined), one model and one file, so that a width sweep or a
 * gain-map point that includes it loads the study's student instead of retraining it.
 */
export function keyedKernels(train: Pick<ClassificationSplits["train"], "height" | "width" | "channels" | "classNames">, kernels: number | undefined): number | undefined {
  return kernels === undefined || kernels !== defaultKernelCount(train) ? kernels : undefined;
}

/**
 * {@link keyedKernels} for a data set by name, before its splits are loaded (a plan, a map's
 * points): its shape is read from a few images. No kernel count asked for reads nothing.
 */
export function keyedKernelsOf(dataset: ClassificationDatasetName, kernels: number | undefined): number | undefined {
  if (kernels === undefined) return undefined;
  return keyedKernels(loadClassificationSplits(dataset, { trainCount: 10, validationCount: 10, testCount: 10 }).train, kernels);
}

/** The optical kernel count of a student asked for with `kernels` (undefined: the architecture's own). */
export function studentKernelCount(train: Pick<ClassificationSplits["train"], "height" | "width" | "channels" | "classNames">, kernels: number | undefined): number {
  return kernels ?? defaultKernelCount(train);
}

/** The kernel count of the data set's default student (built once per shape, then remembered). */
const defaultKernels = new Map<string, number>();
function defaultKernelCount(ds: Pick<ClassificationSplits["train"], "height" | "width" | "channels" | "classNames">): number {
  const shape = `${ds.height}x${ds.width}x${ds.channels}:${ds.classNames.length}`;
  let n = defaultKernels.get(shape);
  if (n === undefined) {
    const probe = buildStudentFor(ds as ClassificationSplits["train"], 0);
    n = probe.frontend.kernelCount;
    probe.dispose();
    defaultKernels.set(shape, n);
  }
  return n;
}

/**
 * A training step's cost relative to a plain step (bench: compressed-meta step, R = 2): the order
 * in which parallel workers take the methods of a seed.
 */
const STEP_COST: Record<StudentMethod, number> = { none: 1, kd: 1.35, ntkd: 3, "kd+ntkd": 3.3, sp: 1.4, rkd: 1.5, gram: 1.05 };

/** Trains the teacher and every student of the study; see the module comment. */
export async function runDistillationStudy(opts: DistillationStudyOptions): Promise<DistillationStudyResult> {
  const preset = resolvePreset(opts.dataset, opts.mode, opts.preset);
  const methods = opts.methods ?? [...DEFAULT_STUDENT_METHODS];
  const splits = opts.splits ?? loadClassificationSplits(opts.dataset, preset.sizes);
  const teacher = await obtainTeacher(opts, splits, preset);
  if ((opts.workers ?? 1) > 1) {
    // Seed-major order: the three methods of a seed finish together, so a partial run compares them.
    // Within a seed the costliest method starts first, so the other worker trains the cheap ones meanwhile.
    const byCost = [...methods].sort((a, b) => STEP_COST[b] - STEP_COST[a]);
    const jobs = preset.seeds.flatMap((seed) => byCost.map((method) => ({ method, seed })));
    const running = new Map<string, StudyProgress>();
    let finished = 0;
    const report = (): void => opts.onPoolProgress?.({ jobs: jobs.length, finished, running: [...running.values()] });
    await trainStudentsInWorkers({
      dataset: opts.dataset,
      mode: opts.mode,
      preset: opts.preset,
      run: opts.run,
      workers: opts.workers,
      jobs,
      onProgress: (job, p) => {
        running.set(`${job.method}:${job.seed}`, p);
        report();
      },
      onJobDone: (r) => {
        running.delete(`${r.job.method}:${r.job.seed}`);
        finished += 1;
        report();
      },
    });
  }
  const students: DistillationStudyResult["students"] = {};
  let studentParameters = 0;
  for (const method of methods) {
    const details: StudentRun[] = [];
    for (const seed of preset.seeds) {
      const { student, run } = await obtainStudent(opts, splits, preset, teacher.model, method, seed);
      studentParameters = student.countParams();
      student.dispose();
      details.push(run);
    }
    students[method] = { ...summarizeRuns(details.map((d) => d.accuracy), `${method} accuracies`), details };
  }
  const parameters = teacher.model.countParams();
  teacher.model.dispose();
  return {
    dataset: opts.dataset,
    preset,
    teacher: { accuracy: teacher.evaluation.accuracy, confusion: teacher.evaluation.confusion, history: teacher.history, parameters, loaded: teacher.loaded, provenance: teacher.provenance },
    students,
    studentParameters,
    splits,
  };
}

/**
 * The part of a study that goes into summary.json (per data set). Each model carries its
 * {@link ModelAuditEntry} (config key, log, metadata, which epoch), so every number can be traced
 * to the epochs behind it. `gains` holds the paired differences between its methods over seeds
 * with 95 % intervals ({@link recordedGains}), when at least two seeds pair.
 */
export function studySummary(r: DistillationStudyResult): Record<string, unknown> {
  const students: Record<string, unknown> = {};
  for (const [method, s] of Object.entries(r.students)) {
    if (s) students[method] = { mean: s.mean, std: s.std, runs: s.runs, models: s.details.map((d) => ({ accuracy: d.accuracy, ...modelAuditEntry(d.provenance) })) };
  }
  return {
    teacher: { accuracy: r.teacher.accuracy, parameters: r.teacher.parameters, model: modelAuditEntry(r.teacher.provenance) },
    students,
    studentParameters: r.studentParameters,
    seeds: r.preset.seeds,
    frontend: r.preset.frontend ?? "psf",
    ...gainsEntry(students as Record<string, RecordedStudents>),
  };
}

/** `gains`: the paired differences between methods over seeds (left out when nothing pairs). */
function gainsEntry(students: Record<string, RecordedStudents>): { gains?: Record<string, unknown> } {
  const gains = recordedGains(students);
  return Object.keys(gains).length > 0 ? { gains } : {};
}
