/**
 * The U-Net teacher of the segmentation stage (paper Table 2: "U-Net", 95.4 mIoU on Carvana).
 * The paper gives neither depth nor width (digest §7.3), so both are options.
 *
 * Layout (Ronneberger et al. 2015, "same" padding so the mask has the image's size):
 * - encoder level l (l = 0..depth−1): two 3×3 conv (+ batch norm) + ReLU blocks with
 *   baseFilters·2^l channels, then a 2×2 max-pool;
 * - bottleneck: two blocks with baseFilters·2^depth channels;
 * - decoder level l (l = depth−1..0): 2× up-sampling ("transpose": a learned 2×2 stride-2
 *   transposed convolution; "upsample": nearest-neighbour up-sampling then a 3×3 conv), skip
 *   concatenation with the encoder level's output, two blocks;
 * - a 1×1 convolution to one channel: mask logits [n, H, W, 1] (sigmoid > 0.5 = object).
 *
 * Every op has a wasm kernel with a gradient: Conv2D, Conv2DBackpropInput (the transposed conv,
 * replaced by our faster kernel in runtime/wasm-kernels), Conv2DBackpropFilter (ours), MaxPool,
 * MaxPoolGrad (ours), Relu, Concat/Slice, ResizeNearestNeighbor(Grad), and the elementwise
 * ops of batch normalisation. test/models/segmentation/unet.test.ts checks the forward pass and
 * the gradients on wasm against the cpu backend.
 */
import type { LayersModel, SymbolicTensor } from "@tensorflow/tfjs";
import { tf } from "../../runtime/tf";

/** Options of {@link buildUNet}. */
export interface UNetOptions {
  /** Input image shape [height, width, channels]; height and width divisible by 2^depth. */
  inputShape: [number, number, number];
  /** Number of 2×2 down-sampling steps (default 3). */
  depth?: number;
  /** Channels of the first level; level l has baseFilters·2^l (default 16). */
  baseFilters?: number;
  /**
   * Batch normalisation after each convolution (default false). Off by default because a
   * batch-norm layer updates its moving statistics whenever it runs in training mode, and the
   * NTK sketch runs the network several times per batch with perturbed weights.
   */
  batchNorm?: boolean;
  /** How the decoder up-samples: "transpose" (default) or "upsample" (see the module comment). */
  upMode?: "transpose" | "upsample";
  /** Seed of the He-normal initialisers (one derived seed per layer; default 0). */
  seed?: number;
  /** Model name (default "unet"). */
  name?: string;
}

function checkPositiveInteger(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw new Error(`buildUNet: ${what} must be a positive integer, got ${String(value)}`);
  return value;
}

/** Builds the U-Net teacher: image [H, W, C] -> mask logits [H, W, 1]. */
export function buildUNet(opts: UNetOptions): LayersModel {
  const { inputShape } = opts;
  if (!Array.isArray(inputShape) || inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`buildUNet: inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  const depth = checkPositiveInteger(opts.depth ?? 3, "depth");
  const baseFilters = checkPositiveInteger(opts.baseFilters ?? 16, "baseFilters");
  const batchNorm = opts.batchNorm ?? false;
  const upMode = opts.upMode ?? "transpose";
  if (upMode !== "transpose" && upMode !== "upsample") throw new Error(`buildUNet: upMode must be "transpose" or "upsample", got ${JSON.stringify(upMode)}`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`buildUNet: seed must be an integer, got ${String(seed)}`);
  const factor = 2 ** depth;
  if (inputShape[0] % factor !== 0 || inputShape[1] % factor !== 0) {
    throw new Error(`buildUNet: height and width must be divisible by 2^depth = ${factor} (depth ${depth}), got ${inputShape[0]}x${inputShape[1]}`);
  }
  const name = opts.name ?? "unet";

  let layerIndex = 0;
  const init = () => tf.initializers.heNormal({ seed: seed + 1009 * ++layerIndex });
  const block = (h: SymbolicTensor, filters: number, tag: string): SymbolicTensor => {
    for (const k of [1, 2]) {
      h = tf.layers
        .conv2d({ filters, kernelSize: 3, padding: "same", useBias: !batchNorm, kernelInitializer: init(), name: `${name}_${tag}_conv${k}` })
        .apply(h) as SymbolicTensor;
      if (batchNorm) h = tf.layers.batchNormalization({ name: `${name}_${tag}_bn${k}` }).apply(h) as SymbolicTensor;
      h = tf.layers.reLU({ name: `${name}_${tag}_relu${k}` }).apply(h) as SymbolicTensor;
    }
    return h;
  };

  const input = tf.input({ shape: inputShape, name: `${name}_image` });
  const skips: SymbolicTensor[] = [];
  let h: SymbolicTensor = input;
  for (let l = 0; l < depth; l++) {
    h = block(h, baseFilters * 2 ** l, `down${l}`);
    skips.push(h);
    h = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `${name}_down${l}_pool` }).apply(h) as SymbolicTensor;
  }
  h = block(h, baseFilters * 2 ** depth, "bottleneck");
  for (let l = depth - 1; l >= 0; l--) {
    const filters = baseFilters * 2 ** l;
    if (upMode === "transpose") {
      h = tf.layers
        .conv2dTranspose({ filters, kernelSize: 2, strides: 2, padding: "same", kernelInitializer: init(), name: `${name}_up${l}_transpose` })
        .apply(h) as SymbolicTensor;
    } else {
      h = tf.layers.upSampling2d({ size: [2, 2], name: `${name}_up${l}_upsample` }).apply(h) as SymbolicTensor;
      h = tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", kernelInitializer: init(), name: `${name}_up${l}_conv` }).apply(h) as SymbolicTensor;
    }
    h = tf.layers.concatenate({ axis: -1, name: `${name}_up${l}_skip` }).apply([h, skips[l]]) as SymbolicTensor;
    h = block(h, filters, `up${l}`);
  }
  const logits = tf.layers
    .conv2d({ filters: 1, kernelSize: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1009 * ++layerIndex }), name: `${name}_logits` })
    .apply(h) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name });
}
