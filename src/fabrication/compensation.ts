/**
 * Post-fabrication error compensation (paper §3.3): the fabricated optics are frozen and only
 * the digital backend is fine-tuned, on a small share of captured data, either with the task
 * loss alone ("end-to-end") or with NTKD, where the teacher sees the clean images and the
 * student sees what the fabricated frontend captured.
 *
 * How the pairing works: each clean image and its capture are packed into one input of
 * C + K channels; a teacher view slices the clean channels, the student view slices the
 * captured ones and runs the (shared) backend. The standard training loop and objectives then
 * apply unchanged, and the student's NTK is taken over the backend's weights only (digest §4.5).
 */
import type { LayersModel, SymbolicTensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import type { ImageDataset } from "../data/types";
import { sampleFraction } from "../data/splits";
import type { OpticalStudent } from "../models/optical-student";
import { evaluate, type Evaluation } from "../train/metrics";
import { trainStudent, type CommonTrainOptions } from "../train/api";
import type { TrainResult } from "../train/loop";
import type { NtkMatchOptions } from "../distill/ntkd";
import { ChannelSlice } from "./channel-slice";
import type { FabricatedDevice } from "./device";

/** A captured dataset: clean images and their sensor images, packed channel-wise. */
export interface CapturedDataset extends ImageDataset {
  /** Channels of the clean image (the first ones). */
  imageChannels: number;
  /** Channels of the capture (the rest): one per optical kernel. */
  sensorChannels: number;
}

/** Optional correction applied to captures before the backend (see `calibrate`). */
export interface CaptureCorrection {
  /** Multiply captures by this (e.g. 1 / estimated gain). */
  scale?: number;
  /** Applied to the captures after scaling, e.g. the inverse misalignment. */
  transform?: (captured: Float32Array, count: number, height: number, width: number, channels: number) => Float32Array;
}

/** Captures `ds` through `device` and packs [clean | captured] per pixel. */
export function captureDataset(ds: ImageDataset, device: FabricatedDevice, opts: { noiseSeed?: number; correction?: CaptureCorrection } = {}): CapturedDataset {
  if (device.sensorPixels(ds.height, ds.width) !== ds.height * ds.width) {
    throw new Error(`captureDataset: the device's sensor images are smaller than the ${ds.height}x${ds.width} inputs ("valid" padding); packing needs "same"`);
  }
  let captured = device.capture(ds, { noiseSeed: opts.noiseSeed });
  const k = device.sensorChannels;
  if (opts.correction?.scale !== undefined) captured = captured.map((v) => v * (opts.correction!.scale as number));
  if (opts.correction?.transform) captured = opts.correction.transform(captured, ds.count, ds.height, ds.width, k);
  const c = ds.channels;
  const pixels = ds.count * ds.height * ds.width;
  const packed = new Float32Array(pixels * (c + k));
  for (let p = 0; p < pixels; p++) {
    for (let j = 0; j < c; j++) packed[p * (c + k) + j] = ds.images[p * c + j];
    for (let j = 0; j < k; j++) packed[p * (c + k) + c + j] = captured[p * k + j];
  }
  return { ...ds, name: `${ds.name}-captured`, images: packed, channels: c + k, imageChannels: c, sensorChannels: k };
}

/** The fabricated student: captured channels -> the student's backend (weights shared). */
export function fabricatedStudentModel(student: OpticalStudent, data: CapturedDataset): LayersModel {
  const input = tf.input({ shape: [data.height, data.width, data.channels] });
  const sensed = new ChannelSlice({ start: data.imageChannels, size: data.sensorChannels }).apply(input) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: student.backend.apply(sensed) as SymbolicTensor, name: "fabricated_student" });
}

/** The teacher as seen through a packed input: clean channels -> teacher (weights shared). */
export function cleanTeacherModel(teacher: LayersModel, data: CapturedDataset): LayersModel {
  const input = tf.input({ shape: [data.height, data.width, data.channels] });
  const clean = new ChannelSlice({ start: 0, size: data.imageChannels }).apply(input) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: teacher.apply(clean) as SymbolicTensor, name: "clean_teacher" });
}

/** A copy of the backend's weights, to run several compensation methods from the same start. */
export function snapshotBackend(student: OpticalStudent): Float32Array[] {
  return student.backend.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
}

/** Restores {@link snapshotBackend}'s copy. */
export function restoreBackend(student: OpticalStudent, saved: Float32Array[]): void {
  const ws = student.backend.weights;
  if (saved.length !== ws.length) throw new Error(`restoreBackend: ${saved.length} saved tensors for ${ws.length} backend weights`);
  ws.forEach((w, i) => {
    const t = tf.tensor(saved[i], w.shape as number[]);
    w.write(t);
    t.dispose();
  });
}

/** Compensation methods: the paper's two, plus "none" (the uncompensated baseline). */
export type CompensationMethod = "none" | "e2e" | "ntkd";

/** Options of {@link compensate}. */
export interface CompensationOptions extends Omit<CommonTrainOptions, "train" | "validation" | "epochs"> {
  /** Fine-tuning epochs (required unless method is "none"). */
  epochs?: number;
  /** The NTKD-trained student; its backend is fine-tuned in place (clone it first to keep it). */
  student: OpticalStudent;
  /** The trained teacher (needed for "ntkd"). */
  teacher?: LayersModel;
  /** Captured training data (the pool the fine-tuning share is drawn from). */
  train: CapturedDataset;
  /** Captured test data the result is measured on. */
  test: CapturedDataset;
  /** "none" measures only; "e2e" fine-tunes with cross-entropy; "ntkd" with NTKD. */
  method: CompensationMethod;
  /** Share of `train` used for fine-tuning, stratified by class (default 0.1, the paper's "e.g. 10%"). */
  fraction?: number;
  /** NTKD settings (method "ntkd"). */
  ntkd?: NtkMatchOptions & { alpha?: number; beta?: number | "auto"; betaScale?: number; autoBetaBatches?: number };
}

/** Result of {@link compensate}. */
export interface CompensationResult {
  method: CompensationMethod;
  /** Accuracy and confusion of the fabricated system on the captured test set after compensation. */
  evaluation: Evaluation;
  /** Fine-tuning history (absent for "none"). */
  training?: TrainResult;
  /** Captured images used for fine-tuning. */
  fineTuneCount: number;
}

/** Freezes the optics, fine-tunes only the backend on captured data, and measures the result. */
export async function compensate(opts: CompensationOptions): Promise<CompensationResult> {
  const { student, teacher, train, test, method, fraction = 0.1, ntkd, ...loop } = opts;
  if (method !== "none" && method !== "e2e" && method !== "ntkd") throw new Error(`compensate: method must be "none", "e2e" or "ntkd", got ${String(method)}`);
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`compensate: fraction must be in (0, 1], got ${fraction}`);
  if (method === "ntkd" && !teacher) throw new Error(`compensate: method "ntkd" needs the trained teacher`);
  if (method !== "none" && !(Number.isInteger(loop.epochs) && (loop.epochs as number) >= 1)) {
    throw new Error(`compensate: method "${method}" needs epochs, an integer >= 1, got ${String(loop.epochs)}`);
  }
  const model = fabricatedStudentModel(student, train);
  let training: TrainResult | undefined;
  let fineTuneCount = 0;
  if (method !== "none") {
    const share = sampleFraction(train, fraction, loop.seed ?? 0) as CapturedDataset;
    fineTuneCount = share.count;
    const teacherView = teacher ? cleanTeacherModel(teacher, train) : undefined;
    training = await trainStudent({
      ...loop,
      epochs: loop.epochs as number,
      student: model,
      method: method === "e2e" ? "none" : "ntkd",
      teacher: teacherView,
      train: share,
      ntkd,
    });
  }
  const evaluation = evaluate(model, test);
  return { method, evaluation, training, fineTuneCount };
}
