import type { LayersModel, SymbolicTensor, Tensor, LayerVariable, layers } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import { tfSeed } from "../runtime/seed";
import { asOpticalFrontend, type OpticalFrontendLayer } from "./frontends/conv2d-adapter";

/**
 * What a student builder accepts as its optics: a frontend layer (any {@link OpticalFrontendLayer}),
 * or a plain `tf.layers.conv2d`, wrapped by `asOpticalFrontend`. Students then hold an
 * {@link OpticalFrontendLayer}: a tfjs layer implementing the OpticalFrontend interface.
 */
export type FrontendLayer = OpticalFrontendLayer | layers.Layer;

/** Which parameters of an optical student an operation concerns. */
export type StudentPart = "all" | "frontend" | "backend";

/**
 * Trainable weights of one part of a hybrid network (optics in front of a digital backend), frontend
 * first; shared by every student kind so that "all" always means the same order.
 */
export function partWeights(frontend: { trainableWeights: LayerVariable[] }, backend: { trainableWeights: LayerVariable[] }, part: StudentPart, owner: string): LayerVariable[] {
  switch (part) {
    case "frontend":
      return frontend.trainableWeights;
    case "backend":
      return backend.trainableWeights;
    case "all":
      return [...frontend.trainableWeights, ...backend.trainableWeights];
    default:
      throw new Error(`${owner}.trainableWeights: part must be "all", "frontend" or "backend", got ${String(part)}`);
  }
}

/**
 * A hybrid optical network: an optical frontend layer (the physics, e.g. a PSF convolution)
 * followed by a digital backend. The two halves are separately addressable because the
 * fabrication stage freezes the frontend, swaps in a fabricated one, and fine-tunes only the
 * backend, and because the 2-D embedding figures read the backend's hidden features.
 *
 * - `model`: the full network, input image -> logits (a `tf.LayersModel`, so everything that
 *   accepts a LayersModel, such as `evaluate` or `trainTeacher`, accepts it too).
 * - `backend`: a `tf.LayersModel` from the frontend's output (sensor image) to logits.
 * - `featureModel`: the backend truncated at its last hidden layer (the embedding).
 */
export class OpticalStudent {
  constructor(
    /** The optical layer (typed {@link OpticalFrontend} & Layer); its weights are the (parametrised) kernels. */
    readonly frontend: OpticalFrontendLayer,
    /** Digital backend, sensor image -> logits. */
    readonly backend: LayersModel,
    /** Full network, image -> logits. */
    readonly model: LayersModel,
    /** Backend input -> last hidden activations. */
    readonly featureModel: LayersModel,
    /** Short architecture name, e.g. "compressed-meta-onn". */
    readonly architecture: string,
  ) {}

  /** Logits for a batch of images (NHWC). */
  apply(x: Tensor, training = false): Tensor {
    return this.model.apply(x, { training }) as Tensor;
  }

  /** The frontend's output (the simulated sensor image) for a batch of images. */
  sense(x: Tensor): Tensor {
    return this.frontend.apply(x) as Tensor;
  }

  /** Trainable weights of one part, in a fixed order (frontend first). */
  trainableWeights(part: StudentPart = "all"): LayerVariable[] {
    return partWeights(this.frontend, this.backend, part, "OpticalStudent");
  }

  /** Number of scalar parameters of one part (trainable and non-trainable). */
  countParams(part: StudentPart = "all"): number {
    const count = (ws: LayerVariable[]): number => ws.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
    if (part === "frontend") return count(this.frontend.weights);
    if (part === "backend") return count(this.backend.weights);
    return count(this.frontend.weights) + count(this.backend.weights);
  }

  /** Frees every weight of the network. */
  dispose(): void {
    this.model.dispose();
  }
}

/**
 * Per-image standardisation of a flattened sensor readout of n features to zero mean and unit
 * Euclidean norm: (x - mean) / sqrt(n · (variance + 1e-6)), mean and variance over the features
 * of each image. No weights. Why unit norm rather than unit variance: Adam moves every weight by
 * about the learning rate whatever its gradient's scale, so a first dense layer reading n
 * correlated features of size 1 shifts its pre-activations by about lr · n per step (33 at the
 * preset's 1e-2 with n = 4,096); features of size 1/sqrt(n) shift them by lr · sqrt(n), and start
 * the logits near 0 (loss ln 10). (tfjs's layerNormalization with center and scale off fails in
 * its gradient, and with them on it would add 2n parameters to the published budget.)
 */
export class ReadoutStandardisation extends tf.layers.Layer {
  static readonly className = "ReadoutStandardisation";

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const { mean, variance } = tf.moments(x, -1, true);
      const features = x.shape[x.shape.length - 1]!;
      return tf.div(tf.sub(x, mean), tf.sqrt(tf.mul(tf.add(variance, 1e-6), features)));
    });
  }

  override getClassName(): string {
    return ReadoutStandardisation.className;
  }
}
tf.serialization.registerClass(ReadoutStandardisation);

/** Options of {@link buildDenseBackend}. */
export interface DenseBackendOptions {
  /** Shape of the sensor image the backend reads: [height, width, channels]. */
  inputShape: [number, number, number];
  /**
   * Side of the average-pooling window applied first (1 = none). Why average pooling: it is
   * what binning sensor pixels does, so it keeps the whole frontend-to-readout chain linear and
   * physically realisable; it is also how the parameter budget is met.
   */
  poolSize: number;
  /** Widths of the hidden fully connected layers (ReLU); the last one is the embedding. */
  hidden: number[];
  /** Number of output classes (logits). */
  numClasses: number;
  /** Seed of the Glorot-uniform initialisers (one derived seed per layer). */
  seed: number;
  /** Name prefix of the backend's layers. */
  name: string;
  /**
   * Digital normalisation of the binned sensor readout before the first dense layer: "none"
   * (default) or "per-image" ({@link ReadoutStandardisation}: each image's readout to zero mean,
   * unit norm; no parameters). Why: a non-negative optic with unit-sum PSFs on natural RGB images
   * gives every sensor pixel a large common offset (about 1.2 ± 0.5 on CIFAR-10) shared by all
   * kernels, so one Adam step moves thousands of correlated inputs of the first dense layer the
   * same way and the loss jumps from 2.6 to hundreds (issue 17). The readout electronics can
   * remove offset and gain; the optics cannot, since intensities and PSFs are non-negative.
   */
  sensorNormalisation?: "none" | "per-image";
}

/**
 * A digital backend: average pooling (sensor binning), flatten, hidden dense ReLU layers, a
 * dense logit layer. Returns the backend model and the model of its last hidden layer.
 */
export function buildDenseBackend(opts: DenseBackendOptions): { backend: LayersModel; featureModel: LayersModel } {
  const { inputShape, poolSize, hidden, numClasses, seed, name } = opts;
  if (!Array.isArray(inputShape) || inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`buildDenseBackend: inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new Error(`buildDenseBackend: poolSize must be a positive integer, got ${poolSize}`);
  if (hidden.length === 0 || hidden.some((h) => !Number.isInteger(h) || h <= 0)) {
    throw new Error(`buildDenseBackend: hidden must be a non-empty list of positive integers, got ${JSON.stringify(hidden)}`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`buildDenseBackend: numClasses must be an integer >= 2, got ${numClasses}`);
  const input = tf.input({ shape: inputShape, name: `${name}_sensor` });
  let h: SymbolicTensor = input;
  if (poolSize > 1) {
    h = tf.layers.averagePooling2d({ poolSize, strides: poolSize, padding: "valid", name: `${name}_binning` }).apply(h) as SymbolicTensor;
  }
  h = tf.layers.flatten({ name: `${name}_flatten` }).apply(h) as SymbolicTensor;
  const normalisation = opts.sensorNormalisation ?? "none";
  if (normalisation !== "none" && normalisation !== "per-image") {
    throw new Error(`buildDenseBackend: sensorNormalisation must be "none" or "per-image", got ${JSON.stringify(normalisation)}`);
  }
  if (normalisation === "per-image") {
    h = new ReadoutStandardisation({ name: `${name}_readout_norm` }).apply(h) as SymbolicTensor;
  }
  hidden.forEach((width, i) => {
    h = tf.layers
      .dense({
        units: width,
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed: tfSeed(seed + 101 * (i + 1)) }),
        biasInitializer: "zeros",
        name: i === hidden.length - 1 ? `${name}_features` : `${name}_hidden${i + 1}`,
      })
      .apply(h) as SymbolicTensor;
  });
  const features = h;
  const logits = tf.layers
    .dense({
      units: numClasses,
      kernelInitializer: tf.initializers.glorotUniform({ seed: tfSeed(seed + 7919) }),
      biasInitializer: "zeros",
      name: `${name}_logits`,
    })
    .apply(h) as SymbolicTensor;
  const backend = tf.model({ inputs: input, outputs: logits, name });
  const featureModel = tf.model({ inputs: input, outputs: features, name: `${name}_embedding` });
  return { backend, featureModel };
}

/** Joins a frontend layer and a backend into an {@link OpticalStudent}. */
export function assembleStudent(
  frontendInput: FrontendLayer,
  backendOpts: Omit<DenseBackendOptions, "inputShape">,
  inputShape: [number, number, number],
  architecture: string,
): OpticalStudent {
  const frontend = asOpticalFrontend(frontendInput, architecture);
  const input = tf.input({ shape: inputShape, name: `${backendOpts.name}_image` });
  const sensed = frontend.apply(input) as SymbolicTensor;
  const sensorShape = sensed.shape.slice(1) as (number | null)[];
  if (sensorShape.length !== 3 || sensorShape.some((d) => d === null)) {
    throw new Error(`${architecture}: the frontend must map [H, W, C] images to [H', W', K] sensor images, got ${JSON.stringify(sensed.shape)}`);
  }
  const { backend, featureModel } = buildDenseBackend({ ...backendOpts, inputShape: sensorShape as [number, number, number] });
  const logits = backend.apply(sensed) as SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: logits, name: architecture });
  return new OpticalStudent(frontend, backend, model, featureModel, architecture);
}
