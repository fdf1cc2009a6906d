/**
 * A plain tfjs `Conv2D` layer (stride 1, no dilation, no bias) as an {@link OpticalFrontend}: an
 * unconstrained digital convolution, like IdealConvFrontend. Lets tests and users pass
 * `tf.layers.conv2d(...)` wherever a frontend is expected while students still expose the one
 * typed interface. Why a wrapper and not extra members on the Conv2D: Conv2D's own `kernelSize`
 * (an array) and `padding` fields would collide with the interface's.
 */
import type { layers } from "@tensorflow/tfjs";
import { tf } from "../../runtime/tf";
import { psfToConv2dKernel } from "../../optics/psf";
import { drawTensors } from "../../optics/draw";
import { downloadKernels } from "./common";
import { isOpticalFrontend, labelledTitle, type FrontendDrawOptions, type OpticalFrontend, type OpticalKernels } from "./optical-frontend";
import type { VegaLiteSpec } from "../../viz/types";

/** A tfjs layer that implements {@link OpticalFrontend}: what students hold as their optics. */
export type OpticalFrontendLayer = OpticalFrontend & layers.Layer;

function checkedConv2d(layer: layers.Layer, where: string): { kernelSize: number; padding: "same" | "valid"; filters: number } {
  const cfg = layer.getConfig();
  if (layer.getClassName() !== "Conv2D") {
    throw new Error(`${where}: the frontend must implement OpticalFrontend (IdealConvFrontend, PsfConvFrontend, MetasurfaceFrontend, FourierFrontend) or be a tf.layers.conv2d; got a ${layer.getClassName()}`);
  }
  const pair = (v: unknown): number[] => (Array.isArray(v) ? v as number[] : [v as number, v as number]);
  const [k1, k2] = pair(cfg.kernelSize);
  if (k1 !== k2) throw new Error(`${where}: a conv2d frontend needs square kernels, got ${k1}x${k2}`);
  if (pair(cfg.strides).some((s) => s !== 1) || pair(cfg.dilationRate).some((d) => d !== 1)) {
    throw new Error(`${where}: a conv2d frontend needs strides 1 and dilationRate 1, got ${JSON.stringify(cfg.strides)} and ${JSON.stringify(cfg.dilationRate)}`);
  }
  if (cfg.useBias === true) throw new Error(`${where}: a conv2d frontend must have useBias: false (optics adds no bias)`);
  if (cfg.padding !== "same" && cfg.padding !== "valid") throw new Error(`${where}: a conv2d frontend needs padding "same" or "valid", got ${JSON.stringify(cfg.padding)}`);
  return { kernelSize: k1, padding: cfg.padding, filters: cfg.filters as number };
}

const CLASS_NAME = "Conv2dFrontend";

/**
 * A tfjs Conv2D layer wrapped as a frontend layer: it builds and calls the inner layer and holds
 * the inner layer's weights as its own (same variables, constraints and initialisers).
 */
export class Conv2dFrontend extends tf.layers.Layer implements OpticalFrontend {
  static className = CLASS_NAME;
  readonly inner: layers.Layer;
  readonly kernelSize: number;
  readonly kernelCount: number;
  readonly padding: "same" | "valid";
  readonly colorMode = "sum" as const;
  readonly signedReadout = "none" as const;
  readonly energyRule = "signed" as const;

  constructor(args: { layer: layers.Layer; name?: string; where?: string }) {
    super(args.name === undefined ? {} : { name: args.name });
    const { kernelSize, padding, filters } = checkedConv2d(args.layer, args.where ?? CLASS_NAME);
    this.inner = args.layer;
    this.kernelSize = kernelSize;
    this.kernelCount = filters;
    this.padding = padding;
  }

  /** Colour channels read (known once built). */
  get inputChannels(): number {
    return this.kernelTensor().shape[2];
  }

  /** One output channel per kernel. */
  get outputChannels(): number {
    return this.kernelCount;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    if (!this.inner.built) this.inner.build(inputShape);
    this.inner.built = true;
    this.trainableWeights = this.inner.weights.filter((w) => w.trainable);
    this.nonTrainableWeights = this.inner.weights.filter((w) => !w.trainable);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return this.inner.computeOutputShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    return this.inner.call(inputs, kwargs);
  }

  private kernelTensor(): tf.Tensor4D {
    if (!this.built) throw new Error(`${CLASS_NAME}: the layer is not built yet; call it on an input first`);
    return this.inner.getWeights()[0] as tf.Tensor4D;
  }

  /** The conv2d kernels flipped into optical orientation ({@link OpticalFrontend}). */
  opticalKernels(): OpticalKernels {
    return downloadKernels(psfToConv2dKernel(this.kernelTensor()), "signed");
  }

  /** Heatmaps of the kernels (first input channel), diverging around 0. */
  draw(opts: FrontendDrawOptions = {}): VegaLiteSpec {
    const k = this.kernelTensor();
    const n = this.kernelCount;
    const s = this.kernelSize;
    const panels = tf.tidy(() => tf.unstack(tf.transpose(tf.slice(psfToConv2dKernel(k), [0, 0, 0, 0], [s, s, 1, n]), [3, 2, 0, 1]).reshape([n, s, s])));
    const spec = drawTensors(panels, panels.map((_, j) => `kernel ${j}`), { title: labelledTitle(`Digital convolution: ${n} kernels (${s}×${s} px)`, opts), diverging: true, colorTitle: "weight (signed)" });
    tf.dispose(panels);
    return spec;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), layer: { className: this.inner.getClassName(), config: this.inner.getConfig() } };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    const inner = config.layer as { className: string; config: tf.serialization.ConfigDict };
    const { layer: _layer, ...own } = config;
    void _layer;
    return new Conv2dFrontend({ layer: tf.layers.conv2d(inner.config as never), name: own.name as string | undefined }) as unknown as T;
  }
}
tf.serialization.registerClass(Conv2dFrontend);

/**
 * `layer` itself when it implements {@link OpticalFrontend}; a tfjs Conv2D layer (stride 1, no
 * dilation, no bias) is wrapped in a {@link Conv2dFrontend}. Any other layer is rejected, with
 * `where` naming the caller. Call it before the layer is applied to any input.
 */
export function asOpticalFrontend(layer: layers.Layer, where = "asOpticalFrontend"): OpticalFrontendLayer {
  if (isOpticalFrontend(layer)) return layer as OpticalFrontendLayer;
  return new Conv2dFrontend({ layer, name: `${layer.name}_frontend`, where });
}
