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
import { loadClassificationSplits, type ClassificationDatasetName, type ClassificationSplits } from "./datasets";
import { distillationPreset, STUDENT_METHODS, type DistillationPreset, type StudentMethod } from "./presets";
import { buildStudentFor, buildTeacherFor } from "./architectures";
import { loadWeights, saveWeights } from "./model-files";
import { summarizeRuns, type SeedSummary } from "./stats";
import { trainStudentsInWorkers } from "./workers";

/** What a study reports while it trains. */
export interface StudyProgress {
  /** "teacher" or the student method. */
  phase: "teacher" | StudentMethod;
  seed: number;
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
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
}

/** One trained student. */
export interface StudentRun {
  seed: number;
  accuracy: number;
  confusion: number[][];
  history: EpochRecord[];
  loaded: boolean;
}

/** Result of {@link runDistillationStudy}; accuracies are fractions in [0, 1]. */
export interface DistillationStudyResult {
  dataset: ClassificationDatasetName;
  preset: DistillationPreset;
  teacher: { accuracy: number; confusion: number[][]; history: EpochRecord[]; parameters: number; loaded: boolean };
  students: Partial<Record<StudentMethod, SeedSummary & { details: StudentRun[] }>>;
  studentParameters: number;
  splits: ClassificationSplits;
}

/** Run-store file of a trained teacher. */
export function teacherFile(run: RunStore): string {
  return run.checkpointPath("teacher.weights");
}

/** What a teacher's weights depend on: a change to any student setting keeps the teacher. */
function teacherKey(dataset: string, p: DistillationPreset): string {
  return JSON.stringify({ dataset, what: "teacher", sizes: p.sizes, epochs: p.teacherEpochs, batchSize: p.batchSize, lr: p.teacherLearningRate, cosine: p.teacherCosine, patience: p.patience });
}

/**
 * What a student's weights depend on: the teacher's settings included (KD and NTKD use it), and
 * only its own method's settings, so that tuning NTKD keeps the no-transfer and KD students.
 */
export function studentKey(dataset: string, p: DistillationPreset, method: StudentMethod, seed: number, kernels: number | undefined): string {
  return JSON.stringify({ dataset, what: "student", method, seed, kernels, preset: presetOfMethod(p, method) });
}

/** The preset without the seed list and without the settings of the other methods. */
function presetOfMethod(p: DistillationPreset, method: StudentMethod): Partial<DistillationPreset> {
  const relevant: Partial<DistillationPreset> = { ...p, seeds: [] };
  if (method !== "kd") delete relevant.kd;
  if (method !== "ntkd") delete relevant.ntkd;
  return relevant;
}

/**
 * A short hash of a config key (FNV-1a, 32 bit). It names the training-checkpoint folder, so a
 * run resumes only from checkpoints of the same configuration, never from a different one's.
 */
export function configHash(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** Loads saved weights when they were trained with the same configuration; true when loaded. */
function tryLoad(file: string, model: LayersModel, key: string): { loaded: boolean; history: EpochRecord[] } {
  if (!fs.existsSync(file)) return { loaded: false, history: [] };
  try {
    if (readCheckpoint(file).meta.configKey !== key) return { loaded: false, history: [] };
    const meta = loadWeights(file, model.weights);
    return { loaded: true, history: (meta.history as EpochRecord[]) ?? [] };
  } catch {
    return { loaded: false, history: [] };
  }
}

/** Trains (or loads) the teacher of a study. */
export async function obtainTeacher(
  opts: Pick<DistillationStudyOptions, "dataset" | "mode" | "run" | "onProgress" | "onModelDone">,
  splits: ClassificationSplits,
  preset: DistillationPreset,
): Promise<{ model: LayersModel; evaluation: Evaluation; history: EpochRecord[]; loaded: boolean }> {
  const model = buildTeacherFor(splits.train, 1000, opts.mode);
  const key = teacherKey(opts.dataset, preset);
  const file = teacherFile(opts.run);
  let { loaded, history } = tryLoad(file, model, key);
  if (!loaded) {
    const result = await trainTeacher({
      model,
      train: splits.train,
      validation: splits.validation,
      epochs: preset.teacherEpochs,
      batchSize: preset.batchSize,
      learningRate: preset.teacherLearningRate,
      schedule: preset.teacherCosine ? { kind: "cosine", totalEpochs: preset.teacherEpochs } : { kind: "constant" },
      seed: 1000,
      earlyStopping: { patience: preset.patience },
      checkpointDir: opts.run.checkpointPath(`teacher-training-${configHash(key)}`),
      resume: true,
      onBatchEnd: (p) => opts.onProgress?.({ phase: "teacher", seed: 0, epoch: p.epoch, epochs: preset.teacherEpochs, batch: p.batch, batches: p.batches, loss: p.loss }),
      onEpochEnd: (r) => opts.run.appendMetrics({ phase: "teacher", ...r }),
    });
    history = result.history;
    saveWeights(file, model.weights, { configKey: key, history });
  }
  const evaluation = evaluate(model, splits.test);
  opts.onModelDone?.({ phase: "teacher", seed: 0, accuracy: evaluation.accuracy, loaded });
  return { model, evaluation, history, loaded };
}

/** Trains (or loads) one student. */
export async function obtainStudent(
  opts: Pick<DistillationStudyOptions, "dataset" | "run" | "onProgress" | "onModelDone">,
  splits: ClassificationSplits,
  preset: DistillationPreset,
  teacher: LayersModel,
  method: StudentMethod,
  seed: number,
  kernels?: number,
): Promise<{ student: OpticalStudent; run: StudentRun }> {
  const student = buildStudentFor(splits.train, seed, { kernels });
  const key = studentKey(opts.dataset, preset, method, seed, kernels);
  const tag = kernels === undefined ? `${method}-seed${seed}` : `${method}-k${kernels}-seed${seed}`;
  const file = opts.run.checkpointPath(`student-${tag}.weights`);
  let { loaded, history } = tryLoad(file, student.model, key);
  if (!loaded) {
    const result = await trainStudent({
      student,
      method,
      teacher,
      train: splits.train,
      validation: splits.validation,
      epochs: preset.studentEpochs,
      batchSize: preset.batchSize,
      learningRate: preset.studentLearningRate,
      schedule: preset.studentCosine ? { kind: "cosine", totalEpochs: preset.studentEpochs } : { kind: "constant" },
      seed,
      earlyStopping: { patience: preset.patience },
      checkpointDir: opts.run.checkpointPath(`student-${tag}-training-${configHash(key)}`),
      resume: true,
      kd: preset.kd,
      ntkd: preset.ntkd,
      onBatchEnd: (p) => opts.onProgress?.({ phase: method, seed, epoch: p.epoch, epochs: preset.studentEpochs, batch: p.batch, batches: p.batches, loss: p.loss }),
      onEpochEnd: (r) => opts.run.appendMetrics({ phase: method, seed, ...r }),
    });
    history = result.history;
    saveWeights(file, student.model.weights, { configKey: key, history });
  }
  const ev = evaluate(student, splits.test);
  opts.onModelDone?.({ phase: method, seed, accuracy: ev.accuracy, loaded });
  return { student, run: { seed, accuracy: ev.accuracy, confusion: ev.confusion, history, loaded } };
}

/** Resolves a study's preset: the mode's defaults with the caller's overrides. */
export function resolvePreset(dataset: ClassificationDatasetName, mode: NotebookMode, overrides: Partial<DistillationPreset> = {}): DistillationPreset {
  return { ...distillationPreset(dataset, mode), ...overrides };
}

/** Trains the teacher and every student of the study; see the module comment. */
export async function runDistillationStudy(opts: DistillationStudyOptions): Promise<DistillationStudyResult> {
  const preset = resolvePreset(opts.dataset, opts.mode, opts.preset);
  const methods = opts.methods ?? [...STUDENT_METHODS];
  const splits = opts.splits ?? loadClassificationSplits(opts.dataset, preset.sizes);
  const teacher = await obtainTeacher(opts, splits, preset);
  if ((opts.workers ?? 1) > 1) {
    await trainStudentsInWorkers({
      dataset: opts.dataset,
      mode: opts.mode,
      preset: opts.preset,
      run: opts.run,
      workers: opts.workers,
      // Seed-major order: the three methods of a seed finish together, so a partial run compares them.
      jobs: preset.seeds.flatMap((seed) => methods.map((method) => ({ method, seed }))),
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
    teacher: { accuracy: teacher.evaluation.accuracy, confusion: teacher.evaluation.confusion, history: teacher.history, parameters, loaded: teacher.loaded },
    students,
    studentParameters,
    splits,
  };
}

/** The part of a study that goes into summary.json (per data set). */
export function studySummary(r: DistillationStudyResult): Record<string, unknown> {
  const students: Record<string, unknown> = {};
  for (const [method, s] of Object.entries(r.students)) {
    if (s) students[method] = { mean: s.mean, std: s.std, runs: s.runs };
  }
  return { teacher: { accuracy: r.teacher.accuracy, parameters: r.teacher.parameters }, students, studentParameters: r.studentParameters, seeds: r.preset.seeds };
}
