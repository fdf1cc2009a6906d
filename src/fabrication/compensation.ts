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
 *
 * Segmentation students (`SegmentationOnn`) go through the same path with one device per optical
 * group: group g is read out with s_g×s_g binning, so its capture is H/s_g × W/s_g; it is packed
 * at full resolution by repeating each binned pixel over its s_g×s_g block, and the fabricated
 * model averages the block back (exactly the binned capture) before the shared decoder. The
 * fine-tuning then runs on the segmentation training entry points (`trainSegmentationStudent`,
 * `evaluateSegmentation`, mIoU).
 */
import type { LayersModel, SymbolicTensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import type { ImageDataset, SegmentationDataset } from "../data/types";
import { sampleFraction } from "../data/splits";
import { OpticalStudent } from "../models/optical-student";
import type { SegmentationOnn } from "../models/segmentation/segmentation-onn";
import { evaluate, type Evaluation } from "../train/metrics";
import { trainStudent, type CommonTrainOptions } from "../train/api";
import type { TrainResult } from "../train/loop";
import {
  evaluateSegmentation, trainSegmentationStudent,
  type SegmentationEvaluation, type SegmentationTrainResult, type TrainSegmentationStudentOptions,
} from "../train/segmentation";
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

/** Where the packed channels of a captured dataset come from. */
export interface PackedLayout {
  height: number;
  width: number;
  /** All packed channels. */
  channels: number;
  /** Channels of the clean image (the first ones). */
  imageChannels: number;
}

/** Captures `ds` through `device` and packs [clean | captured] per pixel. */
export function captureDataset(ds: ImageDataset, device: FabricatedDevice, opts: { noiseSeed?: number; correction?: CaptureCorrection } = {}): CapturedDataset {
  if (device.binning !== 1 || device.sensorPixels(ds.height, ds.width) !== ds.height * ds.width) {
    throw new Error(`captureDataset: the device's sensor images are smaller than the ${ds.height}x${ds.width} inputs ("valid" padding or binning); packing needs "same" and no binning`);
  }
  let captured = device.capture(ds, { noiseSeed: opts.noiseSeed });
  const k = device.sensorChannels;
  if (opts.correction?.scale !== undefined) captured = captured.map((v) => v * (opts.correction!.scale as number));
  if (opts.correction?.transform) captured = opts.correction.transform(captured, ds.count, ds.height, ds.width, k);
  const c = ds.channels;
  const packed = packCaptures(ds, [{ data: captured, binning: 1, channels: k }]);
  return { ...ds, name: `${ds.name}-captured`, images: packed, channels: c + k, imageChannels: c, sensorChannels: k };
}

/** One sensor capture to pack: `channels` values per sensor pixel, the sensor binned by `binning`. */
interface PackableCapture {
  data: Float32Array;
  binning: number;
  channels: number;
}

/**
 * Packs [clean | capture 0 | capture 1 | …] per full-resolution pixel of `ds`, each binned
 * capture's pixel repeated over its binning × binning block (binning 1: pixel for pixel).
 */
function packCaptures(ds: { count: number; height: number; width: number; channels: number; images: Float32Array }, captures: PackableCapture[]): Float32Array {
  const { count, height: h, width: w, channels: c } = ds;
  const total = c + captures.reduce((a, k) => a + k.channels, 0);
  const packed = new Float32Array(count * h * w * total);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const p = (n * h + i) * w + j;
        for (let ch = 0; ch < c; ch++) packed[p * total + ch] = ds.images[p * c + ch];
        let offset = c;
        for (const k of captures) {
          const bh = h / k.binning;
          const bw = w / k.binning;
          const q = ((n * bh + Math.floor(i / k.binning)) * bw + Math.floor(j / k.binning)) * k.channels;
          for (let ch = 0; ch < k.channels; ch++) packed[p * total + offset + ch] = k.data[q + ch];
          offset += k.channels;
        }
      }
    }
  }
  return packed;
}

/** A captured segmentation dataset: clean images, one capture per optical group, and the masks. */
export interface CapturedSegmentationDataset extends SegmentationDataset, PackedLayout {
  /** Sensor channels of each group's capture, finest group first (packed after the clean image, in this order). */
  groupChannels: number[];
  /** Binning of each group's capture (its pixels repeat over binning × binning blocks). */
  groupBinning: number[];
}

/**
 * Captures a segmentation dataset through one device per optical group (`devices[g]` reads group
 * g, binning s_g) and packs [clean | group 0 | group 1 | …] per full-resolution pixel, each
 * binned capture repeated over its s_g×s_g block. `noiseSeed` seeds the sensor noise (each group
 * gets its own stream).
 */
export function captureSegmentationDataset(ds: SegmentationDataset, devices: FabricatedDevice[], opts: { noiseSeed?: number } = {}): CapturedSegmentationDataset {
  if (!Array.isArray(devices) || devices.length === 0) throw new Error("captureSegmentationDataset: devices must be a non-empty list, one device per optical group");
  const { height: h, width: w, channels: c } = ds;
  const captures = devices.map((device, g) => {
    const s = device.binning;
    if (h % s !== 0 || w % s !== 0 || device.sensorPixels(h, w) !== (h / s) * (w / s)) {
      throw new Error(`captureSegmentationDataset: device ${g} (binning ${s}) cannot read ${h}x${w} images into a packed capture; it needs "same" padding and sides divisible by ${s}`);
    }
    const data = device.capture(ds, { noiseSeed: (opts.noiseSeed ?? device.errors.seed) * 31 + g });
    return { data, binning: s, channels: device.sensorChannels };
  });
  const total = c + captures.reduce((a, k) => a + k.channels, 0);
  const packed = packCaptures(ds, captures);
  return {
    ...ds, name: `${ds.name}-captured`, images: packed, channels: total, imageChannels: c,
    groupChannels: captures.map((k) => k.channels), groupBinning: captures.map((k) => k.binning),
  };
}

/**
 * The fabricated segmentation system: each group's packed capture, averaged back over its
 * binning blocks, -> the ONN's decoder (weights shared) -> mask logits.
 */
export function fabricatedSegmentationModel(onn: SegmentationOnn, data: CapturedSegmentationDataset): LayersModel {
  if (data.groupChannels.length !== onn.groups.length) {
    throw new Error(`fabricatedSegmentationModel: the capture holds ${data.groupChannels.length} groups, the ONN has ${onn.groups.length}`);
  }
  onn.groups.forEach((g, i) => {
    if (g.outputChannels !== data.groupChannels[i] || onn.scales[i] !== data.groupBinning[i]) {
      throw new Error(`fabricatedSegmentationModel: group ${i} outputs ${g.outputChannels} channels at binning ${onn.scales[i]}, the capture holds ${data.groupChannels[i]} at binning ${data.groupBinning[i]}`);
    }
  });
  const input = tf.input({ shape: [data.height, data.width, data.channels] });
  let start = data.imageChannels;
  const maps = data.groupChannels.map((size, g) => {
    let m = new ChannelSlice({ start, size }).apply(input) as SymbolicTensor;
    start += size;
    const s = data.groupBinning[g];
    if (s > 1) m = tf.layers.averagePooling2d({ poolSize: s, strides: s, padding: "valid" }).apply(m) as SymbolicTensor;
    return m;
  });
  const view = tf.model({ inputs: input, outputs: onn.backend.apply(maps) as SymbolicTensor, name: "fabricated_segmentation_onn" });
  uncountViewUse(onn.backend);
  return view;
}

/** The fabricated student: captured channels -> the student's backend (weights shared). */
export function fabricatedStudentModel(student: OpticalStudent, data: CapturedDataset): LayersModel {
  const input = tf.input({ shape: [data.height, data.width, data.channels] });
  const sensed = new ChannelSlice({ start: data.imageChannels, size: data.sensorChannels }).apply(input) as SymbolicTensor;
  const view = tf.model({ inputs: input, outputs: student.backend.apply(sensed) as SymbolicTensor, name: "fabricated_student" });
  uncountViewUse(student.backend);
  return view;
}

/** The teacher as seen through a packed input: clean channels -> teacher (weights shared). */
export function cleanTeacherModel(teacher: LayersModel, data: PackedLayout): LayersModel {
  const input = tf.input({ shape: [data.height, data.width, data.channels] });
  const clean = new ChannelSlice({ start: 0, size: data.imageChannels }).apply(input) as SymbolicTensor;
  const view = tf.model({ inputs: input, outputs: teacher.apply(clean) as SymbolicTensor, name: "clean_teacher" });
  uncountViewUse(teacher);
  return view;
}

/** A copy of the backend's weights, to run several compensation methods from the same start. */
export function snapshotBackend(student: { backend: LayersModel }): Float32Array[] {
  return student.backend.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
}

/** Restores {@link snapshotBackend}'s copy. */
export function restoreBackend(student: { backend: LayersModel }, saved: Float32Array[]): void {
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

/** Options of {@link compensate} for a segmentation student. */
export interface SegmentationCompensationOptions {
  /** The segmentation ONN; its decoder is fine-tuned in place (snapshot it with `snapshotBackend` to keep it). */
  student: SegmentationOnn;
  /** The trained segmentation teacher (needed for "ntkd"). */
  teacher?: LayersModel;
  /** Captured training data (`captureSegmentationDataset`), the pool the fine-tuning share is drawn from. */
  train: CapturedSegmentationDataset;
  /** Captured test data the result is measured on. */
  test: CapturedSegmentationDataset;
  /** "none" measures only; "e2e" fine-tunes with the task loss; "ntkd" with NTKD over output pixels. */
  method: CompensationMethod;
  /** Share of `train` used for fine-tuning (default 0.1). */
  fraction?: number;
  /** Fine-tuning epochs (required unless method is "none"). */
  epochs?: number;
  /** Minibatch size of the fine-tuning (the segmentation loop's default otherwise). */
  batchSize?: number;
  /** Learning rate of the fine-tuning (the segmentation loop's default otherwise). */
  learningRate?: number;
  /** Seed of the share and of the loop (default 0). */
  seed?: number;
  /** NTKD settings (method "ntkd"). */
  ntkd?: TrainSegmentationStudentOptions["ntkd"];
}

/** Result of {@link compensate} for a segmentation student. */
export interface SegmentationCompensationResult {
  method: CompensationMethod;
  /** mIoU, Dice and BCE of the fabricated system on the captured test set after compensation. */
  evaluation: SegmentationEvaluation;
  /** Fine-tuning history (absent for "none"). */
  training?: SegmentationTrainResult;
  /** Captured images used for fine-tuning. */
  fineTuneCount: number;
}

/**
 * Uncounts the symbolic use of `model` inside a weight-sharing view just built on it. Why: tfjs
 * raises a model's reference count at every symbolic apply and frees its weights only when
 * dispose() brings the count to zero, so a view would keep the student's backend and the
 * teacher alive after their owners dispose them; disposing the view instead is no cure, as
 * tfjs's Container.dispose() decrements a nested model twice (as a layer and as an internal
 * container) and would free the shared weights while their owner still uses them. Views are
 * therefore never disposed (they own no weights) and their use is uncounted here.
 */
function uncountViewUse(model: LayersModel): void {
  const counted = model as unknown as { _refCount: number | null };
  if (typeof counted._refCount === "number" && counted._refCount > 1) counted._refCount -= 1;
}

function checkCompensation(method: CompensationMethod, fraction: number, teacher: LayersModel | undefined, epochs: number | undefined): void {
  if (method !== "none" && method !== "e2e" && method !== "ntkd") throw new Error(`compensate: method must be "none", "e2e" or "ntkd", got ${String(method)}`);
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`compensate: fraction must be in (0, 1], got ${fraction}`);
  if (method === "ntkd" && !teacher) throw new Error(`compensate: method "ntkd" needs the trained teacher`);
  if (method !== "none" && !(Number.isInteger(epochs) && (epochs as number) >= 1)) {
    throw new Error(`compensate: method "${method}" needs epochs, an integer >= 1, got ${String(epochs)}`);
  }
}

async function compensateSegmentation(opts: SegmentationCompensationOptions): Promise<SegmentationCompensationResult> {
  const { student, teacher, train, test, method, fraction = 0.1, epochs, batchSize, learningRate, seed = 0, ntkd } = opts;
  checkCompensation(method, fraction, teacher, epochs);
  const model = fabricatedSegmentationModel(student, train);
  const teacherView = teacher && method !== "none" ? cleanTeacherModel(teacher, train) : undefined;
  let training: SegmentationTrainResult | undefined;
  let fineTuneCount = 0;
  if (method !== "none") {
    const share = fraction === 1 ? train : sampleFraction(train, fraction, seed);
    fineTuneCount = share.count;
    training = await trainSegmentationStudent({
      student: model,
      method: method === "e2e" ? "none" : "ntkd",
      teacher: teacherView,
      train: share,
      epochs: epochs as number,
      seed,
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(learningRate === undefined ? {} : { learningRate }),
      ...(ntkd === undefined ? {} : { ntkd }),
    });
  }
  const evaluation = evaluateSegmentation(model, test);
  return { method, evaluation, training, fineTuneCount };
}

/**
 * Freezes the optics, fine-tunes only the backend on captured data, and measures the result:
 * accuracy for an OpticalStudent, mIoU for a SegmentationOnn (see the module comment).
 */
export async function compensate(opts: CompensationOptions): Promise<CompensationResult>;
export async function compensate(opts: SegmentationCompensationOptions): Promise<SegmentationCompensationResult>;
export async function compensate(opts: CompensationOptions | SegmentationCompensationOptions): Promise<CompensationResult | SegmentationCompensationResult> {
  if (!(opts.student instanceof OpticalStudent)) return compensateSegmentation(opts as SegmentationCompensationOptions);
  const { student, teacher, train, test, method, fraction = 0.1, ntkd, ...loop } = opts as CompensationOptions;
  checkCompensation(method, fraction, teacher, loop.epochs);
  const model = fabricatedStudentModel(student, train);
  const teacherView = teacher && method !== "none" ? cleanTeacherModel(teacher, train) : undefined;
  let training: TrainResult | undefined;
  let fineTuneCount = 0;
  if (method !== "none") {
    const share = sampleFraction(train, fraction, loop.seed ?? 0) as CapturedDataset;
    fineTuneCount = share.count;
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
