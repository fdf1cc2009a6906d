import type { LayersModel, SymbolicTensor } from "@tensorflow/tfjs";
import { tf } from "../../runtime/tf";
import { tfSeed } from "../../runtime/seed";

/** Options of {@link buildAlexNetSmall}. */
export interface AlexNetSmallOptions {
  /** Input image shape [height, width, channels]; CIFAR-10 is [32, 32, 3]. At least 8x8. */
  inputShape: [number, number, number];
  /** Number of output classes (logits). */
  numClasses: number;
  /**
   * Scales every layer width (1 = the reference widths 64-192-384-256-256 convolutions and
   * 1024-512 dense units). 0.25 gives a quick-mode teacher that still beats the students.
   */
  widthMultiplier?: number;
  /** Seed of the Glorot-uniform initialisers (one derived seed per layer). */
  seed?: number;
}

/**
 * An AlexNet-style teacher for small (32x32) images: five 3x3 convolutions in AlexNet's
 * 64-192-384-256-256 width pattern with three 2x2 max-pools, then two hidden dense layers and
 * logits. The paper only says "a modified AlexNet" for CIFAR-10 (digest §7.3); the 11x11
 * stride-4 stem of the ImageNet AlexNet would throw away most of a 32x32 image, so the stem is
 * a 3x3 stride-1 convolution here (the usual CIFAR adaptation). No dropout and no batch
 * normalisation: both would make a resumed run differ from an uninterrupted one (tfjs dropout
 * masks are not seedable per step), and Adam trains this depth without them.
 */
export function buildAlexNetSmall(opts: AlexNetSmallOptions): LayersModel {
  const { inputShape, numClasses } = opts;
  const widthMultiplier = opts.widthMultiplier ?? 1;
  const seed = opts.seed ?? 0;
  if (!Array.isArray(inputShape) || inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`buildAlexNetSmall: inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  if (inputShape[0] < 8 || inputShape[1] < 8) throw new Error(`buildAlexNetSmall: inputShape must be at least 8x8 (three 2x2 pools), got ${JSON.stringify(inputShape)}`);
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`buildAlexNetSmall: numClasses must be an integer >= 2, got ${numClasses}`);
  if (!(widthMultiplier > 0) || !Number.isFinite(widthMultiplier)) {
    throw new Error(`buildAlexNetSmall: widthMultiplier must be a positive number, got ${widthMultiplier}`);
  }
  const w = (n: number) => Math.max(4, Math.round(n * widthMultiplier));
  let layerIndex = 0;
  const init = () => tf.initializers.glorotUniform({ seed: tfSeed(seed + 1009 * ++layerIndex) });
  const conv = (filters: number) =>
    tf.layers.conv2d({ filters: w(filters), kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: init() });
  const pool = () => tf.layers.maxPooling2d({ poolSize: 2, strides: 2 });

  const input = tf.input({ shape: inputShape });
  let h: SymbolicTensor = input;
  for (const layer of [conv(64), pool(), conv(192), pool(), conv(384), conv(256), conv(256), pool(), tf.layers.flatten()]) {
    h = layer.apply(h) as SymbolicTensor;
  }
  h = tf.layers.dense({ units: w(1024), activation: "relu", kernelInitializer: init() }).apply(h) as SymbolicTensor;
  h = tf.layers.dense({ units: w(512), activation: "relu", kernelInitializer: init() }).apply(h) as SymbolicTensor;
  const logits = tf.layers.dense({ units: numClasses, kernelInitializer: init() }).apply(h) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: "alexnet_small" });
}
