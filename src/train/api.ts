/**
 * One function per method, for notebooks and the CLI: {@link trainTeacher} and
 * {@link trainStudent} (no transfer, KD, NTKD, or the relational baselines SP and RKD). Both
 * wrap {@link trainLoop}.
 */
import type { LayersModel, LayerVariable, Tensor4D } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import { OpticalStudent, type StudentPart } from "../models/optical-student";
import type { NtkMatchOptions } from "../distill/ntkd";
import { trainLoop, type TrainLoopOptions, type TrainResult } from "./loop";
import { kdObjective, kernelGramObjective, ntkdObjective, relationalObjective, taskObjective } from "./objectives";
import { psfToConv2dKernel } from "../optics/psf";
import type { RelationalKdLossOptions } from "../distill/relational";
import { featureForward } from "./features";

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

/** How a student learns from the teacher (or, "none", without one). */
export type TransferMethod = "none" | "kd" | "ntkd" | "kd+ntkd" | "sp" | "rkd" | "gram";

/** Every {@link TransferMethod}. */
export const TRANSFER_METHODS: readonly TransferMethod[] = ["none", "kd", "ntkd", "kd+ntkd", "sp", "rkd", "gram"];

/** Options of {@link trainStudent}. */
export interface TrainStudentOptions extends CommonTrainOptions {
  /** The student: an {@link OpticalStudent} or any logits-out LayersModel. */
  student: OpticalStudent | LayersModel;
  /**
   * "none" (cross-entropy only), "kd", "ntkd", "kd+ntkd" (NTKD's kernel term beside KD's loss
   * instead of the task loss), or a baseline that matches the batch's relations between last
   * hidden features: "sp" (similarity-preserving KD) or "rkd" (relational KD), or "gram"
   * (encoder Gram KD: the optical kernels' Gram matrix matched to the teacher's first convolution's).
   */
  method: TransferMethod;
  /** The trained teacher; required for every method but "none". */
  teacher?: LayersModel;
  /**
   * Which part of an OpticalStudent to train (default "all"). "backend" freezes the optics, as
   * the fabrication stage does; the NTK is then taken over the backend's weights only.
   */
  part?: StudentPart;
  /** KD settings (methods "kd" and "kd+ntkd"): temperature (default 4) and α (default 0.5). */
  kd?: { temperature?: number; alpha?: number };
  /**
   * NTKD settings (methods "ntkd" and "kd+ntkd"); see `ntkdObjective` and `NtkMatchOptions` for
   * defaults. The teacher's sketch is precomputed once for `train` by default (`teacherCache: "dataset"`).
   */
  ntkd?: NtkMatchOptions & { alpha?: number; beta?: number | "auto"; betaScale?: number; autoBetaBatches?: number; betaBalance?: "gradient" | "loss" };
  /** Similarity-preserving KD settings (method "sp"): the weight γ of its term (default 3000). */
  sp?: { weight?: number };
  /** Relational KD settings (method "rkd"): the term's weight γ (default 1), λ_D (25) and λ_A (50). */
  rkd?: RelationalKdLossOptions & { weight?: number };
  /** Encoder Gram KD settings (method "gram"): the term's weight γ (default 1). Needs a PSF optical layer. */
  gram?: { weight?: number };
}

/** Trains an optical student with no transfer, KD, NTKD, KD + NTKD, SP or RKD. */
export async function trainStudent(opts: TrainStudentOptions): Promise<TrainResult> {
  const { student, method, teacher, part, kd, ntkd, sp, rkd, gram, ...common } = opts;
  const model = student instanceof OpticalStudent ? student.model : student;
  let trainable: LayerVariable[];
  if (student instanceof OpticalStudent) {
    trainable = student.trainableWeights(part ?? "all");
  } else {
    if (part !== undefined && part !== "all") throw new Error(`trainStudent: part "${part}" needs an OpticalStudent; a plain LayersModel trains as a whole`);
    trainable = model.trainableWeights;
  }
  if (method !== "none" && TRANSFER_METHODS.includes(method) && !teacher) throw new Error(`trainStudent: method "${method}" needs a trained teacher`);
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
    case "kd+ntkd":
      objective = ntkdObjective({ teacher: teacher as LayersModel, ...ntkd, kd: kd ?? {} });
      break;
    case "sp":
    case "rkd":
      objective = relationalObjective({ method, teacher: teacher as LayersModel, student: featureForward(student, "trainStudent"), ...(method === "sp" ? sp : rkd) });
      break;
    case "gram": {
      const frontend = student instanceof OpticalStudent ? (student.frontend as unknown as { effectiveKernels?: () => Tensor4D }) : null;
      if (!frontend || typeof frontend.effectiveKernels !== "function") {
        throw new Error(`trainStudent: method "gram" needs an OpticalStudent whose optical layer has PSF kernels (effectiveKernels), e.g. the "psf" frontend`);
      }
      const kernels = frontend.effectiveKernels.bind(frontend);
      objective = kernelGramObjective({ teacher: teacher as LayersModel, studentKernels: () => tf.tidy(() => psfToConv2dKernel(kernels())), ...gram });
      break;
    }
    default:
      throw new Error(`trainStudent: method must be one of ${TRANSFER_METHODS.map((m) => `"${m}"`).join(", ")}, got ${String(method)}`);
  }
  return trainLoop({ ...common, model, trainable, objective });
}
