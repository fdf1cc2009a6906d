/**
 * IdealConvFrontend: an unconstrained digital convolution (signed kernels, no physics) with the
 * same shape contract as the optical frontends: the upper bound an optical frontend can reach.
 */
import { tf } from "../../runtime/tf";
import { tfSeed } from "../../runtime/seed";
import { drawTensors } from "../../optics/draw";
import type { VegaLiteSpec } from "../../viz/types";
import { psfToConv2dKernel } from "../../optics/psf";
import { labelledTitle, type FrontendDrawOptions, type OpticalFrontend, type OpticalKernels } from "./optical-frontend";
import {
  baseConfig, checkInputShape, convOutputShape, convolve, singleInput,
  OpticalFrontendLayer, type FrontendBaseArgs, downloadKernels,
} from "./common";

/** Arguments of IdealConvFrontend. */
export interface IdealConvFrontendArgs extends FrontendBaseArgs {
  /** Add a learned bias per output channel (default false: optics has none). */
  useBias?: boolean;
}

const CLASS_NAME = "IdealConvFrontend";

export class IdealConvFrontend extends OpticalFrontendLayer implements OpticalFrontend {
  static className = CLASS_NAME;
  readonly useBias: boolean;
  private kernelVar: tf.LayerVariable | null = null;
  private biasVar: tf.LayerVariable | null = null;

  constructor(args: IdealConvFrontendArgs) {
    super(CLASS_NAME, args);
    if (args.useBias !== undefined && typeof args.useBias !== "boolean") throw new Error(`${CLASS_NAME}: useBias must be a boolean`);
    this.useBias = args.useBias ?? false;
  }

  /** Number of kernels ({@link OpticalFrontend}). */
  get kernelCount(): number {
    return this.base.kernels;
  }

  /** One output channel per kernel (conv2d sums the colours). */
  get outputChannels(): number {
    return this.base.kernels;
  }

  /** A digital convolution sums its input channels like a monochrome sensor. */
  readonly colorMode = "sum" as const;
  /** The kernels themselves are signed; no readout trick. */
  readonly signedReadout = "none" as const;
  /** Unconstrained real kernels (the bias, if any, is not part of them). */
  readonly energyRule = "signed" as const;

  /** The kernels as plain arrays, flipped into optical orientation ({@link OpticalFrontend}). */
  opticalKernels(): OpticalKernels {
    const k = this.kernels();
    const flipped = psfToConv2dKernel(k);
    k.dispose();
    return downloadKernels(flipped, this.energyRule);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    checkInputShape(CLASS_NAME, shape, this.base);
    const { kernelSize: k, inputChannels: c, kernels: n, seed } = this.base;
    this.kernelVar = this.addWeight("kernel", [k, k, c, n], "float32", tf.initializers.glorotUniform({ seed: tfSeed(seed) }));
    if (this.useBias) this.biasVar = this.addWeight("bias", [n], "float32", tf.initializers.zeros());
    this.built = true;
  }

  /** The signed conv2d kernels [k, k, C, n] (cross-correlation orientation, as tfjs stores them). */
  kernels(): tf.Tensor4D {
    if (this.kernelVar === null) throw new Error(`${CLASS_NAME}.kernels: the layer is not built yet`);
    return tf.clone(this.kernelVar.read()) as tf.Tensor4D;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return convOutputShape(shape, this.base, this.base.kernels);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const y = convolve(singleInput(CLASS_NAME, inputs), this.kernelVar!.read() as tf.Tensor4D, this.base.padding);
      return this.biasVar ? tf.add(y, this.biasVar.read()) : y;
    });
  }

  /** Heatmaps of the kernels (first input channel), diverging around 0. */
  draw(opts: FrontendDrawOptions = {}): VegaLiteSpec {
    const k = this.kernels();
    const [k1, k2, , n] = k.shape;
    const panels = tf.tidy(() => tf.unstack(tf.transpose(tf.slice(k, [0, 0, 0, 0], [k1, k2, 1, n]), [3, 2, 0, 1]).reshape([n, k1, k2])));
    const spec = drawTensors(panels, panels.map((_, j) => `kernel ${j}`), { title: labelledTitle(`Ideal optical convolution: ${n} kernels (${k1}×${k2} px)`, opts), diverging: true, colorTitle: "weight (signed)" });
    tf.dispose([k, ...panels]);
    return spec;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...baseConfig(this.base), useBias: this.useBias };
  }
}
tf.serialization.registerClass(IdealConvFrontend);
