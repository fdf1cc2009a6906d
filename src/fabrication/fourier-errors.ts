/**
 * Fabrication errors of a 4f system (`FourierFrontend`), at the level they arise: the Fourier-
 * plane masks, not the PSFs. A {@link FabricatedFourierDevice} senses images the way the built
 * system would: the field on the SLM, the as-built masks in the Fourier plane, intensity on the
 * camera, then the sensor errors every device has (gain, noise, bit depth, misalignment).
 *
 * The simulation grid: each colour image (H×W) lies in a Q×Q field, Q = 2·max(H, W), and the
 * masks are sampled on the Q×Q Fourier grid (`FourierFrontend.fourierMasks(Q)`, pitch
 * λf/(Q·inputPitch)). The camera image is then the circular convolution on that grid, which
 * equals the frontend's linear one while the PSFs keep their k×k support (k ≤ Q − H + 1); errors
 * spread them over the grid, and light leaving the H×W window is lost, as behind a real aperture.
 *
 * The as-built masks, in the order a process makes them:
 * 1. amplitude error: |M'| = clip(|M|·(1 + a·N), 0, 1) per Fourier sample, so the mask stays passive;
 * 2. phase error: arg M' = arg M + φ·N per sample (white: an etch-depth error per SLM or mask pixel);
 * 3. a lateral offset of the mask in the Fourier plane by Δ samples: M'(f) = M(f − Δ), made
 *    with the shift theorem (the coherent PSF times exp(i2π Δ·x / Q), x centred), which is a
 *    circular roll for whole samples and Fourier interpolation in between.
 * With no error the device senses exactly what the frontend outputs (tested to float precision).
 */
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import { deriveSeed } from "../runtime/seed";
import { dft2d, fftshift2d, idft2d, ifftshift2d } from "../optics/dft";
import { abs2, cdispose, cmul, type ComplexTensor } from "../optics/complex";
import type { FourierFrontend } from "../models/frontends/fourier";
import { FabricatedDevice, standardNormals } from "./device";
import type { FabricationErrors } from "./errors";

/** Errors of the built 4f masks; every field has a neutral default (no error). */
export interface FourierMaskErrors {
  /** σ of the relative amplitude error a of each Fourier sample (default 0). */
  amplitudeErrorStd?: number;
  /** σ of the phase error φ of each Fourier sample, radians (default 0). */
  phaseErrorStdRad?: number;
  /**
   * Lateral offset of the mask in the Fourier plane, in Fourier samples of the Q×Q grid:
   * [down the rows, along the columns], or one number along the columns (default 0).
   */
  maskOffsetSamples?: number | readonly [number, number];
  /** Seed of the amplitude and phase errors (default 0): the same seed makes the same masks. */
  seed?: number;
}

/** {@link FourierMaskErrors} with the defaults filled in. */
export interface ResolvedFourierMaskErrors {
  amplitudeErrorStd: number;
  phaseErrorStdRad: number;
  maskOffsetSamples: [number, number];
  seed: number;
}

/** Fills the defaults and checks every field, naming it in errors. */
export function resolveFourierMaskErrors(e: FourierMaskErrors = {}): ResolvedFourierMaskErrors {
  if (e === null || typeof e !== "object") throw new Error(`FourierMaskErrors must be an object, got ${String(e)}`);
  const std = (name: keyof FourierMaskErrors, v: unknown): number => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new Error(`FourierMaskErrors.${name} must be a finite number >= 0, got ${String(v)}`);
    return v;
  };
  const offset = e.maskOffsetSamples ?? 0;
  const pair: [number, number] = typeof offset === "number" ? [0, offset] : Array.isArray(offset) && offset.length === 2 ? [offset[0], offset[1]] : [NaN, NaN];
  if (!pair.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw new Error(`FourierMaskErrors.maskOffsetSamples must be a finite number or [rows, cols], got ${JSON.stringify(offset)}`);
  }
  const seed = e.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`FourierMaskErrors.seed must be an integer, got ${String(seed)}`);
  return { amplitudeErrorStd: std("amplitudeErrorStd", e.amplitudeErrorStd ?? 0), phaseErrorStdRad: std("phaseErrorStdRad", e.phaseErrorStdRad ?? 0), maskOffsetSamples: pair, seed };
}

/** Side Q of the simulation grid for H×W images: 2·max(H, W). */
export function fourierSimulationGrid(height: number, width: number): number {
  return 2 * Math.max(height, width);
}

/** exp(i2π(Δr·y + Δc·x)/Q) over centred coordinates, [Q, Q]. */
function shiftRamp(q: number, [dr, dc]: [number, number]): ComplexTensor {
  const re = new Float32Array(q * q);
  const im = new Float32Array(q * q);
  // Centred coordinates in the unshifted (index 0 = origin) layout: 0, 1, ..., Q/2 − 1, −Q/2, ..., −1.
  const centred = (i: number) => (i < q / 2 ? i : i - q);
  for (let y = 0; y < q; y++) {
    for (let x = 0; x < q; x++) {
      const phase = (2 * Math.PI * (dr * centred(y) + dc * centred(x))) / q;
      re[y * q + x] = Math.cos(phase);
      im[y * q + x] = Math.sin(phase);
    }
  }
  return { re: tf.tensor2d(re, [q, q]), im: tf.tensor2d(im, [q, q]) };
}

/**
 * The as-built masks [n, Q, Q] (centred spectrum, like `FourierFrontend.fourierMasks`) from the
 * designed ones and the errors; see the module comment for the order.
 */
export function asBuiltFourierMasks(designed: ComplexTensor, errors: FourierMaskErrors = {}): ComplexTensor {
  const e = resolveFourierMaskErrors(errors);
  const [n, q, q2] = designed.re.shape;
  if (designed.re.shape.length !== 3 || q !== q2) throw new Error(`asBuiltFourierMasks: masks must be [n, Q, Q], got ${JSON.stringify(designed.re.shape)}`);
  const count = n! * q! * q!;
  const [re, im] = tf.tidy(() => {
    let amplitude = tf.sqrt(abs2(designed));
    let phase = tf.atan2(designed.im, designed.re);
    if (e.amplitudeErrorStd > 0) {
      const noise = tf.tensor3d(standardNormals(count, deriveSeed(e.seed, 41)), [n!, q!, q!]);
      amplitude = tf.clipByValue(tf.mul(amplitude, tf.add(1, tf.mul(noise, e.amplitudeErrorStd))), 0, 1);
    }
    if (e.phaseErrorStdRad > 0) {
      const noise = tf.tensor3d(standardNormals(count, deriveSeed(e.seed, 42)), [n!, q!, q!]);
      phase = tf.add(phase, tf.mul(noise, e.phaseErrorStdRad));
    }
    let mask: ComplexTensor = { re: tf.mul(amplitude, tf.cos(phase)), im: tf.mul(amplitude, tf.sin(phase)) };
    if (e.maskOffsetSamples[0] !== 0 || e.maskOffsetSamples[1] !== 0) {
      // M(f − Δ) = DFT{h(x)·exp(i2πΔx/Q)}: through the PSF, in the unshifted layout.
      const h = idft2d({ re: ifftshift2d(mask.re), im: ifftshift2d(mask.im) });
      const moved = dft2d(cmul(h, shiftRamp(q!, e.maskOffsetSamples)));
      mask = { re: fftshift2d(moved.re), im: fftshift2d(moved.im) };
    }
    return [mask.re, mask.im];
  });
  return { re, im };
}

/** Options of {@link fabricateFourier}. */
export interface FabricateFourierOptions {
  /** Image side the device will sense (sets the grid Q = 2·max(H, W)); default 28×28. */
  height?: number;
  width?: number;
}

/**
 * A fabricated 4f system: the frontend's masks with the mask errors, sensing through the Q×Q
 * Fourier-plane simulation, then the sensor errors of {@link FabricationErrors} (the PSF-level
 * kernel error δ does not apply: a 4f system's errors are the masks').
 */
export class FabricatedFourierDevice extends FabricatedDevice {
  /** The mask errors as resolved. */
  readonly maskErrors: ResolvedFourierMaskErrors;
  /** Side of the simulation grid. */
  readonly gridSize: number;
  /** Image size the device senses. */
  readonly imageShape: [number, number];
  private readonly masks: ComplexTensor;

  constructor(frontend: FourierFrontend, maskErrors: FourierMaskErrors = {}, sensorErrors: FabricationErrors = {}, opts: FabricateFourierOptions = {}) {
    if ((sensorErrors.kernelErrorStd ?? 0) !== 0) {
      throw new Error("FabricatedFourierDevice: kernelErrorStd must be 0; a 4f system's errors are its masks' (FourierMaskErrors)");
    }
    if (frontend.padding !== "same") throw new Error(`FabricatedFourierDevice: the frontend's padding must be "same", got "${frontend.padding}"`);
    const height = opts.height ?? 28;
    const width = opts.width ?? 28;
    const q = fourierSimulationGrid(height, width);
    if (frontend.kernelSize > q - Math.max(height, width) + 1) throw new Error(`FabricatedFourierDevice: kernel size ${frontend.kernelSize} does not fit the ${q}×${q} grid of ${height}×${width} images`);
    const designedMasks = frontend.fourierMasks(q);
    const masks = asBuiltFourierMasks(designedMasks, maskErrors);
    // The base class keeps intensity kernels |h|² (k×k) for drawing and channel bookkeeping.
    const intensity = (m: ComplexTensor) => tf.tidy(() => {
      const k = frontend.kernelSize;
      const h = idft2d({ re: ifftshift2d(m.re), im: ifftshift2d(m.im) });
      const centred = { re: fftshift2d(h.re), im: fftshift2d(h.im) };
      const start = Math.floor(q / 2) - Math.floor(k / 2);
      const window = abs2({ re: tf.slice(centred.re, [0, start, start], [-1, k, k]), im: tf.slice(centred.im, [0, start, start], [-1, k, k]) });
      const c = frontend.inputChannels;
      return tf.tile(tf.reshape(tf.transpose(window, [1, 2, 0]), [k, k, 1, -1]), [1, 1, c, 1]);
    });
    const designedIntensity = intensity(designedMasks);
    const builtIntensity = intensity(masks);
    const shape = designedIntensity.shape;
    super(designedIntensity.dataSync() as Float32Array, shape, { ...sensorErrors, kernelErrorStd: 0 }, { padding: "same", colorMode: "depthwise" }, builtIntensity.dataSync() as Float32Array);
    tf.dispose([designedIntensity, builtIntensity]);
    this.maskErrors = resolveFourierMaskErrors(maskErrors);
    this.gridSize = q;
    this.imageShape = [height, width];
    this.masks = { re: tf.keep(ifftshift2d(masks.re)), im: tf.keep(ifftshift2d(masks.im)) };
    cdispose(masks);
    cdispose(designedMasks);
  }

  /** The as-built masks [n, Q, Q], centred spectrum (new tensors: dispose them). */
  asBuiltMasks(): ComplexTensor {
    return { re: fftshift2d(this.masks.re), im: fftshift2d(this.masks.im) };
  }

  /** |Y|² with Y = IDFT(DFT(x padded to Q×Q) · M'), cropped to H×W; colour-major channels. */
  protected override opticalImage(x: Tensor): Tensor {
    const [, h, w, c] = x.shape as [number, number, number, number];
    if (h !== this.imageShape[0] || w !== this.imageShape[1]) {
      throw new Error(`FabricatedFourierDevice: built for ${this.imageShape[0]}×${this.imageShape[1]} images, got ${h}×${w}`);
    }
    const q = this.gridSize;
    return tf.tidy(() => {
      const fields = tf.pad(tf.transpose(x, [0, 3, 1, 2]), [[0, 0], [0, 0], [0, q - h], [0, q - w]]);
      const spectrum = dft2d({ re: fields, im: tf.zerosLike(fields) });
      const n = this.masks.re.shape[0]!;
      // [b, c, 1, Q, Q] × [1, 1, n, Q, Q] -> [b, c, n, Q, Q]
      const expand = (t: Tensor) => tf.expandDims(t, 2);
      const product = cmul({ re: expand(spectrum.re), im: expand(spectrum.im) }, { re: tf.reshape(this.masks.re, [1, 1, n, q, q]), im: tf.reshape(this.masks.im, [1, 1, n, q, q]) });
      const out = idft2d(product);
      const intensity = tf.slice(abs2(out), [0, 0, 0, 0, 0], [-1, -1, -1, h, w]);
      // [b, c, n, H, W] -> [b, H, W, c·n], colour-major like the frontend's channels.
      return tf.reshape(tf.transpose(intensity, [0, 3, 4, 1, 2]), [-1, h, w, c * n]);
    });
  }

  override dispose(): void {
    cdispose(this.masks);
    super.dispose();
  }
}

/** A fabricated 4f system from a trained `FourierFrontend`; see {@link FabricatedFourierDevice}. */
export function fabricateFourier(frontend: FourierFrontend, maskErrors: FourierMaskErrors = {}, sensorErrors: FabricationErrors = {}, opts: FabricateFourierOptions = {}): FabricatedFourierDevice {
  return new FabricatedFourierDevice(frontend, maskErrors, sensorErrors, opts);
}
