import type { LayersModel, SymbolicTensor } from "@tensorflow/tfjs";
import { tf } from "../../runtime/tf";
import { seedStream } from "../../runtime/seed";

/** Layer widths of {@link buildLeNet5}; each defaults to LeCun et al. 1998. */
export interface LeNet5Widths {
  /** Filters of the first 5x5 convolution (default 6). */
  conv1?: number;
  /** Filters of the second 5x5 convolution (default 16). */
  conv2?: number;
  /** Units of the first dense layer (default 120). */
  fc1?: number;
  /** Units of the second dense layer (default 84). */
  fc2?: number;
}

/** Options of {@link buildLeNet5}. */
export interface LeNet5Options {
  /** Input image shape [height, width, channels]; MNIST is [28, 28, 1]. At least 12x12 (two pools around a valid 5x5). */
  inputShape: [number, number, number];
  /** Number of output classes (logits). */
  numClasses: number;
  /** Layer widths; defaults are the classic 6-16-120-84. */
  widths?: LeNet5Widths;
  /** Seed of the Glorot-uniform initialisers (one derived seed per layer); default 0. */
  seed?: number;
}

/**
 * The LeNet-5 teacher: conv5x5(6, same)-relu-maxpool2-conv5x5(16, valid)-relu-maxpool2-
 * fc120-relu-fc84-relu-fc(numClasses). Outputs logits (no softmax) so that distillation can
 * apply its own temperature. ReLU and max-pooling replace the 1998 tanh and subsampling, as in
 * every modern LeNet-5 (and the paper's 99.1 % MNIST teacher).
 */
export function buildLeNet5(opts: LeNet5Options): LayersModel {
  const { inputShape, numClasses } = opts;
  if (!Array.isArray(inputShape) || inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`buildLeNet5: inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  if (inputShape[0] < 12 || inputShape[1] < 12) {
    throw new Error(`buildLeNet5: inputShape must be at least 12x12 (pool, valid 5x5 conv, pool), got ${JSON.stringify(inputShape)}`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`buildLeNet5: numClasses must be an integer >= 2, got ${numClasses}`);
  const widths = { conv1: 6, conv2: 16, fc1: 120, fc2: 84, ...opts.widths };
  for (const [name, value] of Object.entries(widths)) {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`buildLeNet5: widths.${name} must be a positive integer, got ${String(value)}`);
  }
  const seeds = seedStream(opts.seed ?? 0);
  const init = () => tf.initializers.glorotUniform({ seed: seeds.next() });

  const input = tf.input({ shape: inputShape });
  const layers = [
    tf.layers.conv2d({ filters: widths.conv1, kernelSize: 5, padding: "same", activation: "relu", kernelInitializer: init(), name: "conv1" }),
    tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: "pool1" }),
    tf.layers.conv2d({ filters: widths.conv2, kernelSize: 5, padding: "valid", activation: "relu", kernelInitializer: init(), name: "conv2" }),
    tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: "pool2" }),
    tf.layers.flatten({ name: "flatten" }),
    tf.layers.dense({ units: widths.fc1, activation: "relu", kernelInitializer: init(), name: "fc1" }),
    tf.layers.dense({ units: widths.fc2, activation: "relu", kernelInitializer: init(), name: "fc2" }),
    tf.layers.dense({ units: numClasses, kernelInitializer: init(), name: "logits" }),
  ];
  let h: SymbolicTensor = input;
  for (const layer of layers) h = layer.apply(h) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: h, name: "lenet5" });
}
