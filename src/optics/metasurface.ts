/**
 * Phase-only masks and metasurfaces: the height ↔ phase relation and height quantisation.
 *
 * A transmissive pillar (or DOE step) of height h and index n delays light by
 * φ = 2π·(n − 1)·h/λ relative to air, so one full 2π needs h = λ/(n − 1) (≈ 1.04 µm at 532 nm
 * for n = 1.509). Heights beyond one 2π period wrap (a fabricated surface only realises the
 * phase modulo 2π), and a process with N etch levels realises N equally spaced heights.
 */
import { tf } from "../runtime/tf";
import { quantizeStraightThrough } from "./quantize";
import { requireInteger, requirePositive } from "./units";

/** A refractive index, constant or as a function of wavelength (dispersion). */
export type RefractiveIndex = number | ((wavelengthM: number) => number);

/** n(λ) for a constant or dispersive index, validated to be > 1. */
export function indexAt(where: string, refractiveIndex: RefractiveIndex, wavelengthM: number): number {
  const n = typeof refractiveIndex === "number" ? refractiveIndex : refractiveIndex(wavelengthM);
  if (!Number.isFinite(n) || n <= 1) {
    throw new Error(`${where}: refractiveIndex must be > 1 (a phase delay needs n > 1 against air), got ${n} at ${wavelengthM} m`);
  }
  return n;
}

/** The height (metres) giving a 2π phase delay: λ/(n − 1). */
export function heightFor2PiM(wavelengthM: number, refractiveIndex: number): number {
  requirePositive("heightFor2PiM", "wavelengthM", wavelengthM);
  return wavelengthM / (indexAt("heightFor2PiM", refractiveIndex, wavelengthM) - 1);
}

/** φ = 2π·(n − 1)·h/λ in radians (numbers). */
export function phaseFromHeight(heightM: number, wavelengthM: number, refractiveIndex: number): number {
  requirePositive("phaseFromHeight", "wavelengthM", wavelengthM);
  return (2 * Math.PI * (indexAt("phaseFromHeight", refractiveIndex, wavelengthM) - 1) * heightM) / wavelengthM;
}

/** h = φ·λ/(2π·(n − 1)) in metres (numbers). */
export function heightFromPhase(phaseRad: number, wavelengthM: number, refractiveIndex: number): number {
  requirePositive("heightFromPhase", "wavelengthM", wavelengthM);
  return (phaseRad * wavelengthM) / (2 * Math.PI * (indexAt("heightFromPhase", refractiveIndex, wavelengthM) - 1));
}

/** Options of `heightsToPhase`. */
export interface HeightToPhaseOptions {
  /** Vacuum wavelength the phase is evaluated at, metres. */
  wavelengthM: number;
  /** Refractive index of the pillar/DOE material (constant or dispersive). */
  refractiveIndex: RefractiveIndex;
  /**
   * Height period in metres: heights are wrapped into [0, wrapHeightM) before use, as a
   * fabricated surface realises them. Usually λ_design/(n − 1). Absent: no wrapping.
   */
  wrapHeightM?: number;
  /**
   * Number of fabricable height levels in one wrap period (requires wrapHeightM): heights are
   * rounded to multiples of wrapHeightM/N with a straight-through gradient. Absent: continuous.
   */
  quantizationLevels?: number;
}

/**
 * The fabricated height profile (wrapped and quantised as configured). Differentiable: the
 * wrap has slope 1 away from its jumps and quantisation passes gradients straight through.
 */
export function fabricatedHeights(heightsM: tf.Tensor, opts: Omit<HeightToPhaseOptions, "wavelengthM" | "refractiveIndex">): tf.Tensor {
  const where = "fabricatedHeights";
  if (opts.quantizationLevels !== undefined && opts.wrapHeightM === undefined) {
    throw new Error(`${where}: quantizationLevels needs wrapHeightM (the height of one 2π period) to define the level spacing`);
  }
  return tf.tidy(() => {
    let h = heightsM;
    if (opts.wrapHeightM !== undefined) {
      const p = requirePositive(where, "wrapHeightM", opts.wrapHeightM);
      h = tf.sub(h, tf.mul(tf.floor(tf.div(h, p)), p));
      if (opts.quantizationLevels !== undefined) {
        const levels = requireInteger(where, "quantizationLevels", opts.quantizationLevels, 2);
        h = quantizeStraightThrough(h, p / levels);
        // Rounding may land on the top level p, which is the same phase as 0.
        h = tf.sub(h, tf.mul(tf.floor(tf.div(tf.add(h, p / (4 * levels)), p)), p));
      }
    }
    return tf.clone(h);
  });
}

/** The phase in radians of a height profile (metres) at one wavelength, after wrap/quantisation. */
export function heightsToPhase(heightsM: tf.Tensor, opts: HeightToPhaseOptions): tf.Tensor {
  const n = indexAt("heightsToPhase", opts.refractiveIndex, requirePositive("heightsToPhase", "wavelengthM", opts.wavelengthM));
  return tf.tidy(() => tf.mul(fabricatedHeights(heightsM, opts), (2 * Math.PI * (n - 1)) / opts.wavelengthM));
}
