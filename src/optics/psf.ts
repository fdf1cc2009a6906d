/**
 * Point spread functions: a point source through a chain of elements to the sensor, as an
 * incoherent intensity kernel sampled at sensor pixels — and the explicit flip between optical
 * convolution and tfjs conv2d (which is cross-correlation).
 *
 * Optics convolves: out(x) = Σ_u I(x − u)·PSF(u). conv2d correlates: out(x) = Σ_u I(x + u)·K(u).
 * So K(u) = PSF(−u): the conv2d kernel is the PSF rotated by 180°. `psfToConv2dKernel` and
 * `conv2dKernelToPsf` (the same involution) make that step visible wherever it happens.
 */
import { tf } from "../runtime/tf";
import { applyElements, type OpticalElement } from "./elements";
import { fieldPower, intensity, planeWave, sphericalWave, type OpticalField } from "./field";
import { integratePixels } from "./sensor";
import { formatLength, requireInteger, requireOneOf, requirePositive } from "./units";
import { OpticsWarnings } from "./warnings";

/** How a PSF is normalised. */
export type PsfNormalization = "unit-sum" | "transmitted" | "none";

/** Options of `systemPsf`. */
export interface SystemPsfOptions {
  /** Elements from the source plane to the sensor plane, in order. */
  elements: readonly OpticalElement[];
  /** Simulation grid side in samples. */
  gridSize: number;
  /** Simulation pitch, metres. */
  pitchM: number;
  /** Vacuum wavelength, metres. */
  wavelengthM: number;
  /** The point source: at infinity (a plane wave, default) or at a distance before the first element. */
  sourceDistanceM?: number;
  /** Kernel side in sensor pixels. */
  kernelSize: number;
  /** Sensor pixel pitch, metres. */
  pixelPitchM: number;
  /** Magnification from the simulated plane to the sensor (default 1). */
  magnification?: number;
  /** Sensor grid shift in pixels, [rows, cols] (default [0, 0]). */
  shiftPx?: [number, number];
  /**
   * "unit-sum" (default): the kernel sums to 1 (the convention of PSF-engineered ONNs);
   * "transmitted": divided by the source power on the grid, so the sum is the optical
   * efficiency into the kernel window (≤ 1 for a passive system); "none": raw pixel energies.
   */
  normalization?: PsfNormalization;
  /** Where guard-rail warnings go (default: a fresh collector, dropped). */
  warnings?: OpticsWarnings;
}

/** Records a `psf-energy` warning for every kernel whose energy exceeds 1 + tolerance. */
export function checkPsfEnergy(psf: tf.Tensor, source: string, warnings: OpticsWarnings, tolerance = 1e-3): number[] {
  const sums = tf.tidy(() => {
    const s = psf.shape;
    // Energy per kernel: sum over the two spatial axes (the first two for [k, k, ...] layouts).
    return s.length === 2 ? tf.sum(psf).reshape([1]) : tf.sum(psf, [0, 1]).reshape([-1]);
  });
  const values = Array.from(sums.dataSync());
  sums.dispose();
  values.forEach((e, i) => {
    if (Number.isNaN(e)) throw new Error(`${source}: PSF ${i} contains NaN`);
    if (e > 1 + tolerance) {
      warnings.add("psf-energy", source, `PSF ${i} carries energy ${e.toFixed(4)} > 1; a passive optic cannot amplify light: renormalise it or check the source power`);
    }
  });
  return values;
}

/**
 * The incoherent PSF of a system at one wavelength: point source → elements → |E|² → box
 * integration over a kernelSize² window of sensor pixels centred on the optical axis →
 * normalisation. Returns a [k, k] tensor in the optical (convolution) orientation.
 */
export function systemPsf(o: SystemPsfOptions): tf.Tensor2D {
  const where = "systemPsf";
  requireInteger(where, "gridSize", o.gridSize, 2);
  requirePositive(where, "pitchM", o.pitchM);
  requirePositive(where, "wavelengthM", o.wavelengthM);
  requireInteger(where, "kernelSize", o.kernelSize);
  requirePositive(where, "pixelPitchM", o.pixelPitchM);
  const normalization = requireOneOf(where, "normalization", o.normalization ?? "unit-sum", ["unit-sum", "transmitted", "none"]);
  const warnings = o.warnings ?? new OpticsWarnings();
  const m = Math.abs(o.magnification ?? 1);
  const windowM = (o.kernelSize * o.pixelPitchM) / m;
  const gridM = o.gridSize * o.pitchM;
  if (windowM > gridM) {
    throw new Error(`${where}: the kernel window (${o.kernelSize} pixels × ${formatLength(o.pixelPitchM)} / magnification ${m} = ${formatLength(windowM)}) is wider than the simulation grid (${formatLength(gridM)}); enlarge gridSize or pitchM`);
  }
  if (o.pitchM * m > o.pixelPitchM) {
    warnings.add("undersampling", where, `the simulation pitch ${formatLength(o.pitchM)} (× magnification ${m}) is coarser than the sensor pixel ${formatLength(o.pixelPitchM)}: the PSF is undersampled; refine pitchM`);
  }
  const grid = { height: o.gridSize, width: o.gridSize, pitchM: o.pitchM, wavelengthM: o.wavelengthM };
  return tf.tidy(() => {
    const source: OpticalField = o.sourceDistanceM === undefined ? planeWave(grid) : sphericalWave({ ...grid, sourceDistanceM: o.sourceDistanceM });
    const out = applyElements(source, o.elements);
    for (const el of o.elements) for (const w of el.warnings.list) warnings.add(w.code, w.source, w.message);
    const kernel = integratePixels(intensity(out), o.pitchM, {
      pixels: [o.kernelSize, o.kernelSize], pixelPitchM: o.pixelPitchM, magnification: o.magnification, shiftPx: o.shiftPx,
    });
    let psf = kernel;
    if (normalization === "unit-sum") psf = tf.div(kernel, tf.add(tf.sum(kernel), 1e-30));
    else if (normalization === "transmitted") psf = tf.div(kernel, fieldPower(source));
    return psf as tf.Tensor2D;
  });
}

/** PSFs at several wavelengths (e.g. R, G, B), stacked as [k, k, wavelengths]. */
export function systemPsfs(o: Omit<SystemPsfOptions, "wavelengthM"> & { wavelengthsM: readonly number[] }): tf.Tensor3D {
  if (!Array.isArray(o.wavelengthsM) || o.wavelengthsM.length === 0) throw new Error("systemPsfs: wavelengthsM must be a non-empty array of wavelengths in metres");
  return tf.tidy(() => tf.stack(o.wavelengthsM.map((wavelengthM) => systemPsf({ ...o, wavelengthM })), 2) as tf.Tensor3D);
}

/**
 * PSF (optical convolution orientation) → conv2d kernel (cross-correlation orientation):
 * a 180° rotation of the two leading spatial axes of [k, k] or [k, k, ...].
 */
export function psfToConv2dKernel<T extends tf.Tensor>(psf: T): T {
  if (psf.shape.length < 2) throw new Error(`psfToConv2dKernel: need [k, k, ...], got [${psf.shape}]`);
  return tf.reverse(psf, [0, 1]) as T;
}

/** conv2d kernel → PSF: the same 180° rotation (it is its own inverse). */
export function conv2dKernelToPsf<T extends tf.Tensor>(kernel: T): T {
  if (kernel.shape.length < 2) throw new Error(`conv2dKernelToPsf: need [k, k, ...], got [${kernel.shape}]`);
  return tf.reverse(kernel, [0, 1]) as T;
}

/**
 * Incoherent optical convolution of images [B, H, W, C] with PSFs [k, k, C, n]: a monochrome
 * sensor sums colours (out [B, H', W', n]). Implemented as conv2d with the flipped PSF.
 */
export function convolveWithPsf(images: tf.Tensor4D, psfs: tf.Tensor4D, padding: "same" | "valid" = "same"): tf.Tensor4D {
  if (images.shape[3] !== psfs.shape[2]) throw new Error(`convolveWithPsf: images have ${images.shape[3]} channels but psfs expect ${psfs.shape[2]}`);
  return tf.tidy(() => tf.conv2d(images, psfToConv2dKernel(psfs), 1, padding));
}
