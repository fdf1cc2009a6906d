/**
 * A simulated fabricated device: the designed PSF kernels with the errors of
 * {@link FabricationErrors} applied, sensing images the way the fabricated optics would.
 * A device with no error senses exactly what the simulated frontend outputs.
 */
import type { Tensor, Tensor4D } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import { makeRng, tfSeed } from "../runtime/seed";
import type { ImageDataset } from "../data/types";
import { resolveFabricationErrors, type FabricationErrors, type ResolvedFabricationErrors } from "./errors";
import { applyWarp, isIdentityMisalignment, warpMatrix } from "./warp";
import { psfToConv2dKernel } from "../optics/psf";
import { heatmapChart } from "../viz/charts";
import type { Grid2D, VegaLiteSpec } from "../viz/types";
import { blockDiagonalFilter } from "../models/frontends/common";
import { INTENSITY_ENERGY_RULES, dilateKernels, type ColorMode, type OpticalFrontend } from "../models/frontends/optical-frontend";

/** How the device's sensor is read out (the frontend's layout). */
export interface DeviceReadout {
  /** "same" (default) or "valid", the frontend's padding. */
  padding?: "same" | "valid";
  /**
   * "sum" (default: a monochrome sensor adds the colour responses, one channel per kernel) or
   * "depthwise" (a colour sensor, one channel per colour and kernel, colour-major c·kernels + j).
   */
  colorMode?: ColorMode;
  /**
   * s×s pixel binning after the sensor (default 1: none): the device's PSFs live on the
   * full-resolution sensor, where misalignment (in full-resolution pixels), gain, noise and
   * quantisation act; the readout then averages s×s blocks (digital binning of quantised
   * pixels, so the noise std of a binned pixel is σ/s). H and W must be divisible by s.
   */
  binning?: number;
}

/** Options of {@link FabricatedDevice.fromFrontend}. */
export interface FromFrontendOptions {
  /**
   * The frontend reads an s×s-binned sensor (e.g. a segmentation ONN group): its k×k kernels are
   * in binned pixels. The device places their taps s pixels apart on the full-resolution sensor
   * (`dilateKernels`), so that at zero error it senses exactly what the frontend outputs, and
   * reads out with `binning` s (see {@link DeviceReadout.binning}). Default 1.
   */
  binning?: number;
}

/** Standard normal draws from a seeded uniform generator (Box-Muller, both outputs used). */
export function standardNormals(count: number, seed: number): Float32Array {
  const rand = makeRng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Applies the kernel error δ to designed PSFs [k, k, in, out]; intensities stay ≥ 0. */
export function perturbKernels(designed: Float32Array, shape: number[], errors: ResolvedFabricationErrors): Float32Array {
  const out = Float32Array.from(designed);
  if (errors.kernelErrorStd === 0) return out;
  const outChannels = shape[3];
  const noise = standardNormals(designed.length, errors.seed * 2 + 1);
  const peak = new Float32Array(outChannels);
  for (let i = 0; i < designed.length; i++) peak[i % outChannels] = Math.max(peak[i % outChannels], designed[i]);
  for (let i = 0; i < designed.length; i++) {
    const scale = errors.kernelErrorMode === "additive" ? peak[i % outChannels] : designed[i];
    out[i] = Math.max(0, designed[i] + errors.kernelErrorStd * scale * noise[i]);
  }
  return out;
}

/** Options of {@link FabricatedDevice.capture}. */
export interface CaptureOptions {
  /** Images per forward pass (default 256). */
  batchSize?: number;
  /** Seed of the sensor noise of this capture session (default: the device's seed). */
  noiseSeed?: number;
}

/** A fabricated optical frontend: perturbed kernels, gain, misalignment, noise, quantisation. */
export class FabricatedDevice {
  readonly errors: ResolvedFabricationErrors;
  /** Designed PSFs [k, k, in, out], optical (convolution) orientation. */
  readonly designed: Float32Array;
  /** Fabricated PSFs (as-built PSFs + δ, clipped at 0), same layout. */
  readonly fabricated: Float32Array;
  readonly kernelShape: [number, number, number, number];
  private readonly psf: Tensor4D;
  private readonly padding: "same" | "valid";
  /** Colour handling of the sensor (see {@link DeviceReadout.colorMode}). */
  readonly colorMode: ColorMode;
  /** Pixel binning of the readout (see {@link DeviceReadout.binning}). */
  readonly binning: number;
  private warp: { key: string; matrix: Tensor } | null = null;

  /**
   * `designed`: PSFs [k, k, in, kernels] in optical orientation (the layout of `OpticalKernels`),
   * finite and ≥ 0; `readout`: the padding string (old form) or a {@link DeviceReadout};
   * `asBuilt`: the PSFs the built optics produce before the PSF-level error δ, same layout (e.g.
   * from metasurface-level errors through the wave optics, `fabricateMetasurface`); default
   * `designed`. δ is drawn on them.
   */
  constructor(designed: Float32Array, kernelShape: number[], errors: FabricationErrors = {}, readout: "same" | "valid" | DeviceReadout = {}, asBuilt: Float32Array = designed) {
    if (kernelShape.length !== 4 || kernelShape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new Error(`FabricatedDevice: kernelShape must be [k, k, inChannels, kernels], got ${JSON.stringify(kernelShape)}`);
    }
    const size = kernelShape.reduce((a, b) => a * b, 1);
    if (designed.length !== size) throw new Error(`FabricatedDevice: ${designed.length} kernel values do not fill shape ${JSON.stringify(kernelShape)}`);
    if (asBuilt.length !== size) throw new Error(`FabricatedDevice: ${asBuilt.length} as-built kernel values do not fill shape ${JSON.stringify(kernelShape)}`);
    for (const [which, values] of [["designed", designed], ["as-built", asBuilt]] as const) {
      for (let i = 0; i < values.length; i++) {
        if (!(values[i] >= 0) || !Number.isFinite(values[i])) {
          throw new Error(`FabricatedDevice: ${which} kernel value ${i} is ${values[i]}; optical PSF kernels must be finite and >= 0`);
        }
      }
    }
    this.errors = resolveFabricationErrors(errors);
    this.kernelShape = kernelShape as [number, number, number, number];
    this.designed = Float32Array.from(designed);
    this.fabricated = perturbKernels(asBuilt, kernelShape, this.errors);
    const r: DeviceReadout = typeof readout === "string" ? { padding: readout } : readout;
    this.padding = r.padding ?? "same";
    if (this.padding !== "same" && this.padding !== "valid") throw new Error(`FabricatedDevice: padding must be "same" or "valid", got ${JSON.stringify(this.padding)}`);
    this.colorMode = r.colorMode ?? "sum";
    if (this.colorMode !== "sum" && this.colorMode !== "depthwise") throw new Error(`FabricatedDevice: colorMode must be "sum" or "depthwise", got ${JSON.stringify(this.colorMode)}`);
    this.binning = r.binning ?? 1;
    if (!Number.isInteger(this.binning) || this.binning < 1) throw new Error(`FabricatedDevice: binning must be a positive integer, got ${String(this.binning)}`);
    if (this.binning > 1 && this.padding !== "same") throw new Error(`FabricatedDevice: binning needs "same" padding`);
    this.psf = tf.keep(tf.tensor4d(this.fabricated, this.kernelShape));
  }

  /**
   * A device from any {@link OpticalFrontend}: its current kernels (`opticalKernels()`),
   * perturbed, read out with the frontend's padding and colour mode. The frontend must hold
   * intensity PSFs (energy rule "unit" or "bounded") without a signed readout.
   */
  static fromFrontend(frontend: OpticalFrontend, errors: FabricationErrors = {}, opts: FromFrontendOptions = {}): FabricatedDevice {
    if (!INTENSITY_ENERGY_RULES.includes(frontend.energyRule)) {
      throw new Error(`FabricatedDevice.fromFrontend: the frontend's energy rule is "${frontend.energyRule}"; a fabricated device holds intensity PSFs ("unit" or "bounded")`);
    }
    if (frontend.signedReadout !== "none") {
      throw new Error(`FabricatedDevice.fromFrontend: signed readout "${frontend.signedReadout}" is not modelled yet; use a frontend with signed "none"`);
    }
    const binning = opts.binning ?? 1;
    const kernels = dilateKernels(frontend.opticalKernels(), binning);
    return new FabricatedDevice(kernels.values, kernels.shape, errors, { padding: frontend.padding, colorMode: frontend.colorMode, binning });
  }

  /** Number of kernels (PSFs). */
  get kernels(): number {
    return this.kernelShape[3];
  }

  /** Sensor channels per pixel: kernels, times colours for a "depthwise" colour sensor. */
  get sensorChannels(): number {
    return this.colorMode === "depthwise" ? this.kernelShape[2] * this.kernelShape[3] : this.kernelShape[3];
  }

  private warpFor(height: number, width: number): Tensor | null {
    const m = this.errors.misalignment;
    if (isIdentityMisalignment(m)) return null;
    const key = `${height}x${width}`;
    if (this.warp?.key !== key) {
      this.warp?.matrix.dispose();
      this.warp = { key, matrix: tf.keep(tf.tensor2d(warpMatrix(height, width, m), [height * width, height * width])) };
    }
    return this.warp.matrix;
  }

  /**
   * The light on the sensor, before gain, misalignment, noise and binning: [n, H', W',
   * sensorChannels] for images [n, H, W, in]. An incoherent device convolves with its PSFs; a
   * coherent one (`FabricatedFourierDevice`) overrides this.
   */
  protected opticalImage(x: Tensor): Tensor {
    return tf.tidy(() => {
      const kernel = psfToConv2dKernel(this.psf);
      const filter = this.colorMode === "depthwise" ? blockDiagonalFilter(kernel) : kernel;
      return tf.conv2d(x as Tensor4D, filter, 1, this.padding);
    });
  }

  /**
   * Sensor images [n, H'/s, W'/s, sensorChannels] for images [n, H, W, in] (stride 1, the
   * frontend's padding, binning s). `noiseSeed` fixes the noise realisation of this call.
   */
  sense(x: Tensor, noiseSeed = this.errors.seed): Tensor {
    const c = x.shape[3];
    if (x.rank !== 4 || c !== this.kernelShape[2]) {
      throw new Error(`FabricatedDevice.sense: expected images [n, H, W, ${this.kernelShape[2]}], got ${JSON.stringify(x.shape)}`);
    }
    if (this.binning > 1 && ((x.shape[1] as number) % this.binning !== 0 || (x.shape[2] as number) % this.binning !== 0)) {
      throw new Error(`FabricatedDevice.sense: image ${x.shape[1]}x${x.shape[2]} is not divisible by the binning ${this.binning}`);
    }
    return tf.tidy(() => {
      let y = this.opticalImage(x);
      const warp = this.warpFor(y.shape[1] as number, y.shape[2] as number);
      if (warp) y = applyWarp(y, warp);
      if (this.errors.gain !== 1) y = tf.mul(y, this.errors.gain);
      if (this.errors.noiseStd > 0) y = tf.add(y, tf.randomNormal(y.shape, 0, this.errors.noiseStd, "float32", tfSeed(noiseSeed)));
      if (this.errors.bitDepth !== null) {
        const levels = 2 ** this.errors.bitDepth - 1;
        const step = this.errors.fullScale / levels;
        y = tf.mul(tf.round(tf.div(tf.clipByValue(y, 0, this.errors.fullScale), step)), step);
      }
      if (this.binning > 1) y = tf.avgPool(y as Tensor4D, this.binning, this.binning, "valid");
      return y;
    });
  }

  /**
   * Captures a dataset through the device, as showing it on a display and photographing it:
   * returns sensor images, NHWC [count, H', W', sensorChannels], one noise realisation per image fixed at
   * capture time (so training on the capture is deterministic, like training on saved photos).
   */
  capture(ds: Pick<ImageDataset, "name" | "images" | "count" | "height" | "width" | "channels">, opts: CaptureOptions = {}): Float32Array {
    const batchSize = opts.batchSize ?? 256;
    const noiseSeed = opts.noiseSeed ?? this.errors.seed;
    const per = ds.height * ds.width;
    const out = new Float32Array(ds.count * this.sensorPixels(ds.height, ds.width) * this.sensorChannels);
    for (let start = 0, b = 0; start < ds.count; start += batchSize, b++) {
      const n = Math.min(batchSize, ds.count - start);
      const x = tf.tensor4d(ds.images.subarray(start * per * ds.channels, (start + n) * per * ds.channels), [n, ds.height, ds.width, ds.channels]);
      const y = this.sense(x, noiseSeed * 7919 + b);
      out.set(y.dataSync() as Float32Array, start * this.sensorPixels(ds.height, ds.width) * this.sensorChannels);
      tf.dispose([x, y]);
    }
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i])) throw new Error(`FabricatedDevice.capture: sensor value ${i} of ${ds.name} is ${out[i]}`);
    }
    return out;
  }

  /** PSF `kernel` (of input channel `channel`) as a grid, from `which` ("designed" or "fabricated"). */
  psfGrid(which: "designed" | "fabricated", kernel: number, channel = 0): Grid2D {
    const [k1, k2, c, n] = this.kernelShape;
    if (!(kernel >= 0 && kernel < n) || !(channel >= 0 && channel < c)) throw new Error(`FabricatedDevice.psfGrid: kernel ${kernel} / channel ${channel} out of range (${n} kernels, ${c} channels)`);
    const src = which === "designed" ? this.designed : this.fabricated;
    const values = new Float64Array(k1 * k2);
    for (let p = 0; p < k1 * k2; p++) values[p] = src[(p * c + channel) * n + kernel];
    return { values, height: k1, width: k2 };
  }

  /** Designed (top row) and fabricated (bottom row) PSFs side by side, on one colour scale. */
  draw(opts: { kernels?: number; title?: string } = {}): VegaLiteSpec {
    const count = Math.min(opts.kernels ?? this.kernels, this.kernels);
    const grids: Grid2D[] = [];
    const titles: string[] = [];
    for (const which of ["designed", "fabricated"] as const) {
      for (let j = 0; j < count; j++) {
        grids.push(this.psfGrid(which, j));
        titles.push(`${which} ${j}`);
      }
    }
    return heatmapChart(grids, { titles, columns: count, title: opts.title ?? "Designed vs fabricated PSFs", colorTitle: "intensity" });
  }

  /** Sensor pixels per channel for an H×W image (after binning). */
  sensorPixels(height: number, width: number): number {
    if (this.padding === "same") return (height / this.binning) * (width / this.binning);
    const k = this.kernelShape[0];
    return (height - k + 1) * (width - this.kernelShape[1] + 1);
  }

  /** Frees the device's tensors. */
  dispose(): void {
    this.psf.dispose();
    this.warp?.matrix.dispose();
    this.warp = null;
  }
}
