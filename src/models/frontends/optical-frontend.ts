/**
 * The one typed interface every optical frontend implements (DESIGN.md §1), so that students
 * expose their optics the same way and fabrication, charts and estimation read any of them.
 *
 * The kernel layout is fixed once, here: {@link OpticalKernels} holds plain Float32Arrays in
 * row-major [kernelSize, kernelSize, inputChannels, count] order (tfjs's conv2d filter layout),
 * in OPTICAL orientation: the array is the PSF as it lands on the sensor, and the sensor image
 * is the convolution (not the cross-correlation) of the scene with it. Index of tap (r, c),
 * colour ch, kernel j: ((r·kernelSize + c)·inputChannels + ch)·count + j.
 */
import type { VegaLiteSpec } from "../../viz/types";

/**
 * What an optical frontend's kernel values obey.
 * - "unit": intensity PSFs, ≥ 0, each (kernel, colour) sums to 1 (incoherent, lossless);
 * - "bounded": intensity PSFs, ≥ 0, each sums to at most 1 (incoherent, passive);
 * - "signed": real kernels of any sign (a digital convolution, or optics followed by a digital
 *   subtraction such as PSF pairs);
 * - "coherent-passive": complex coherent PSFs whose Fourier-plane mask has |M| ≤ 1; the sensor
 *   records |scene ⊛ h|², so the kernels do not act linearly on intensity.
 */
export type EnergyRule = "unit" | "bounded" | "signed" | "coherent-passive";

/** The energy rules whose kernels are non-negative intensity PSFs (what a fabricated device holds). */
export const INTENSITY_ENERGY_RULES: readonly EnergyRule[] = ["unit", "bounded"];

/** A frontend's kernels as plain arrays (see the module comment for the layout). */
export interface OpticalKernels {
  /** Real parts (the intensity PSFs of incoherent optics), [kernelSize, kernelSize, inputChannels, count], optical orientation. */
  values: Float32Array;
  /** Imaginary parts in the same layout for coherent frontends ("coherent-passive"); null otherwise. */
  imag: Float32Array | null;
  /** [kernelSize, kernelSize, inputChannels, count]. */
  shape: [number, number, number, number];
  /** Kernel side in sensor pixels. */
  kernelSize: number;
  /** Colour channels each kernel reads. */
  inputChannels: number;
  /** Number of physical kernels. */
  count: number;
  /** What the values obey. */
  energyRule: EnergyRule;
}

/** How a multi-colour frontend's sensor treats colours. */
export type ColorMode =
  /** A colour sensor: one output channel per (colour, kernel), colour-major (channel c·count + j). */
  | "depthwise"
  /** A monochrome sensor: the colour responses of a kernel add up, one channel per kernel. */
  | "sum";

/** How a frontend turns its physical kernels into signed outputs, if at all (see PsfConvFrontend). */
export type SignedReadout = "none" | "pairs" | "offset";

/** The interface of every optical frontend (DESIGN.md §1). */
export interface OpticalFrontend {
  /** Kernel side in sensor pixels. */
  readonly kernelSize: number;
  /** Colour channels the frontend reads (1 grey, 3 RGB). */
  readonly inputChannels: number;
  /** Number of physical kernels (PSFs); 2·kernels for PSF pairs. */
  readonly kernelCount: number;
  /** Channels of the sensor image the frontend outputs. */
  readonly outputChannels: number;
  /** "same" keeps the image size (zero padding); "valid" crops kernelSize − 1. */
  readonly padding: "same" | "valid";
  /** Colour handling of the sensor. */
  readonly colorMode: ColorMode;
  /** Digital post-processing that makes outputs signed ("none": outputs are the optical images). */
  readonly signedReadout: SignedReadout;
  /** What the kernel values obey. */
  readonly energyRule: EnergyRule;
  /** The current physical kernels as plain arrays (a copy; throws when the layer is not built). */
  opticalKernels(): OpticalKernels;
  /** A chart of the optics (kernels, and heights or masks where the frontend has them) for `show()`. */
  draw(opts?: FrontendDrawOptions): VegaLiteSpec;
}

/** Options of {@link OpticalFrontend.draw}. */
export interface FrontendDrawOptions {
  /** Whose optics these are, put in front of the title (e.g. "NTKD student, seed 0"). */
  label?: string;
}

/** A frontend chart's title with the caller's label in front. */
export function labelledTitle(title: string, opts: FrontendDrawOptions = {}): string {
  return opts.label ? `${opts.label}: ${title}` : title;
}

/** Whether `x` implements {@link OpticalFrontend} (structurally). */
export function isOpticalFrontend(x: unknown): x is OpticalFrontend {
  const f = x as Partial<OpticalFrontend> | null;
  return f !== null && typeof f === "object" && typeof f.opticalKernels === "function" && typeof f.draw === "function"
    && typeof f.kernelSize === "number" && typeof f.inputChannels === "number" && typeof f.energyRule === "string";
}

/** Wraps downloaded kernel values (layout of the module comment) with their shape fields. */
export function makeOpticalKernels(values: Float32Array, shape: readonly number[], energyRule: EnergyRule, imag: Float32Array | null = null): OpticalKernels {
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`makeOpticalKernels: shape must be [k, k, inputChannels, count] of positive integers, got [${shape}]`);
  if (shape[0] !== shape[1]) throw new Error(`makeOpticalKernels: kernels must be square, got [${shape}]`);
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  if (values.length !== size) throw new Error(`makeOpticalKernels: ${values.length} values do not fill [${shape}]`);
  if (imag !== null && imag.length !== size) throw new Error(`makeOpticalKernels: ${imag.length} imaginary values do not fill [${shape}]`);
  return { values, imag, shape: [shape[0], shape[1], shape[2], shape[3]], kernelSize: shape[0], inputChannels: shape[2], count: shape[3], energyRule };
}

/**
 * Kernels defined on an s×s-binned sensor grid, as PSFs on the full-resolution grid: tap (r, c)
 * moves to (s·r, s·c), so a k×k kernel becomes s(k − 1) + 1 pixels wide with zeros between taps.
 * Correlating the full-resolution scene with the dilated kernel and then averaging s×s pixel
 * blocks equals, exactly, binning first and applying the k×k kernel ("same" padding, odd k, H
 * and W divisible by s): the binning supplies the box between the taps. Energy is unchanged.
 */
export function dilateKernels(kernels: OpticalKernels, binning: number): OpticalKernels {
  if (!Number.isInteger(binning) || binning < 1) throw new Error(`dilateKernels: binning must be a positive integer, got ${binning}`);
  if (binning === 1) return kernels;
  const { kernelSize: k, inputChannels: c, count: n } = kernels;
  if (k % 2 === 0) throw new Error(`dilateKernels: kernelSize ${k} is even; binned readout is modelled for odd kernels only ("same" padding centres them)`);
  const big = binning * (k - 1) + 1;
  const move = (src: Float32Array): Float32Array => {
    const out = new Float32Array(big * big * c * n);
    for (let r = 0; r < k; r++) {
      for (let q = 0; q < k; q++) {
        const from = (r * k + q) * c * n;
        out.set(src.subarray(from, from + c * n), (binning * r * big + binning * q) * c * n);
      }
    }
    return out;
  };
  return makeOpticalKernels(move(kernels.values), [big, big, c, n], kernels.energyRule, kernels.imag === null ? null : move(kernels.imag));
}
