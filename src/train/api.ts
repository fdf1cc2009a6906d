/**
 * One function per method, for notebooks and the CLI: {@link trainTeacher} and
 * {@link trainStudent} (no transfer, KD or NTKD). Both wrap {@link trainLoop}.
 */
import type { LayersModel, LayerVariable } from "@tensorflow/tfjs";
import { OpticalStudent, type StudentPart } from "../models/optical-student";
import type { NtkMatchOptions } from "../distill/ntkd";
import { trainLoop, type TrainLoopOptions, type TrainResult } from "./loop";
import { kdObjective, ntkdObjective, taskObjective } from "./objectives";

/** Loop settings shared by every method (everything but the model and the objective). */
export type CommonTrainOptions = Omit<TrainLoopOptions, "model" | "objective" | "trainable">;

/** Options of {@link trainTeacher}. */
export interface TrainTeacherOptions extends CommonTrainOptions {
  /** The teacher network (e.g. `buildLeNet5` or `buildAlexNetSmall`), logits out. */
  model: LayersModel;
}

/** Trains a teacher with cross-entropy. */
export function trainTeacher(opts: TrainTeacherOptions): Promise<TrainResult> {
  return trainLoop({ ...opts, objective: taskObjective() });
}

/** Options of {@link trainStudent}. */
export interface TrainStudentOptions extends CommonTrainOptions {
  /** The student: an {@link OpticalStudent} or any logits-out LayersModel. */
  student: OpticalStudent | LayersModel;
  /** "none" (cross-entropy only), "kd" or "ntkd". */
  method: "none" | "kd" | "ntkd";
  /** The trained teacher; required for "kd" and "ntkd". */
  teacher?: LayersModel;
  /**
   * Which part of an OpticalStudent to train (default "all"). "backend" freezes the optics, as
   * the fabrication stage does; the NTK is then taken over the backend's weights only.
   */
  part?: StudentPart;
  /** KD settings (method "kd"): temperature (default 4) and α (default 0.5). */
  kd?: { temperature?: number; alpha?: number };
  /**
   * NTKD settings (method "ntkd"); see `ntkdObjective` and `NtkMatchOptions` for defaults. The
   * teacher's sketch is precomputed once for `train` by default (`teacherCache: "dataset"`).
   */
  ntkd?: NtkMatchOptions & { alpha?: number; beta?: number | "auto"; betaScale?: number; autoBetaBatches?: number; betaBalance?: "gradient" | "loss" };
}

/** Trains an optical student with no transfer, KD, or NTKD. */
export async function trainStudent(opts: TrainStudentOptions): Promise<TrainResult> {
  const { student, method, teacher, part, kd, ntkd, ...common } = opts;
  const model = student instanceof OpticalStudent ? student.model : student;
  let trainable: LayerVariable[];
  if (student instanceof OpticalStudent) {
    trainable = student.trainableWeights(part ?? "all");
  } else {
    if (part !== undefined && part !== "all") throw new Error(`trainStudent: part "${part}" needs an OpticalStudent; a plain LayersModel trains as a whole`);
    trainable = model.trainableWeights;
  }
  if ((method === "kd" || method === "ntkd") && !teacher) throw new Error(`trainStudent: method "${method}" needs a trained teacher`);
  let objective;
  switch (method) {
    case "none":
      objective = taskObjective();
      break;
    case "kd":
      objective = kdObjective({ teacher: teacher as LayersModel, ...kd });
      break;
    case "ntkd":
      objective = ntkdObjective({ teacher: teacher as LayersModel, ...ntkd });
      break;
    default:
      throw new Error(`trainStudent: method must be "none", "kd" or "ntkd", got ${String(method)}`);
  }
  return trainLoop({ ...common, model, trainable, objective });
}
