/**
 * FourierFrontend: a coherent 4f system (lens f — Fourier-plane mask — lens f) with intensity
 * detection. The paper names 4f systems but never runs one; this layer does.
 *
 * The input image is the field amplitude on an SLM (u = x, coherent illumination). The mask
 * M_j in the Fourier plane makes the system convolve the field with the coherent PSF
 * h_j = F⁻¹{M_j}; the camera records |u ⊛ h_j|² (not linear in the input intensity:
 * optics-notes §1.1). We parametrise each mask by a complex h_j with k×k support, i.e. a
 * band-limited complex (amplitude and phase) Fourier mask, which makes the forward pass two
 * real conv2d calls: |u ⊛ Re h|² + |u ⊛ Im h|² summed per pixel. Passivity |M| ≤ 1 is
 * enforced by dividing h by max(1, max|M|), with M sampled on an 8k-oversampled grid
 * (`passivityGridSize`); between those samples |M| can exceed 1 by a few per cent at most.
 * The 4f image is inverted (−u(−x)); the readout is rotated back, so channels keep the
 * object's orientation. `fourierMasks(P)` gives the masks on a P×P Fourier grid, and the test
 * checks the conv path against the full simulation `fourFSystem`. Colour inputs use the same
 * mask per channel (outputs colour-major, c·n + j); the mask's dispersion is ignored.
 */
import { tf } from "../../runtime/tf";
import { tfSeed } from "../../runtime/seed";
import { dft2d, fftshift2d, ifftshift2d } from "../../optics/dft";
import { cmap, type ComplexTensor } from "../../optics/complex";
import { psfToConv2dKernel } from "../../optics/psf";
import { drawTensors, stackCharts } from "../../optics/draw";
import { GREEN_WAVELENGTH_M } from "../../optics/units";
import type { VegaLiteSpec } from "../../viz/types";
import { labelledTitle, type FrontendDrawOptions, type OpticalFrontend, type OpticalKernels } from "./optical-frontend";
import {
  baseConfig, blockDiagonalFilter, checkInputShape, convOutputShape, convolve, singleInput,
  OpticalFrontendLayer, type FrontendBaseArgs, positiveArg, downloadKernels,
} from "./common";

/** Arguments of FourierFrontend. */
export interface FourierFrontendArgs extends FrontendBaseArgs {
  /** Focal length of both lenses, metres (default 10 mm); sets the Fourier-plane scale. */
  focalLengthM?: number;
  /** Laser wavelength, metres (default 532 nm). */
  wavelengthM?: number;
  /** SLM (input) pixel pitch, metres (default 8 µm). */
  inputPitchM?: number;
  /** Std of the initial perturbation of the all-pass (delta) PSF (default 0.05). */
  initNoise?: number;
}

const CLASS_NAME = "FourierFrontend";

export class FourierFrontend extends OpticalFrontendLayer implements OpticalFrontend {
  static className = CLASS_NAME;
  readonly focalLengthM: number;
  readonly wavelengthM: number;
  readonly inputPitchM: number;
  readonly initNoise: number;
  private psfRe: tf.LayerVariable | null = null;
  private psfIm: tf.LayerVariable | null = null;

  constructor(args: FourierFrontendArgs) {
    super(CLASS_NAME, args);
    const pos = (name: string, v: number | undefined, def: number): number => positiveArg(CLASS_NAME, name, v, def);
    this.focalLengthM = pos("focalLengthM", args.focalLengthM, 10e-3);
    this.wavelengthM = pos("wavelengthM", args.wavelengthM, GREEN_WAVELENGTH_M);
    this.inputPitchM = pos("inputPitchM", args.inputPitchM, 8e-6);
    this.initNoise = args.initNoise ?? 0.05;
    if (!Number.isFinite(this.initNoise) || this.initNoise < 0) throw new Error(`${CLASS_NAME}: initNoise must be a finite number >= 0, got ${this.initNoise}`);
  }

  /** Number of Fourier masks ({@link OpticalFrontend}). */
  get kernelCount(): number {
    return this.base.kernels;
  }

  /** One camera channel per colour and mask. */
  get outputChannels(): number {
    return this.base.inputChannels * this.base.kernels;
  }

  /** Colours stay apart (one image per colour and mask). */
  readonly colorMode = "depthwise" as const;
  /** The camera records intensities; no digital subtraction. */
  readonly signedReadout = "none" as const;
  /** Complex coherent PSFs of a passive mask, |M| ≤ 1. */
  readonly energyRule = "coherent-passive" as const;

  /**
   * The coherent PSFs ({@link coherentPsfs}) as plain arrays, real and imaginary parts, the same
   * mask repeated for every colour ({@link OpticalFrontend}).
   */
  opticalKernels(): OpticalKernels {
    const h = this.coherentPsfs();
    const c = this.base.inputChannels;
    const [re, im] = tf.tidy(() => [h.re, h.im].map((t) => {
      const [k, , n] = t.shape;
      return tf.tile(tf.reshape(t, [k, k, 1, n]), [1, 1, c, 1]) as tf.Tensor4D;
    }));
    tf.dispose([h.re, h.im]);
    return downloadKernels(re, this.energyRule, im);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    checkInputShape(CLASS_NAME, shape, this.base);
    const { kernelSize: k, kernels: n, seed } = this.base;
    this.psfRe = this.addWeight("psf_re", [k, k, n], "float32", tf.initializers.zeros());
    this.psfIm = this.addWeight("psf_im", [k, k, n], "float32", tf.initializers.zeros());
    const [re, im] = tf.tidy(() => {
      const delta = new Float32Array(k * k * n);
      const c = Math.floor(k / 2);
      for (let j = 0; j < n; j++) delta[(c * k + c) * n + j] = 1;
      return [
        tf.add(tf.tensor3d(delta, [k, k, n]), tf.randomNormal([k, k, n], 0, this.initNoise, "float32", tfSeed(seed))),
        tf.randomNormal([k, k, n], 0, this.initNoise, "float32", tfSeed(seed + 1)),
      ];
    });
    this.psfRe.write(re);
    this.psfIm.write(im);
    tf.dispose([re, im]);
    this.built = true;
  }

  private rawPsf(what: string): ComplexTensor {
    if (this.psfRe === null || this.psfIm === null) throw new Error(`${CLASS_NAME}.${what}: the layer is not built yet; call it on an input first`);
    return { re: this.psfRe.read(), im: this.psfIm.read() };
  }

  /** Side of the Fourier grid on which passivity |M| ≤ 1 is enforced: max(32, 8·kernelSize). */
  get passivityGridSize(): number {
    return Math.max(32, 8 * this.base.kernelSize);
  }

  /** Centred Fourier masks [n, P, P] of k×k PSFs [k, k, n] zero-padded to P×P. */
  private masksOf(h: ComplexTensor, p: number): ComplexTensor {
    const k = this.base.kernelSize;
    if (p < k) throw new Error(`${CLASS_NAME}.fourierMasks: gridSize ${p} is smaller than kernelSize ${k}`);
    const [re, im] = tf.tidy(() => {
      // Kernel centre floor(k/2) goes to the grid centre floor(P/2).
      const before = Math.floor(p / 2) - Math.floor(k / 2);
      const pads: Array<[number, number]> = [[0, 0], [before, p - k - before], [before, p - k - before]];
      const padded = cmap(h, (t) => ifftshift2d(tf.pad(tf.transpose(t, [2, 0, 1]), pads)));
      const spectrum = cmap(dft2d(padded), fftshift2d);
      return [spectrum.re, spectrum.im];
    });
    return { re, im };
  }

  /** The complex coherent PSFs [k, k, n] after the passivity scaling (optical orientation). */
  coherentPsfs(): ComplexTensor {
    const h = this.rawPsf("coherentPsfs");
    const [re, im] = tf.tidy(() => {
      const q = this.passivityGridSize;
      const m = this.masksOf(h, q);
      const peak = tf.sqrt(tf.max(tf.add(tf.square(m.re), tf.square(m.im))));
      const scale = tf.maximum(peak, 1);
      return [tf.div(h.re, scale), tf.div(h.im, scale)];
    });
    return { re, im };
  }

  /**
   * The Fourier-plane masks [n, P, P] (complex transmission, |M| ≤ 1, centred spectrum) for an
   * input zero-padded to P×P; the Fourier-plane sample pitch is λ·f/(P·inputPitch).
   */
  fourierMasks(gridSize: number): ComplexTensor {
    const h = this.coherentPsfs();
    const m = this.masksOf(h, gridSize);
    tf.dispose([h.re, h.im]);
    return m;
  }

  /** Fourier-plane sample pitch (metres) for a P×P grid. */
  fourierPlanePitchM(gridSize: number): number {
    return (this.wavelengthM * this.focalLengthM) / (gridSize * this.inputPitchM);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return convOutputShape(shape, this.base, this.base.inputChannels * this.base.kernels);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(CLASS_NAME, inputs);
      const h = this.coherentPsfs();
      const c = this.base.inputChannels;
      const [k, , n] = h.re.shape;
      const filterOf = (t: tf.Tensor) => blockDiagonalFilter(psfToConv2dKernel(tf.tile(tf.reshape(t, [k, k, 1, n]), [1, 1, c, 1]) as tf.Tensor4D));
      const a = convolve(x, filterOf(h.re), this.base.padding);
      const b = convolve(x, filterOf(h.im), this.base.padding);
      return tf.add(tf.square(a), tf.square(b));
    });
  }

  /** Amplitude and phase of the Fourier masks on the passivity grid, as two stacked rows. */
  draw(opts: FrontendDrawOptions = {}): VegaLiteSpec {
    const m = this.fourierMasks(this.passivityGridSize);
    const amp = tf.tidy(() => tf.unstack(tf.sqrt(tf.add(tf.square(m.re), tf.square(m.im)))));
    const phase = tf.tidy(() => tf.unstack(tf.atan2(m.im, m.re)));
    const spec = stackCharts([
      drawTensors(amp, amp.map((_, j) => `|M${j}|`), { colorTitle: "|M| (amplitude transmission)" }),
      drawTensors(phase, phase.map((_, j) => `arg M${j}`), { colorTitle: "phase (rad)", diverging: true }),
    ], labelledTitle(`Fourier-plane (4f) optics: ${amp.length} masks (centred spectrum)`, opts));
    tf.dispose([m.re, m.im, ...amp, ...phase]);
    return spec;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(), ...baseConfig(this.base),
      focalLengthM: this.focalLengthM, wavelengthM: this.wavelengthM, inputPitchM: this.inputPitchM, initNoise: this.initNoise,
    };
  }
}
tf.serialization.registerClass(FourierFrontend);
