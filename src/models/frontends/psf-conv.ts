/**
 * PsfConvFrontend: the incoherent optical convolution of a PSF-engineered meta-optic, trained
 * at the PSF level (optics-notes §3: far cheaper than simulating propagation every step).
 *
 * Physics kept: kernels are intensity PSFs, so non-negative (softplus or square of a raw
 * weight) and energy-bounded (each kernel per colour sums to 1 with energy "unit", or to at
 * most 1 with "bounded": a passive optic cannot amplify). RGB input gives one PSF per colour
 * per kernel and a colour sensor keeps the colours apart (depthwise per colour, outputs
 * ordered colour-major: channel c·n + j), or a monochrome sensor sums them ("sum").
 * The PSF is flipped into the conv2d (cross-correlation) orientation explicitly.
 *
 * Signed kernels (optics-notes §1.2):
 *  - "none": outputs are the optical images (kernels ≥ 0);
 *  - "pairs": 2n physical PSFs; output j = image(P⁺_j) − image(P⁻_j), subtracted digitally;
 *  - "offset": output j = image(P_j) − c_j·boxMean_k(x), c_j = softplus(raw) ≥ 0, the box
 *    filter computed digitally; equivalent to the kernel P_j − c_j/k².
 * Each reduces to one conv2d with the effective (signed) kernel, since all parts are linear.
 */
import { tf } from "../../runtime/tf";
import { tfSeed } from "../../runtime/seed";
import { psfToConv2dKernel } from "../../optics/psf";
import { drawTensors } from "../../optics/draw";
import type { VegaLiteSpec } from "../../viz/types";
import { labelledTitle, type FrontendDrawOptions, type OpticalFrontend, type OpticalKernels } from "./optical-frontend";
import {
  baseConfig, blockDiagonalFilter, checkInputShape, convOutputShape, convolve, singleInput,
  OpticalFrontendLayer, type FrontendBaseArgs, downloadKernels,
} from "./common";

/** Arguments of PsfConvFrontend. */
export interface PsfConvFrontendArgs extends FrontendBaseArgs {
  /** How raw weights become non-negative PSFs: softplus(w) (default) or w². */
  parametrization?: "softplus" | "square";
  /** Signed-kernel strategy: "none" (default), "pairs" or "offset" (see the module comment). */
  signed?: "none" | "pairs" | "offset";
  /** "unit" (default): every PSF sums to 1; "bounded": p/max(1, Σp), so sums ≤ 1. */
  energy?: "unit" | "bounded";
  /** For inputChannels > 1: "depthwise" (colour sensor, default) or "sum" (monochrome sensor). */
  colorMode?: "depthwise" | "sum";
}

const CLASS_NAME = "PsfConvFrontend";

/** softplus⁻¹(y) = y + log(1 − e^(−y)), stable for small and large y. */
function inverseSoftplus(y: number): number {
  return y + Math.log(-Math.expm1(-y));
}

export class PsfConvFrontend extends OpticalFrontendLayer implements OpticalFrontend {
  static className = CLASS_NAME;
  readonly parametrization: "softplus" | "square";
  readonly signed: "none" | "pairs" | "offset";
  readonly energy: "unit" | "bounded";
  readonly colorMode: "depthwise" | "sum";
  private rawPsf: tf.LayerVariable | null = null;
  private rawOffset: tf.LayerVariable | null = null;

  constructor(args: PsfConvFrontendArgs) {
    super(CLASS_NAME, args);
    const pick = <T extends string>(name: string, v: T | undefined, allowed: readonly T[], def: T): T => {
      const value = v ?? def;
      if (!allowed.includes(value)) throw new Error(`${CLASS_NAME}: ${name} must be one of ${allowed.map((x) => `"${x}"`).join(", ")}, got ${JSON.stringify(value)}`);
      return value;
    };
    this.parametrization = pick("parametrization", args.parametrization, ["softplus", "square"], "softplus");
    this.signed = pick("signed", args.signed, ["none", "pairs", "offset"], "none");
    this.energy = pick("energy", args.energy, ["unit", "bounded"], "unit");
    this.colorMode = pick("colorMode", args.colorMode, ["depthwise", "sum"], "depthwise");
  }

  /** Number of physical PSFs ({@link OpticalFrontend}; 2n for "pairs"). */
  get kernelCount(): number {
    return this.physicalKernels;
  }

  /** The signed-kernel strategy ({@link OpticalFrontend}). */
  get signedReadout(): "none" | "pairs" | "offset" {
    return this.signed;
  }

  /** "unit" or "bounded" intensity PSFs ({@link OpticalFrontend}). */
  get energyRule(): "unit" | "bounded" {
    return this.energy;
  }

  /** The physical PSFs ({@link psfs}) as plain arrays ({@link OpticalFrontend}). */
  opticalKernels(): OpticalKernels {
    return downloadKernels(this.psfs(), this.energy);
  }

  /** Number of physical PSFs (2n for "pairs"). */
  get physicalKernels(): number {
    return this.signed === "pairs" ? 2 * this.base.kernels : this.base.kernels;
  }

  /** Output channels: C·n for a colour sensor, n otherwise. */
  get outputChannels(): number {
    return this.colorMode === "depthwise" ? this.base.inputChannels * this.base.kernels : this.base.kernels;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    checkInputShape(CLASS_NAME, shape, this.base);
    const { kernelSize: k, inputChannels: c, seed } = this.base;
    const init = this.parametrization === "softplus"
      ? tf.initializers.randomNormal({ mean: 0, stddev: 0.5, seed: tfSeed(seed) })
      : tf.initializers.randomUniform({ minval: 0.5, maxval: 1, seed: tfSeed(seed) });
    this.rawPsf = this.addWeight("raw_psf", [k, k, c, this.physicalKernels], "float32", init);
    if (this.signed === "offset") {
      this.rawOffset = this.addWeight("raw_offset", [this.base.kernels], "float32", tf.initializers.constant({ value: inverseSoftplus(0.5) }));
    }
    this.built = true;
  }

  private requireBuilt(what: string): tf.LayerVariable {
    if (this.rawPsf === null) throw new Error(`${CLASS_NAME}.${what}: the layer is not built yet; call it on an input (or build([null, H, W, ${this.base.inputChannels}])) first`);
    return this.rawPsf;
  }

  /** The physical PSFs [k, k, C, n] (2n for "pairs": positives first), non-negative, in optical orientation. */
  psfs(): tf.Tensor4D {
    const raw = this.requireBuilt("psfs");
    return tf.tidy(() => {
      const w = raw.read();
      const p = this.parametrization === "softplus" ? tf.softplus(w) : tf.square(w);
      const sum = tf.sum(p, [0, 1], true);
      const norm = this.energy === "unit" ? tf.add(sum, 1e-12) : tf.maximum(sum, 1);
      return tf.div(p, norm) as tf.Tensor4D;
    });
  }

  /** Non-negative offsets c_j of the "offset" strategy ([n]); null otherwise. */
  offsets(): tf.Tensor1D | null {
    if (this.signed !== "offset") return null;
    this.requireBuilt("offsets");
    return tf.tidy(() => tf.softplus(this.rawOffset!.read()) as tf.Tensor1D);
  }

  /**
   * The effective (signed for "pairs"/"offset") kernels [k, k, C, n] in optical orientation:
   * what the optics plus the digital subtraction apply to the image.
   */
  effectiveKernels(): tf.Tensor4D {
    return tf.tidy(() => {
      const p = this.psfs();
      const n = this.base.kernels;
      const k = this.base.kernelSize;
      if (this.signed === "pairs") {
        const [a, b, c] = p.shape;
        return tf.sub(tf.slice(p, [0, 0, 0, 0], [a, b, c, n]), tf.slice(p, [0, 0, 0, n], [a, b, c, n])) as tf.Tensor4D;
      }
      if (this.signed === "offset") return tf.sub(p, tf.div(this.offsets()!, k * k)) as tf.Tensor4D;
      return p;
    });
  }

  /**
   * Sets the physical PSFs [k, k, C, physicalKernels] (e.g. measured or fabricated ones) by
   * inverting the parametrisation, and optionally freezes the layer. PSFs must be finite,
   * non-negative, and sum to 1 per kernel and colour ("unit") or to at most 1 ("bounded").
   */
  setPsfs(psfs: tf.Tensor4D, opts: { trainable?: boolean } = {}): void {
    const raw = this.requireBuilt("setPsfs");
    const want = raw.shape as number[];
    if (psfs.shape.length !== 4 || psfs.shape.some((d, i) => d !== want[i])) {
      throw new Error(`${CLASS_NAME}.setPsfs: psfs must have shape [${want}] ([k, k, inputChannels, ${this.signed === "pairs" ? "2·kernels" : "kernels"}]), got [${psfs.shape}]`);
    }
    const values = psfs.dataSync();
    const [k1, k2, c, m] = want;
    const sums = new Float64Array(c * m);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v) || v < 0) throw new Error(`${CLASS_NAME}.setPsfs: PSF values must be finite and >= 0, found ${v} at flat index ${i}`);
      sums[i % (c * m)] += v;
    }
    sums.forEach((s, i) => {
      if (this.energy === "unit" && Math.abs(s - 1) > 1e-3) {
        throw new Error(`${CLASS_NAME}.setPsfs: PSF (colour ${Math.floor(i / m)}, kernel ${i % m}) sums to ${s.toFixed(5)}, but energy "unit" needs 1; build the layer with energy: "bounded" to hold PSFs of lower efficiency`);
      }
      if (this.energy === "bounded" && s > 1 + 1e-3) {
        throw new Error(`${CLASS_NAME}.setPsfs: PSF (colour ${Math.floor(i / m)}, kernel ${i % m}) sums to ${s.toFixed(5)} > 1; a passive optic cannot amplify`);
      }
    });
    const rawValues = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const p = Math.max(values[i], 1e-12);
      rawValues[i] = this.parametrization === "softplus" ? inverseSoftplus(p) : Math.sqrt(p);
    }
    const t = tf.tensor4d(rawValues, [k1, k2, c, m]);
    raw.write(t);
    t.dispose();
    if (opts.trainable !== undefined) this.trainable = opts.trainable;
  }

  /** Stops the PSFs from training (the fabricated-optic stage). */
  freeze(): void {
    this.trainable = false;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return convOutputShape(shape, this.base, this.outputChannels);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(CLASS_NAME, inputs);
      const kernels = psfToConv2dKernel(this.effectiveKernels());
      const filter = this.colorMode === "depthwise" ? blockDiagonalFilter(kernels) : kernels;
      return convolve(x, filter, this.base.padding);
    });
  }

  /** Heatmaps of the physical PSFs (first colour). */
  draw(opts: FrontendDrawOptions = {}): VegaLiteSpec {
    const p = this.psfs();
    const [k1, k2, , m] = p.shape;
    const panels = tf.tidy(() => tf.unstack(tf.transpose(tf.slice(p, [0, 0, 0, 0], [k1, k2, 1, m]), [3, 2, 0, 1]).reshape([m, k1, k2])));
    const spec = drawTensors(panels, panels.map((_, j) => `PSF ${j}`), { title: labelledTitle(`PSF-engineered optics: ${m} intensity PSFs (${k1}×${k2} px, ${this.energy} energy${this.signed === "none" ? "" : `, ${this.signed} readout`})`, opts), colorTitle: "intensity (fraction of light)" });
    tf.dispose([p, ...panels]);
    return spec;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(), ...baseConfig(this.base),
      parametrization: this.parametrization, signed: this.signed, energy: this.energy, colorMode: this.colorMode,
    };
  }
}
tf.serialization.registerClass(PsfConvFrontend);
