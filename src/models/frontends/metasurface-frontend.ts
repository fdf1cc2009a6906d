/**
 * MetasurfaceFrontend: learns the height profile of n sub-aperture meta-optics (the layout of
 * paper Eq. 1, reading (a): one sub-aperture per kernel); its kernels come from wave optics.
 *
 * Per kernel j and colour c: a plane wave (an on-axis point at infinity) passes a circular
 * aperture and the phase 2π·(n − 1)·h_j/λ_c of the wrapped (optionally N-level quantised)
 * heights h_j, propagates `distanceM` to the sensor (band-limited angular spectrum), and the
 * intensity is integrated over k×k sensor pixels of `pixelPitchM` around the axis and
 * normalised to unit sum. The resulting PSFs [k, k, C, n] then act like PsfConvFrontend's:
 * flipped into conv2d orientation, depthwise per colour. Heights are stored in waves of the
 * design wavelength (h = w·λ_d/(n − 1)) so the optimiser sees O(1) numbers.
 * Initialisation: a lens focusing λ_d at `distanceM`, plus Gaussian noise (`initNoise`
 * waves) so the kernels differ.
 */
import { tf } from "../../runtime/tf";
import { tfSeed } from "../../runtime/seed";
import { CircularAperture } from "../../optics/elements";
import { fabricatedHeights } from "../../optics/metasurface";
import { propagate } from "../../optics/propagation";
import { integratePixels } from "../../optics/sensor";
import { abs2 } from "../../optics/complex";
import { psfToConv2dKernel } from "../../optics/psf";
import { evaluateOnGrid } from "../../optics/field";
import { drawTensors, stackCharts } from "../../optics/draw";
import { formatLength, RGB_WAVELENGTHS_M, GREEN_WAVELENGTH_M } from "../../optics/units";
import { OpticsWarnings } from "../../optics/warnings";
import type { VegaLiteSpec } from "../../viz/types";
import { labelledTitle, type FrontendDrawOptions, type OpticalFrontend, type OpticalKernels } from "./optical-frontend";
import {
  baseConfig, blockDiagonalFilter, checkInputShape, convOutputShape, convolve, singleInput,
  OpticalFrontendLayer, type FrontendBaseArgs, positiveArg, downloadKernels,
} from "./common";

/** Arguments of MetasurfaceFrontend. */
export interface MetasurfaceFrontendArgs extends FrontendBaseArgs {
  /** Simulation samples per side of one sub-aperture (default 32). */
  gridSize?: number;
  /** Simulation pitch on the metasurface, metres (default 2 µm; a Fourier-optics cell, not a meta-atom). */
  cellPitchM?: number;
  /** Metasurface-to-sensor distance, metres (default 0.5 mm). */
  distanceM?: number;
  /** Sensor pixel pitch, metres (default 4 µm); the kernel window is kernelSize pixels. */
  pixelPitchM?: number;
  /** One wavelength per input channel, metres (default [532 nm] grey, [640, 530, 450] nm RGB). */
  wavelengthsM?: number[];
  /** Wavelength the heights are designed for, metres (default the middle of wavelengthsM). */
  designWavelengthM?: number;
  /** Refractive index of the pillars (default 1.5, dispersion ignored). */
  refractiveIndex?: number;
  /** Fabricable height levels per 2π (straight-through gradient); absent: continuous. */
  quantizationLevels?: number;
  /** Std of the initial height noise in waves (default 0.1). */
  initNoise?: number;
  /** Zero-padding factor of the propagation (default 2). */
  paddingFactor?: number;
}

const CLASS_NAME = "MetasurfaceFrontend";

interface Geometry {
  gridSize: number;
  cellPitchM: number;
  distanceM: number;
  pixelPitchM: number;
  wavelengthsM: number[];
  designWavelengthM: number;
  refractiveIndex: number;
  quantizationLevels: number | null;
  initNoise: number;
  paddingFactor: number;
}

export class MetasurfaceFrontend extends OpticalFrontendLayer implements OpticalFrontend {
  static className = CLASS_NAME;
  readonly geometry: Geometry;
  /** Guard-rail findings of the propagation (sampling, regime). */
  readonly warnings = new OpticsWarnings();
  private heights: tf.LayerVariable | null = null;

  constructor(args: MetasurfaceFrontendArgs) {
    super(CLASS_NAME, args);
    const pos = (name: string, v: number | undefined, def: number): number => positiveArg(CLASS_NAME, name, v, def);
    const c = this.base.inputChannels;
    const wavelengthsM = args.wavelengthsM ?? (c === 1 ? [GREEN_WAVELENGTH_M] : c === 3 ? [...RGB_WAVELENGTHS_M] : []);
    if (!Array.isArray(wavelengthsM) || wavelengthsM.length !== c) {
      throw new Error(`${CLASS_NAME}: wavelengthsM must give one wavelength per input channel (${c}), got ${JSON.stringify(args.wavelengthsM)}`);
    }
    wavelengthsM.forEach((w, i) => pos(`wavelengthsM[${i}]`, w, w));
    const gridSize = args.gridSize ?? 32;
    if (!Number.isInteger(gridSize) || gridSize < 4) throw new Error(`${CLASS_NAME}: gridSize must be an integer >= 4, got ${String(gridSize)}`);
    const q = args.quantizationLevels ?? null;
    if (q !== null && (!Number.isInteger(q) || q < 2)) throw new Error(`${CLASS_NAME}: quantizationLevels must be an integer >= 2, got ${String(q)}`);
    const n = pos("refractiveIndex", args.refractiveIndex, 1.5);
    if (n <= 1) throw new Error(`${CLASS_NAME}: refractiveIndex must be > 1, got ${n}`);
    const initNoise = args.initNoise ?? 0.1;
    if (!Number.isFinite(initNoise) || initNoise < 0) throw new Error(`${CLASS_NAME}: initNoise must be a finite number >= 0, got ${initNoise}`);
    this.geometry = {
      gridSize,
      cellPitchM: pos("cellPitchM", args.cellPitchM, 2e-6),
      distanceM: pos("distanceM", args.distanceM, 0.5e-3),
      pixelPitchM: pos("pixelPitchM", args.pixelPitchM, 4e-6),
      wavelengthsM,
      designWavelengthM: pos("designWavelengthM", args.designWavelengthM, wavelengthsM[Math.floor(wavelengthsM.length / 2)]),
      refractiveIndex: n,
      quantizationLevels: q,
      initNoise,
      paddingFactor: pos("paddingFactor", args.paddingFactor, 2),
    };
    const g = this.geometry;
    const windowM = this.base.kernelSize * g.pixelPitchM;
    if (windowM > g.gridSize * g.cellPitchM) {
      throw new Error(`${CLASS_NAME}: the kernel window (kernelSize ${this.base.kernelSize} × pixelPitchM ${formatLength(g.pixelPitchM)} = ${formatLength(windowM)}) is wider than the sub-aperture grid (gridSize ${g.gridSize} × cellPitchM ${formatLength(g.cellPitchM)}); enlarge gridSize or cellPitchM, or shrink pixelPitchM`);
    }
    if (g.cellPitchM > g.pixelPitchM) {
      this.warnings.add("undersampling", CLASS_NAME, `cellPitchM ${formatLength(g.cellPitchM)} is coarser than a sensor pixel ${formatLength(g.pixelPitchM)}: the PSFs are undersampled`);
    }
  }

  /** Number of sub-aperture kernels ({@link OpticalFrontend}). */
  get kernelCount(): number {
    return this.base.kernels;
  }

  /** One sensor channel per colour and kernel. */
  get outputChannels(): number {
    return this.base.inputChannels * this.base.kernels;
  }

  /** A colour sensor keeps the colours apart. */
  readonly colorMode = "depthwise" as const;
  /** Outputs are the optical images. */
  readonly signedReadout = "none" as const;
  /** Propagated intensities normalised to unit sum per kernel and colour. */
  readonly energyRule = "unit" as const;

  /** The PSFs ({@link psfs}) as plain arrays ({@link OpticalFrontend}). */
  opticalKernels(): OpticalKernels {
    return downloadKernels(this.psfs(), this.energyRule);
  }

  /** The height (metres) of one wave at the design wavelength: λ_d/(n − 1). */
  get waveHeightM(): number {
    return this.geometry.designWavelengthM / (this.geometry.refractiveIndex - 1);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    checkInputShape(CLASS_NAME, shape, this.base);
    const g = this.geometry;
    const n = this.base.kernels;
    this.heights = this.addWeight("heights_waves", [n, g.gridSize, g.gridSize], "float32", tf.initializers.zeros());
    const lens = evaluateOnGrid(g.gridSize, g.gridSize, g.cellPitchM, (x, y) => -(x * x + y * y) / (2 * g.designWavelengthM * g.distanceM));
    const init = tf.tidy(() => {
      const lensT = tf.tensor3d(Float32Array.from(lens), [1, g.gridSize, g.gridSize]);
      const wrapped = tf.sub(lensT, tf.floor(lensT));
      return tf.add(wrapped, tf.randomNormal([n, g.gridSize, g.gridSize], 0, g.initNoise, "float32", tfSeed(this.base.seed)));
    });
    this.heights.write(init);
    init.dispose();
    this.built = true;
  }

  private requireBuilt(what: string): tf.LayerVariable {
    if (this.heights === null) throw new Error(`${CLASS_NAME}.${what}: the layer is not built yet; call it on an input first`);
    return this.heights;
  }

  /** The fabricated (wrapped, optionally quantised) heights in metres, [n, G, G]. */
  heightsM(): tf.Tensor3D {
    const h = this.requireBuilt("heightsM");
    return tf.tidy(() => tf.mul(this.fabricatedWaves(h.read()), this.waveHeightM) as tf.Tensor3D);
  }

  private fabricatedWaves(w: tf.Tensor): tf.Tensor {
    const q = this.geometry.quantizationLevels;
    return fabricatedHeights(w, q === null ? { wrapHeightM: 1 } : { wrapHeightM: 1, quantizationLevels: q });
  }

  /** The PSFs [k, k, C, n] from propagation, unit sum per kernel and colour, optical orientation. */
  psfs(): tf.Tensor4D {
    const heights = this.requireBuilt("psfs");
    const g = this.geometry;
    const k = this.base.kernelSize;
    const aperture = new CircularAperture({ diameterM: g.gridSize * g.cellPitchM }).transmission(g.gridSize, g.gridSize, g.cellPitchM);
    return tf.tidy(() => {
      const waves = this.fabricatedWaves(heights.read());
      const amp = tf.tensor2d(Float32Array.from(aperture), [g.gridSize, g.gridSize]);
      const perColour = g.wavelengthsM.map((wavelengthM) => {
        const phase = tf.mul(waves, (2 * Math.PI * g.designWavelengthM) / wavelengthM);
        const field = { re: tf.mul(amp, tf.cos(phase)), im: tf.mul(amp, tf.sin(phase)), pitchM: g.cellPitchM, wavelengthM };
        const out = propagate(field, { distanceM: g.distanceM, paddingFactor: g.paddingFactor, warnings: this.warnings });
        const kernel = integratePixels(abs2(out), g.cellPitchM, { pixels: [k, k], pixelPitchM: g.pixelPitchM });
        return tf.div(kernel, tf.add(tf.sum(kernel, [1, 2], true), 1e-30)); // [n, k, k]
      });
      return tf.transpose(tf.stack(perColour, 0), [2, 3, 0, 1]) as tf.Tensor4D;
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return convOutputShape(shape, this.base, this.base.inputChannels * this.base.kernels);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(CLASS_NAME, inputs);
      return convolve(x, blockDiagonalFilter(psfToConv2dKernel(this.psfs())), this.base.padding);
    });
  }

  /** Heights (µm) and PSFs (first colour) of every kernel, as two stacked heatmap rows. */
  draw(opts: FrontendDrawOptions = {}): VegaLiteSpec {
    const h = this.heightsM();
    const p = this.psfs();
    const n = this.base.kernels;
    const [k1, k2] = p.shape;
    const heights = tf.tidy(() => tf.unstack(tf.mul(h, 1e6)));
    const kernels = tf.tidy(() => tf.unstack(tf.transpose(tf.slice(p, [0, 0, 0, 0], [k1, k2, 1, n]), [3, 2, 0, 1]).reshape([n, k1, k2])));
    const spec = stackCharts([
      drawTensors(heights, heights.map((_, j) => `height ${j}`), { colorTitle: "height (µm)" }),
      drawTensors(kernels, kernels.map((_, j) => `PSF ${j}`), { colorTitle: "intensity (fraction of light)" }),
    ], labelledTitle(`Metasurface optics: heights and ${n} PSFs (${k1}×${k2} px at ${formatLength(this.geometry.pixelPitchM)} pitch, ${formatLength(this.geometry.wavelengthsM[0])})`, opts));
    tf.dispose([h, p, ...heights, ...kernels]);
    return spec;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const g = this.geometry;
    const cfg: tf.serialization.ConfigDict = {
      ...super.getConfig(), ...baseConfig(this.base),
      gridSize: g.gridSize, cellPitchM: g.cellPitchM, distanceM: g.distanceM, pixelPitchM: g.pixelPitchM,
      wavelengthsM: g.wavelengthsM, designWavelengthM: g.designWavelengthM, refractiveIndex: g.refractiveIndex,
      initNoise: g.initNoise, paddingFactor: g.paddingFactor,
    };
    if (g.quantizationLevels !== null) cfg.quantizationLevels = g.quantizationLevels;
    return cfg;
  }
}
tf.serialization.registerClass(MetasurfaceFrontend);
