/**
 * Pieces shared by the optical frontend layers: argument checks, the depthwise-per-colour
 * convolution expressed as one conv2d, output shapes and config plumbing.
 */
import { tf } from "../../runtime/tf";
import { makeOpticalKernels, type EnergyRule, type OpticalKernels } from "./optical-frontend";

/** Arguments every frontend layer takes. */
export interface FrontendBaseArgs {
  /** Number of optical kernels (output channels per colour). */
  kernels: number;
  /** Kernel side in sensor pixels. */
  kernelSize: number;
  /** Input channels: 1 (grey) or 3 (RGB). */
  inputChannels: number;
  /** "same" keeps H×W (zero padding), "valid" crops kernelSize − 1 (default "same"). */
  padding?: "same" | "valid";
  /** Seed of the weight initialisers (default 0). */
  seed?: number;
  /** Layer name (tfjs; default generated). */
  name?: string;
  /** Whether the layer's weights train (default true). */
  trainable?: boolean;
  /** Restored by tfjs deserialisation; not normally set by hand. */
  batchInputShape?: (number | null)[];
  /** Restored by tfjs deserialisation; not normally set by hand. */
  dtype?: "float32";
}

/** Validated base arguments with defaults applied. */
export interface ResolvedBaseArgs {
  kernels: number;
  kernelSize: number;
  inputChannels: number;
  padding: "same" | "valid";
  seed: number;
}

/**
 * The layer every optical frontend extends: it holds the validated base arguments and answers the
 * geometry part of {@link OpticalFrontend} from them, so each frontend states only what differs
 * (kernel count, output channels, colour mode, energy rule, its kernels).
 */
export abstract class OpticalFrontendLayer extends tf.layers.Layer {
  readonly base: ResolvedBaseArgs;

  protected constructor(where: string, args: FrontendBaseArgs) {
    super(layerArgs(args));
    this.base = resolveBaseArgs(where, args);
  }

  /** Kernel side in sensor (or SLM) pixels ({@link OpticalFrontend}). */
  get kernelSize(): number {
    return this.base.kernelSize;
  }

  /** Colour channels read ({@link OpticalFrontend}). */
  get inputChannels(): number {
    return this.base.inputChannels;
  }

  /** "same" or "valid" ({@link OpticalFrontend}). */
  get padding(): "same" | "valid" {
    return this.base.padding;
  }
}

export function resolveBaseArgs(where: string, a: FrontendBaseArgs): ResolvedBaseArgs {
  if (a === null || typeof a !== "object") throw new Error(`${where}: arguments must be an object`);
  const int = (name: string, v: unknown, min: number): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new Error(`${where}: ${name} must be an integer >= ${min}, got ${String(v)}`);
    return v;
  };
  const padding = a.padding ?? "same";
  if (padding !== "same" && padding !== "valid") throw new Error(`${where}: padding must be "same" or "valid", got ${JSON.stringify(padding)}`);
  const seed = a.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`${where}: seed must be an integer, got ${String(seed)}`);
  return {
    kernels: int("kernels", a.kernels, 1),
    kernelSize: int("kernelSize", a.kernelSize, 1),
    inputChannels: int("inputChannels", a.inputChannels, 1),
    padding,
    seed,
  };
}

/** The base args in a tfjs config. */
export function baseConfig(r: ResolvedBaseArgs): tf.serialization.ConfigDict {
  return { kernels: r.kernels, kernelSize: r.kernelSize, inputChannels: r.inputChannels, padding: r.padding, seed: r.seed };
}

/** The tfjs Layer constructor args from our args. */
export function layerArgs(a: FrontendBaseArgs): { name?: string; trainable?: boolean; batchInputShape?: (number | null)[]; dtype?: "float32" } {
  const out: { name?: string; trainable?: boolean; batchInputShape?: (number | null)[]; dtype?: "float32" } = {};
  if (a.name !== undefined) out.name = a.name;
  if (a.trainable !== undefined) out.trainable = a.trainable;
  if (a.batchInputShape !== undefined) out.batchInputShape = a.batchInputShape;
  if (a.dtype !== undefined) out.dtype = a.dtype;
  return out;
}

/** Checks a [B, H, W, C] input against the layer's channel count and kernel size. */
export function checkInputShape(where: string, shape: (number | null)[], r: ResolvedBaseArgs): void {
  if (shape.length !== 4) throw new Error(`${where}: input must be [batch, height, width, channels], got [${shape.join(", ")}]`);
  if (shape[3] !== r.inputChannels) throw new Error(`${where}: input has ${shape[3]} channels but inputChannels is ${r.inputChannels}`);
  if (r.padding === "valid") {
    for (const [i, name] of [[1, "height"], [2, "width"]] as const) {
      const d = shape[i];
      if (d !== null && d < r.kernelSize) throw new Error(`${where}: input ${name} ${d} is smaller than kernelSize ${r.kernelSize} with "valid" padding`);
    }
  }
}

/** [B, H', W', outChannels] for a k×k stride-1 convolution. */
export function convOutputShape(shape: (number | null)[], r: ResolvedBaseArgs, outChannels: number): (number | null)[] {
  const crop = r.padding === "valid" ? r.kernelSize - 1 : 0;
  const sub = (d: number | null) => (d === null ? null : d - crop);
  return [shape[0], sub(shape[1]), sub(shape[2]), outChannels];
}

/**
 * Per-colour (depthwise) kernels [k, k, C, n] → a block-diagonal conv2d filter [k, k, C, C·n]
 * whose output channel c·n + j sees only colour c (the ordering of tf.depthwiseConv2d).
 * Why not depthwiseConv2d itself: wasm lacks its backprop kernels, while conv2d's exist.
 */
export function blockDiagonalFilter(kernels: tf.Tensor4D): tf.Tensor4D {
  const [k1, k2, c, n] = kernels.shape;
  if (c === 1) return kernels;
  return tf.tidy(() => {
    const eye = tf.reshape(tf.eye(c), [1, 1, c, c, 1]);
    const expanded = tf.reshape(kernels, [k1, k2, c, 1, n]);
    return tf.reshape(tf.mul(expanded, eye), [k1, k2, c, c * n]) as tf.Tensor4D;
  });
}

/** out = conv2d(x, correlation filter), stride 1. */
export function convolve(x: tf.Tensor, filter: tf.Tensor4D, padding: "same" | "valid"): tf.Tensor4D {
  return tf.conv2d(x as tf.Tensor4D, filter, 1, padding);
}

/** The single input tensor of a layer call. */
export function singleInput(where: string, inputs: tf.Tensor | tf.Tensor[]): tf.Tensor4D {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (Array.isArray(inputs) && inputs.length !== 1) throw new Error(`${where}: expects one input tensor, got ${inputs.length}`);
  if (x.rank !== 4) throw new Error(`${where}: input must be [batch, height, width, channels], got shape [${x.shape}]`);
  return x as tf.Tensor4D;
}

/** `value` (or `fallback` when undefined), checked to be a finite number > 0; errors name the layer and argument. */
export function positiveArg(where: string, name: string, value: number | undefined, fallback: number): number {
  const x = value ?? fallback;
  if (typeof x !== "number" || !Number.isFinite(x) || x <= 0) throw new Error(`${where}: ${name} must be a finite number > 0, got ${String(x)}`);
  return x;
}

/** Copies a [k, k, C, n] tensor in optical orientation into {@link OpticalKernels}, disposing it (and `imag`). */
export function downloadKernels(real: tf.Tensor4D, energyRule: EnergyRule, imag: tf.Tensor4D | null = null): OpticalKernels {
  try {
    return makeOpticalKernels(Float32Array.from(real.dataSync() as Float32Array), real.shape, energyRule, imag === null ? null : Float32Array.from(imag.dataSync() as Float32Array));
  } finally {
    real.dispose();
    imag?.dispose();
  }
}
