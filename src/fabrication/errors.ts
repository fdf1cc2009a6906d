/**
 * The fabrication error model (paper Eq. 10, reconstructed in the digest §5):
 *
 *   ỹ_ij = α · Σ_mn a_{(i,j)+β − (m,n)} · (k_mn + δ_mn) + ε_ij
 *
 * α is a brightness gain, β a misalignment between the optical image and the sensor grid,
 * δ the kernel (PSF) error and ε the sensor noise. The paper gives no distributions; the
 * choices below are ours and are documented field by field.
 */
import type { Misalignment } from "./warp";

/** How the kernel error δ is drawn. */
export type KernelErrorMode =
  /** δ = σ · max(k) · N(0, 1) per element: stray light appears where none was designed. */
  | "additive"
  /** δ = σ · k · N(0, 1) per element: each designed tap is off by a relative amount. */
  | "multiplicative";

/** Fabrication errors of one device; every field has a neutral default (no error). */
export interface FabricationErrors {
  /** σ of the kernel error δ, relative (see {@link kernelErrorMode}); default 0. */
  kernelErrorStd?: number;
  /** How δ scales with the kernel; default "additive". */
  kernelErrorMode?: KernelErrorMode;
  /** Brightness gain α (1 = as designed). */
  gain?: number;
  /** Misalignment β in sensor pixels and degrees (default none). */
  misalignment?: Partial<Misalignment>;
  /**
   * σ of the additive Gaussian sensor noise ε, in the units of the simulated sensor image
   * (images in [0, 1] through PSFs of at most unit energy give values in [0, 1]); default 0.
   */
  noiseStd?: number;
  /** Sensor bit depth: quantise to 2^bits levels over [0, fullScale]; default none. */
  bitDepth?: number;
  /** Full scale of the quantiser (default 1). */
  fullScale?: number;
  /** Seed of δ and ε (default 0): the same seed makes the same device. */
  seed?: number;
}

/** {@link FabricationErrors} with every default filled in. */
export interface ResolvedFabricationErrors {
  kernelErrorStd: number;
  kernelErrorMode: KernelErrorMode;
  gain: number;
  misalignment: Misalignment;
  noiseStd: number;
  bitDepth: number | null;
  fullScale: number;
  seed: number;
}

function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new Error(`FabricationErrors.${name} must be a finite number >= 0, got ${v}`);
  return v;
}

/** Fills defaults and checks every field, naming the field in errors. */
export function resolveFabricationErrors(e: FabricationErrors = {}): ResolvedFabricationErrors {
  const mode = e.kernelErrorMode ?? "additive";
  if (mode !== "additive" && mode !== "multiplicative") {
    throw new Error(`FabricationErrors.kernelErrorMode must be "additive" or "multiplicative", got ${String(mode)}`);
  }
  const gain = e.gain ?? 1;
  if (!Number.isFinite(gain) || gain <= 0) throw new Error(`FabricationErrors.gain must be a finite number > 0, got ${gain}`);
  const m = e.misalignment ?? {};
  const misalignment: Misalignment = { shiftRowsPx: m.shiftRowsPx ?? 0, shiftColsPx: m.shiftColsPx ?? 0, rotationDeg: m.rotationDeg ?? 0 };
  for (const [k, v] of Object.entries(misalignment)) {
    if (!Number.isFinite(v)) throw new Error(`FabricationErrors.misalignment.${k} must be a finite number, got ${v}`);
  }
  const bitDepth = e.bitDepth ?? null;
  if (bitDepth !== null && (!Number.isInteger(bitDepth) || bitDepth < 1 || bitDepth > 24)) {
    throw new Error(`FabricationErrors.bitDepth must be an integer in 1..24, got ${bitDepth}`);
  }
  const fullScale = e.fullScale ?? 1;
  if (!(fullScale > 0)) throw new Error(`FabricationErrors.fullScale must be > 0, got ${fullScale}`);
  return {
    kernelErrorStd: nonNegative("kernelErrorStd", e.kernelErrorStd ?? 0),
    kernelErrorMode: mode,
    gain,
    misalignment,
    noiseStd: nonNegative("noiseStd", e.noiseStd ?? 0),
    bitDepth,
    fullScale,
    seed: e.seed ?? 0,
  };
}
