/**
 * The paper's segmentation ONN ("Customized Polychromatic Meta ONN", digest §2.3): one optical
 * frontend of 56 kernels 3×3 "in groups of 8, 16 and 32 to capture hierarchical depth
 * representations", followed by up-convolution layers that output the mask.
 *
 * Our reading of the grouping (digest §10.6; the paper gives no more): the three groups play
 * the first three levels of a U-Net encoder, whose widths grow (8, 16, 32) as the resolution
 * falls. Group g (scale s_g = 1, 2, 4 by default) is a 3×3 PSF defined on a grid of s_g×s_g
 * sensor pixels, read out with s_g×s_g pixel binning. Binning the scene and convolving with the
 * 3×3 kernel equals, exactly, correlating the full-resolution scene with the block-constant
 * 3s_g×3s_g PSF and sampling every s_g pixels, so each group is still one linear, non-negative
 * optical convolution: the receptive fields are 3, 6 and 12 pixels, the sensor maps are
 * H×W, H/2×W/2 and H/4×W/4. Kernels are polychromatic: with a colour sensor ("depthwise", the
 * default, as in the paper's colour-camera setup) each kernel gives one map per colour.
 *
 * The digital backend is an up-convolutional decoder (the paper gives no sizes): the sensor
 * maps centred (`sensorNormalization`), on the coarsest map `bottleneckConvs` 3×3 conv + ReLU
 * blocks, then per level a 2×2 stride-2 transposed convolution + ReLU, concatenation with the
 * next finer sensor map, `decoderConvs` 3×3 conv + ReLU blocks; then a 1×1 conv to one channel
 * of mask logits. The first layout (no bottleneck, raw sensor values,
 * {@link FIRST_SEGMENTATION_DECODER}) stayed near the all-background score on generated cars.
 *
 * Frontend and backend are separate (image -> three sensor maps; maps -> logits), so the
 * fabrication stage can freeze or replace the optics and fine-tune the backend alone. The
 * frontend is a {@link SegmentationFrontend}: the groups' layers behind one OpticalFrontend,
 * whose kernels are every group's PSF on the full-resolution sensor (see `dilateKernels`).
 */
import type { LayersModel, LayerVariable, SymbolicTensor, Tensor } from "@tensorflow/tfjs";
import { tf } from "../../runtime/tf";
import { stackCharts } from "../../optics/draw";
import type { VegaLiteSpec } from "../../viz/types";
import { PsfConvFrontend } from "../frontends/psf-conv";
import { asOpticalFrontend, type OpticalFrontendLayer } from "../frontends/conv2d-adapter";
import {
  dilateKernels, makeOpticalKernels, type ColorMode, type EnergyRule, type OpticalFrontend, type OpticalKernels, type SignedReadout,
} from "../frontends/optical-frontend";
import { partWeights, type FrontendLayer, type StudentPart } from "../optical-student";

/** What a frontend factory receives for one kernel group. */
export interface SegmentationFrontendArgs {
  /** Number of kernels of the group. */
  kernels: number;
  /** Kernel side in (binned) sensor pixels. */
  kernelSize: number;
  /** Colour channels of the image. */
  inputChannels: number;
  /** Seed of the group's initialiser. */
  seed: number;
  /** Layer name. */
  name: string;
  /** Index of the group (0 = finest). */
  group: number;
}

/** Options of {@link buildSegmentationOnn}. */
export interface SegmentationOnnOptions {
  /** Input image shape [H, W, C] (default [64, 64, 3]); H and W divisible by the largest scale. */
  inputShape?: [number, number, number];
  /** Kernels per group (default [8, 16, 32], the paper's 56). */
  groups?: number[];
  /** Binning factor of each group, finest first, each twice the previous (default [1, 2, 4]). */
  scales?: number[];
  /** Kernel side (default 3, the paper's). */
  kernelSize?: number;
  /** "depthwise" (colour sensor: one map per kernel and colour, default) or "sum" (monochrome sensor). */
  colorMode?: "depthwise" | "sum";
  /**
   * Channels of the decoder's up-convolution at each level, coarse to fine (one per group but
   * the coarsest; default [64, 32]).
   */
  decoderWidths?: number[];
  /**
   * 3×3 conv + ReLU blocks on the coarsest sensor map before the first up-sampling, with
   * decoderWidths[0] channels (default 2). The optics are linear, so the decoder's blocks are
   * the network's only non-linear processing; these see the widest context (measured on
   * generated cars: +6 mIoU points over none with BCE + Dice).
   */
  bottleneckConvs?: number;
  /** 3×3 conv + ReLU blocks after each up-sampling and skip concatenation (default 1). */
  decoderConvs?: number;
  /**
   * How the decoder reads the sensor maps: "centered" (default) maps each value v to
   * {@link SENSOR_CENTERING_SCALE}·(v − 0.5), "none" feeds them raw. Unit-energy PSFs give
   * sensor values in [0, 1] around the image's mean and nearly alike across kernels (all are
   * blurs), which the He-initialised decoder learns from slowly; the fixed affine map centres
   * them (measured: +6 mIoU points after 4 epochs on generated cars). It is digital, without
   * weights, and part of the backend, so captures of a fabricated device get it too.
   */
  sensorNormalization?: "centered" | "none";
  /**
   * Builds each group's optical layer (default: a PsfConvFrontend with softplus, unit-energy,
   * non-negative kernels and "same" padding). Lets any frontend type be swapped in.
   */
  frontendFactory?: (args: SegmentationFrontendArgs) => FrontendLayer;
  /** Seed of every initialiser (default 0). */
  seed?: number;
}

/** Gain of the "centered" sensor normalisation: values in [0, 1] become 4·(v − 0.5) ∈ [−2, 2]. */
export const SENSOR_CENTERING_SCALE = 4;

/** The first layout of the decoder (no bottleneck, one block per level, raw sensor values), which barely segmented; kept for comparisons. */
export const FIRST_SEGMENTATION_DECODER: Pick<SegmentationOnnOptions, "bottleneckConvs" | "decoderConvs" | "sensorNormalization"> = {
  bottleneckConvs: 0, decoderConvs: 1, sensorNormalization: "none",
};

function commonValue<T>(values: T[], what: string): T {
  if (values.some((v) => v !== values[0])) throw new Error(`SegmentationFrontend: the groups differ in ${what} (${JSON.stringify(values)}); one frontend needs one`);
  return values[0];
}

/**
 * The segmentation ONN's optics as one {@link OpticalFrontend}: group g's layer reads the scene
 * binned s_g×s_g. Its kernels ({@link opticalKernels}) are every group's PSFs placed on the
 * full-resolution sensor grid: taps s_g pixels apart (`dilateKernels`), centred and zero-padded
 * to the coarsest group's side, concatenated finest group first; `groupOfKernel` says which
 * group each kernel belongs to. A fabricated device models each group separately, at
 * full resolution with s_g×s_g binning after the sensor (see `fabricateSegmentationOnn`).
 */
export class SegmentationFrontend implements OpticalFrontend {
  readonly padding = "same" as const;

  constructor(
    /** The optical layer of each group, finest first. */
    readonly groups: OpticalFrontendLayer[],
    /** Binning factor of each group. */
    readonly scales: number[],
    /** Image -> the groups' sensor maps (finest first), no digital weights. */
    readonly model: LayersModel,
  ) {}

  /** Side of the full-resolution PSFs: s_max·(k − 1) + 1. */
  get kernelSize(): number {
    return Math.max(...this.groups.map((g, i) => this.scales[i] * (g.kernelSize - 1) + 1));
  }

  get inputChannels(): number {
    return commonValue(this.groups.map((g) => g.inputChannels), "inputChannels");
  }

  /** Kernels of all groups together. */
  get kernelCount(): number {
    return this.groups.reduce((s, g) => s + g.kernelCount, 0);
  }

  /** Sensor channels of all groups together (each group at its own resolution). */
  get outputChannels(): number {
    return this.groups.reduce((s, g) => s + g.outputChannels, 0);
  }

  get colorMode(): ColorMode {
    return commonValue(this.groups.map((g) => g.colorMode), "colorMode");
  }

  get signedReadout(): SignedReadout {
    return commonValue(this.groups.map((g) => g.signedReadout), "signedReadout");
  }

  get energyRule(): EnergyRule {
    return commonValue(this.groups.map((g) => g.energyRule), "energyRule");
  }

  /** The group index of each kernel of {@link opticalKernels}. */
  get groupOfKernel(): number[] {
    return this.groups.flatMap((g, i) => Array.from({ length: g.kernelCount }, () => i));
  }

  /** Every group's PSFs on the full-resolution sensor (see the class comment). */
  opticalKernels(): OpticalKernels {
    const size = this.kernelSize;
    const c = this.inputChannels;
    const total = this.kernelCount;
    const perGroup = this.groups.map((g, i) => dilateKernels(g.opticalKernels(), this.scales[i]));
    const coherent = perGroup.some((k) => k.imag !== null);
    const values = new Float32Array(size * size * c * total);
    const imag = coherent ? new Float32Array(values.length) : null;
    let offset = 0;
    for (const k of perGroup) {
      const pad = (size - k.kernelSize) / 2;
      for (let r = 0; r < k.kernelSize; r++) {
        for (let q = 0; q < k.kernelSize; q++) {
          for (let ch = 0; ch < c; ch++) {
            for (let j = 0; j < k.count; j++) {
              const from = ((r * k.kernelSize + q) * c + ch) * k.count + j;
              const to = (((r + pad) * size + q + pad) * c + ch) * total + offset + j;
              values[to] = k.values[from];
              if (imag !== null && k.imag !== null) imag[to] = k.imag[from];
            }
          }
        }
      }
      offset += k.count;
    }
    return makeOpticalKernels(values, [size, size, c, total], this.energyRule, imag);
  }

  /** Each group's chart, finest first, stacked. */
  draw(): VegaLiteSpec {
    return stackCharts(this.groups.map((g) => g.draw()), `segmentation ONN optics: ${this.groups.length} groups, binning ${this.scales.join("/")}`);
  }

  /** The groups' sensor maps for a batch of images (finest first; caller disposes). */
  apply(x: Tensor): Tensor[] {
    const out = this.model.apply(x) as Tensor | Tensor[];
    return Array.isArray(out) ? out : [out];
  }

  /** The optics' weights (trainable ones only while the groups train). */
  get trainableWeights(): LayerVariable[] {
    return this.model.trainableWeights;
  }

  /** All of the optics' weights. */
  get weights(): LayerVariable[] {
    return this.model.weights;
  }
}

/** A segmentation ONN: optical kernel groups (frontend) + up-convolutional decoder (backend). */
export class SegmentationOnn {
  constructor(
    /** The optical layer of each group, finest first (e.g. PsfConvFrontend; its PSFs are the weights). */
    readonly groups: OpticalFrontendLayer[],
    /** Image -> the groups' sensor maps (finest first), no digital weights; one OpticalFrontend. */
    readonly frontend: SegmentationFrontend,
    /** Sensor maps (finest first) -> mask logits [n, H, W, 1]. */
    readonly backend: LayersModel,
    /** Image -> mask logits. */
    readonly model: LayersModel,
    /** Binning factor of each group. */
    readonly scales: number[],
    /** Short architecture name. */
    readonly architecture: string,
  ) {}

  /** Mask logits for a batch of images [n, H, W, C]. */
  apply(x: Tensor, training = false): Tensor {
    return this.model.apply(x, { training }) as Tensor;
  }

  /** The simulated sensor maps of the groups, finest first (caller disposes). */
  sense(x: Tensor): Tensor[] {
    return this.frontend.apply(x);
  }

  /** Trainable weights of one part, frontend first. */
  trainableWeights(part: StudentPart = "all"): LayerVariable[] {
    return partWeights(this.frontend, this.backend, part, "SegmentationOnn");
  }

  /** Stops the optics from training (the fabrication stage). */
  freezeFrontend(): void {
    for (const g of this.groups) g.trainable = false;
  }

  /** Number of scalar parameters of one part. */
  countParams(part: StudentPart = "all"): number {
    const count = (ws: LayerVariable[]): number => ws.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
    if (part === "frontend") return count(this.frontend.weights);
    if (part === "backend") return count(this.backend.weights);
    return count(this.frontend.weights) + count(this.backend.weights);
  }

  /** Frees every weight. */
  dispose(): void {
    this.model.dispose();
  }
}

function positiveIntegers(values: unknown, what: string): number[] {
  if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== "number" || !Number.isInteger(v) || v < 1)) {
    throw new Error(`buildSegmentationOnn: ${what} must be a non-empty list of positive integers, got ${JSON.stringify(values)}`);
  }
  return values as number[];
}

/** Builds the segmentation ONN (see the module comment). */
export function buildSegmentationOnn(opts: SegmentationOnnOptions = {}): SegmentationOnn {
  const inputShape = opts.inputShape ?? [64, 64, 3];
  if (!Array.isArray(inputShape) || inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`buildSegmentationOnn: inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  const groups = positiveIntegers(opts.groups ?? [8, 16, 32], "groups");
  const scales = positiveIntegers(opts.scales ?? [1, 2, 4].slice(0, groups.length), "scales");
  if (scales.length !== groups.length) throw new Error(`buildSegmentationOnn: scales has ${scales.length} entries, groups ${groups.length}; expected one scale per group`);
  if (scales[0] !== 1 || scales.some((s, i) => i > 0 && s !== 2 * scales[i - 1])) {
    throw new Error(`buildSegmentationOnn: scales must start at 1 and double from group to group (the decoder up-samples by 2), got ${JSON.stringify(scales)}`);
  }
  const coarsest = scales[scales.length - 1];
  if (inputShape[0] % coarsest !== 0 || inputShape[1] % coarsest !== 0) {
    throw new Error(`buildSegmentationOnn: image ${inputShape[0]}x${inputShape[1]} is not divisible by the largest scale ${coarsest}`);
  }
  const decoderWidths = opts.decoderWidths ?? Array.from({ length: groups.length - 1 }, (_, i) => Math.max(8, 64 >> i));
  if (decoderWidths.length !== groups.length - 1) {
    throw new Error(`buildSegmentationOnn: decoderWidths needs ${groups.length - 1} entries (one per up-sampling step), got ${JSON.stringify(decoderWidths)}`);
  }
  if (decoderWidths.length > 0) positiveIntegers(decoderWidths, "decoderWidths");
  const bottleneckConvs = opts.bottleneckConvs ?? 2;
  const decoderConvs = opts.decoderConvs ?? 1;
  const sensorNormalization = opts.sensorNormalization ?? "centered";
  if (sensorNormalization !== "centered" && sensorNormalization !== "none") {
    throw new Error(`buildSegmentationOnn: sensorNormalization must be "centered" or "none", got ${JSON.stringify(sensorNormalization)}`);
  }
  for (const [name, v] of [["bottleneckConvs", bottleneckConvs], ["decoderConvs", decoderConvs]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`buildSegmentationOnn: ${name} must be a non-negative integer, got ${String(v)}`);
  }
  const kernelSize = opts.kernelSize ?? 3;
  if (!Number.isInteger(kernelSize) || kernelSize < 1) throw new Error(`buildSegmentationOnn: kernelSize must be a positive integer, got ${kernelSize}`);
  const colorMode = opts.colorMode ?? "depthwise";
  if (colorMode !== "depthwise" && colorMode !== "sum") throw new Error(`buildSegmentationOnn: colorMode must be "depthwise" or "sum", got ${JSON.stringify(colorMode)}`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`buildSegmentationOnn: seed must be an integer, got ${String(seed)}`);
  const factory =
    opts.frontendFactory ??
    ((a: SegmentationFrontendArgs) =>
      new PsfConvFrontend({ kernels: a.kernels, kernelSize: a.kernelSize, inputChannels: a.inputChannels, seed: a.seed, name: a.name, parametrization: "softplus", signed: "none", padding: "same", colorMode }));

  // Frontend: image -> one sensor map per group. Binning is part of the readout (linear, no weights).
  const image = tf.input({ shape: inputShape, name: "seg_onn_image" });
  const groupLayers: OpticalFrontendLayer[] = [];
  const maps: SymbolicTensor[] = groups.map((kernels, g) => {
    let h: SymbolicTensor = image;
    if (scales[g] > 1) h = tf.layers.averagePooling2d({ poolSize: scales[g], strides: scales[g], padding: "valid", name: `seg_onn_binning${g}` }).apply(h) as SymbolicTensor;
    const layer = asOpticalFrontend(factory({ kernels, kernelSize, inputChannels: inputShape[2], seed: seed + 7 * (g + 1), name: `seg_onn_optics${g}`, group: g }), `buildSegmentationOnn group ${g}`);
    groupLayers.push(layer);
    const out = layer.apply(h) as SymbolicTensor;
    const [hh, ww] = [out.shape[1], out.shape[2]];
    if (hh !== inputShape[0] / scales[g] || ww !== inputShape[1] / scales[g]) {
      throw new Error(`buildSegmentationOnn: group ${g}'s frontend must keep the binned size ${inputShape[0] / scales[g]}x${inputShape[1] / scales[g]} ("same" padding), got ${hh}x${ww}`);
    }
    return out;
  });
  const frontendModel = tf.model({ inputs: image, outputs: maps, name: "seg_onn_frontend" });
  const frontend = new SegmentationFrontend(groupLayers, scales.slice(), frontendModel);

  // Backend: up-convolutional decoder over the sensor maps.
  const sensorInputs = maps.map((m, g) => tf.input({ shape: m.shape.slice(1) as number[], name: `seg_onn_sensor${g}` }));
  const normalized = sensorInputs.map((x, g) =>
    sensorNormalization === "none"
      ? x
      : (tf.layers.rescaling({ scale: SENSOR_CENTERING_SCALE, offset: -SENSOR_CENTERING_SCALE / 2, name: `seg_onn_sensor_norm${g}` }).apply(x) as SymbolicTensor),
  );
  let layerIndex = 0;
  const init = () => tf.initializers.heNormal({ seed: seed + 1 + 1009 * ++layerIndex });
  const convs = (x: SymbolicTensor, count: number, filters: number, tag: string): SymbolicTensor => {
    for (let k = 0; k < count; k++) {
      // The first block keeps the old layer name, so weights saved before blocks were counted still map by name.
      const name = k === 0 ? tag : `${tag}_${k}`;
      x = tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: init(), name }).apply(x) as SymbolicTensor;
    }
    return x;
  };
  let h: SymbolicTensor = normalized[groups.length - 1];
  h = convs(h, bottleneckConvs, decoderWidths[0] ?? 8, "seg_onn_bottleneck");
  for (let g = groups.length - 2, step = 0; g >= 0; g--, step++) {
    const width = decoderWidths[step];
    h = tf.layers
      .conv2dTranspose({ filters: width, kernelSize: 2, strides: 2, padding: "same", activation: "relu", kernelInitializer: init(), name: `seg_onn_up${step}` })
      .apply(h) as SymbolicTensor;
    h = tf.layers.concatenate({ axis: -1, name: `seg_onn_skip${step}` }).apply([h, normalized[g]]) as SymbolicTensor;
    h = convs(h, decoderConvs, width, `seg_onn_conv${step}`);
  }
  const logits = tf.layers
    .conv2d({ filters: 1, kernelSize: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 + 1009 * ++layerIndex }), name: "seg_onn_logits" })
    .apply(h) as SymbolicTensor;
  const backend = tf.model({ inputs: sensorInputs, outputs: logits, name: "seg_onn_backend" });

  const full = tf.model({ inputs: image, outputs: backend.apply(frontendModel.apply(image) as SymbolicTensor[]) as SymbolicTensor, name: "segmentation_onn" });
  return new SegmentationOnn(groupLayers, frontend, backend, full, scales.slice(), "segmentation-onn");
}
