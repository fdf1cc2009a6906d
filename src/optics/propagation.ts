/**
 * Free-space propagation of sampled fields between parallel planes.
 *
 * Both methods multiply the (zero-padded) spectrum by a transfer function H(fx, fy) in DFT
 * order, so they are one dft2d, one complex multiply and one idft2d:
 *  - "angular-spectrum" (exact scalar diffraction): H = exp(i·2π·z·√(1/λ² − fx² − fy²)),
 *    evanescent components dropped, and by default band-limited after Matsushima & Shimobaba
 *    (Opt. Express 17, 19662, 2009): |f| ≤ 1/(λ·√((2·Δf·z)² + 1)) per axis, Δf = 1/(padded
 *    extent), which removes the frequencies whose sampled H would alias;
 *  - "fresnel" (paraxial): H = exp(i·2π·z/λ)·exp(−iπ·λ·z·(fx² + fy²)).
 * Transfer functions are computed on the host in float64 (k·z reaches 10^4 rad) and cached.
 * The field is zero-padded by `paddingFactor` (default 2) to stop circular wrap-around and
 * cropped back, so the output has the input's shape, pitch and wavelength.
 */
import { tf } from "../runtime/tf";
import { cmap, cmul, type ComplexTensor, ctidy } from "./complex";
import { dft2d, fftFrequencies, idft2d } from "./dft";
import { fieldSize, makeField, type OpticalField } from "./field";
import { formatLength, requireFinite, requireOneOf, requirePositive } from "./units";
import { OpticsWarnings } from "./warnings";

/** Propagation method. */
export type PropagationMethod = "angular-spectrum" | "fresnel";

/** Options of `propagate`. */
export interface PropagateOptions {
  /** Propagation distance in metres (negative propagates backwards). */
  distanceM: number;
  /** "angular-spectrum" (default) or "fresnel". */
  method?: PropagationMethod;
  /** Band-limit the angular spectrum transfer function (default true; ignored for Fresnel). */
  bandLimited?: boolean;
  /** Zero padding: the padded grid is ceil(factor·N) per axis (default 2; 1 disables padding). */
  paddingFactor?: number;
  /** Where regime warnings go; a fresh collector when absent (its findings are then dropped). */
  warnings?: OpticsWarnings;
}

/** A transfer function on the host, in DFT order. */
export interface TransferFunction {
  re: Float32Array;
  im: Float32Array;
  height: number;
  width: number;
}

const transferCache = new Map<string, TransferFunction>();

/** Largest band-limited frequency (cycles/m) along an axis of extent `extentM` at distance z. */
export function bandLimitFrequency(wavelengthM: number, extentM: number, distanceM: number): number {
  const df = 1 / extentM;
  return 1 / (wavelengthM * Math.sqrt((2 * df * distanceM) ** 2 + 1));
}

/**
 * The transfer function for a padded grid of height×width samples. Exposed for tests and for
 * drawing; `propagate` is the normal entry point.
 */
export function transferFunction(
  height: number, width: number, pitchM: number, wavelengthM: number, distanceM: number,
  method: PropagationMethod, bandLimited: boolean,
): TransferFunction {
  const key = [height, width, pitchM, wavelengthM, distanceM, method, bandLimited].join("|");
  const cached = transferCache.get(key);
  if (cached) return cached;
  const fy = fftFrequencies(height, pitchM);
  const fx = fftFrequencies(width, pitchM);
  const re = new Float32Array(height * width);
  const im = new Float32Array(height * width);
  const invL2 = 1 / (wavelengthM * wavelengthM);
  const limX = bandLimitFrequency(wavelengthM, width * pitchM, Math.abs(distanceM));
  const limY = bandLimitFrequency(wavelengthM, height * pitchM, Math.abs(distanceM));
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const f2 = fx[c] * fx[c] + fy[r] * fy[r];
      let phase: number;
      if (method === "fresnel") {
        phase = (2 * Math.PI * distanceM) / wavelengthM - Math.PI * wavelengthM * distanceM * f2;
      } else {
        const arg = invL2 - f2;
        if (arg <= 0) continue; // evanescent: dropped (it decays within a few wavelengths)
        if (bandLimited && (Math.abs(fx[c]) > limX || Math.abs(fy[r]) > limY)) continue;
        phase = 2 * Math.PI * distanceM * Math.sqrt(arg);
      }
      re[r * width + c] = Math.cos(phase);
      im[r * width + c] = Math.sin(phase);
    }
  }
  const tfn = { re, im, height, width };
  transferCache.set(key, tfn);
  return tfn;
}

/** Checks the sampling regime of a propagation and records plain-words warnings. */
export function checkPropagationRegime(
  source: string, warnings: OpticsWarnings, paddedHeight: number, paddedWidth: number,
  pitchM: number, wavelengthM: number, distanceM: number, method: PropagationMethod, bandLimited: boolean,
): void {
  const z = Math.abs(distanceM);
  const extentM = Math.min(paddedHeight, paddedWidth) * pitchM;
  const nyquist = 1 / (2 * pitchM);
  if (method === "fresnel") {
    // The sampled Fresnel chirp aliases when its local frequency λ·z·f exceeds the grid
    // spacing in x, i.e. for pitch < λ·z / extent (Voelz, "Computational Fourier Optics").
    const critical = (wavelengthM * z) / extentM;
    if (pitchM < critical) {
      warnings.add("fresnel-regime", source,
        `the Fresnel transfer function is undersampled: pitch ${formatLength(pitchM)} is below λ·z/L = ${formatLength(critical)} ` +
        `(L = padded extent ${formatLength(extentM)}); use the angular spectrum method or a larger padded grid`);
    }
    return;
  }
  const limit = bandLimitFrequency(wavelengthM, extentM, z);
  if (limit < nyquist) {
    if (!bandLimited) {
      warnings.add("angular-spectrum-regime", source,
        `at z = ${formatLength(z)} the unlimited angular-spectrum transfer function aliases above ${limit.toPrecision(3)} cycles/m ` +
        `(grid Nyquist ${nyquist.toPrecision(3)}); enable bandLimited, pad more, or shorten the distance`);
    } else if (limit < 0.5 * nyquist) {
      warnings.add("angular-spectrum-regime", source,
        `at z = ${formatLength(z)} the band limit keeps only spatial frequencies below ${limit.toPrecision(3)} cycles/m, ` +
        `${((100 * limit) / nyquist).toFixed(0)}% of the grid's Nyquist ${nyquist.toPrecision(3)}: details finer than ` +
        `${formatLength(1 / (2 * limit))} are lost; enlarge the padded grid (paddingFactor) or use Fresnel for this distance`);
    }
  }
}

/**
 * Propagates a field ([H, W] or [B, H, W]) by `distanceM`. Returns new tensors with the same
 * shape; the input is not disposed. Differentiable with respect to the field.
 */
export function propagate(field: OpticalField, opts: PropagateOptions): OpticalField {
  const where = "propagate";
  requireFinite(where, "distanceM", opts.distanceM);
  const method = requireOneOf(where, "method", opts.method ?? "angular-spectrum", ["angular-spectrum", "fresnel"]);
  const bandLimited = opts.bandLimited ?? true;
  const factor = requirePositive(where, "paddingFactor", opts.paddingFactor ?? 2);
  if (factor < 1) throw new Error(`${where}: paddingFactor must be >= 1, got ${factor}`);
  const { height, width } = fieldSize(field, where);
  const ph = Math.ceil(height * factor);
  const pw = Math.ceil(width * factor);
  const warnings = opts.warnings ?? new OpticsWarnings();
  checkPropagationRegime(`propagate(${formatLength(opts.distanceM)})`, warnings, ph, pw, field.pitchM, field.wavelengthM, opts.distanceM, method, bandLimited);
  if (opts.distanceM === 0) return makeField(cmap(field, (t) => tf.clone(t)), field.pitchM, field.wavelengthM);
  const h = transferFunction(ph, pw, field.pitchM, field.wavelengthM, opts.distanceM, method, bandLimited);
  const parts = ctidy(() => {
    const rank = field.re.shape.length;
    // Keep the optical axis (index floor(N/2)) at floor(P/2) of the padded grid.
    const top = Math.floor(ph / 2) - Math.floor(height / 2);
    const left = Math.floor(pw / 2) - Math.floor(width / 2);
    const pads: Array<[number, number]> = field.re.shape.map(() => [0, 0] as [number, number]);
    pads[rank - 2] = [top, ph - height - top];
    pads[rank - 1] = [left, pw - width - left];
    const padded = ph === height && pw === width ? field : cmap(field, (t) => tf.pad(t, pads));
    const spectrum = dft2d(padded);
    const transfer: ComplexTensor = { re: tf.tensor2d(h.re, [ph, pw]), im: tf.tensor2d(h.im, [ph, pw]) };
    const out = idft2d(cmul(spectrum, transfer));
    if (ph === height && pw === width) return out;
    const begin = field.re.shape.map(() => 0);
    begin[rank - 2] = top;
    begin[rank - 1] = left;
    const size = field.re.shape.slice();
    return cmap(out, (t) => tf.slice(t, begin, size));
  });
  return makeField(parts, field.pitchM, field.wavelengthM);
}
