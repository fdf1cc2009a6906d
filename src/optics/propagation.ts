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

/**
 * Most bytes of host transfer functions kept between calls (64 MiB: eight 1024² padded grids).
 * A focus scan over many distances would otherwise keep every one (8 bytes per sample each).
 */
export const TRANSFER_CACHE_MAX_BYTES = 64 * 1024 * 1024;

/** Least-recently-used cache of transfer functions, bounded by TRANSFER_CACHE_MAX_BYTES. */
const transferCache = new Map<string, TransferFunction>();
let transferCacheBytes = 0;

function transferBytes(t: TransferFunction): number {
  return t.re.byteLength + t.im.byteLength;
}

function rememberTransfer(key: string, t: TransferFunction): void {
  const bytes = transferBytes(t);
  if (bytes > TRANSFER_CACHE_MAX_BYTES) return;
  transferCache.set(key, t);
  transferCacheBytes += bytes;
  // Map iterates in insertion order and hits are re-inserted, so the first key is the LRU one.
  while (transferCacheBytes > TRANSFER_CACHE_MAX_BYTES) {
    const oldest = transferCache.keys().next().value as string;
    transferCacheBytes -= transferBytes(transferCache.get(oldest)!);
    transferCache.delete(oldest);
  }
}

/** How many transfer functions are cached and their size in bytes (for memory checks). */
export function transferCacheUsage(): { entries: number; bytes: number } {
  return { entries: transferCache.size, bytes: transferCacheBytes };
}

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
  if (cached) {
    transferCache.delete(key);
    transferCache.set(key, cached);
    return cached;
  }
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
  rememberTransfer(key, tfn);
  return tfn;
}

/**
 * Whether a propagation on a padded grid of extent `extentM` is free of regime problems:
 *  - Fresnel: the sampled chirp exp(−iπλz·f²) aliases when its local frequency λ·z·f exceeds
 *    the grid spacing, i.e. for pitch < λ·z / extent (Voelz, "Computational Fourier Optics");
 *  - unlimited angular spectrum: H aliases above the band limit, so that limit must reach the
 *    grid's Nyquist 1/(2·pitch);
 *  - band-limited angular spectrum: the limit must keep at least half the Nyquist band,
 *    otherwise details the grid could show are removed.
 */
function regimeOk(extentM: number, pitchM: number, wavelengthM: number, z: number, method: PropagationMethod, bandLimited: boolean): boolean {
  if (method === "fresnel") return pitchM >= (wavelengthM * z) / extentM;
  const limit = bandLimitFrequency(wavelengthM, extentM, z);
  const nyquist = 1 / (2 * pitchM);
  return bandLimited ? limit >= 0.5 * nyquist : limit >= nyquist;
}

/**
 * The fewest padded samples per axis for which a propagation over |z| passes its regime check
 * (see `regimeOk`), or null when no padding helps (the angular spectrum on a pitch below λ/4,
 * or λ/2 unlimited, whose missing frequencies are evanescent anyway).
 */
export function minimumPaddedSamples(pitchM: number, wavelengthM: number, distanceM: number, method: PropagationMethod, bandLimited: boolean): number | null {
  const z = Math.abs(distanceM);
  let extentM: number;
  if (method === "fresnel") {
    extentM = (wavelengthM * z) / pitchM;
  } else {
    // Solve 1/(λ·√((2z/L)² + 1)) = c/(2·pitch) for L, c = 1/2 band-limited, 1 unlimited.
    const c = bandLimited ? 0.5 : 1;
    const q = ((2 * pitchM) / (c * wavelengthM)) ** 2 - 1;
    if (q <= 0) return null;
    extentM = (2 * z) / Math.sqrt(q);
  }
  let samples = Math.max(1, Math.ceil(extentM / pitchM - 1e-9));
  while (!regimeOk(samples * pitchM, pitchM, wavelengthM, z, method, bandLimited)) samples++;
  return samples;
}

/** "N samples per axis (paddingFactor ≥ F)", with F rounded up so ceil(F·gridSamples) ≥ N. */
function paddingAdvice(samples: number, gridSamples: number | undefined): string {
  if (gridSamples === undefined) return `${samples} padded samples per axis`;
  const factor = Math.ceil((100 * samples) / gridSamples) / 100;
  return `${samples} padded samples per axis (paddingFactor >= ${factor})`;
}

/**
 * What would make the propagation well sampled, in numbers: the padding this method needs and,
 * when it works at the present grid or needs less padding, the other method. A finer pitch does
 * not help (both limits need more samples as the pitch shrinks, ∝ λ·z/pitch²); a coarser pitch
 * or a shorter distance does.
 */
function regimeAdvice(
  extentM: number, pitchM: number, wavelengthM: number, z: number, method: PropagationMethod, bandLimited: boolean, gridSamples: number | undefined,
): string {
  const own = minimumPaddedSamples(pitchM, wavelengthM, z, method, bandLimited);
  const other: PropagationMethod = method === "fresnel" ? "angular-spectrum" : "fresnel";
  const otherBandLimited = method === "fresnel" ? true : bandLimited;
  const parts: string[] = [];
  if (own !== null) parts.push(`zero-pad to at least ${paddingAdvice(own, gridSamples)}`);
  if (method !== "fresnel" && !bandLimited) {
    const limited = minimumPaddedSamples(pitchM, wavelengthM, z, "angular-spectrum", true);
    if (regimeOk(extentM, pitchM, wavelengthM, z, "angular-spectrum", true)) parts.push("enable bandLimited (enough at this grid)");
    else if (limited !== null) parts.push(`enable bandLimited and pad to ${paddingAdvice(limited, gridSamples)}`);
  }
  if (regimeOk(extentM, pitchM, wavelengthM, z, other, otherBandLimited)) {
    parts.push(`use method "${other}", which is well sampled on this grid`);
  } else {
    const otherSamples = minimumPaddedSamples(pitchM, wavelengthM, z, other, otherBandLimited);
    if (otherSamples !== null) parts.push(`("${other}" is undersampled here too; it would need ${paddingAdvice(otherSamples, gridSamples)})`);
  }
  parts.push("or shorten the distance or use a coarser pitch, or a two-step (scaled) propagation for long distances");
  return parts.join("; ");
}

/**
 * Checks the sampling regime of a propagation and records plain-words warnings whose advice
 * (padding, method) is computed to remove the warning. `gridSamples` is the unpadded size of
 * the smaller axis, which lets the advice quote a paddingFactor.
 */
export function checkPropagationRegime(
  source: string, warnings: OpticsWarnings, paddedHeight: number, paddedWidth: number,
  pitchM: number, wavelengthM: number, distanceM: number, method: PropagationMethod, bandLimited: boolean, gridSamples?: number,
): void {
  const z = Math.abs(distanceM);
  const extentM = Math.min(paddedHeight, paddedWidth) * pitchM;
  if (regimeOk(extentM, pitchM, wavelengthM, z, method, bandLimited)) return;
  const nyquist = 1 / (2 * pitchM);
  const advice = regimeAdvice(extentM, pitchM, wavelengthM, z, method, bandLimited, gridSamples);
  if (method === "fresnel") {
    const critical = (wavelengthM * z) / extentM;
    warnings.add("fresnel-regime", source,
      `the Fresnel transfer function is undersampled: pitch ${formatLength(pitchM)} is below λ·z/L = ${formatLength(critical)} ` +
      `(L = padded extent ${formatLength(extentM)}); ${advice}`);
    return;
  }
  const limit = bandLimitFrequency(wavelengthM, extentM, z);
  if (!bandLimited) {
    warnings.add("angular-spectrum-regime", source,
      `at z = ${formatLength(z)} the unlimited angular-spectrum transfer function aliases above ${limit.toPrecision(3)} cycles/m ` +
      `(grid Nyquist ${nyquist.toPrecision(3)}); ${advice}`);
  } else {
    warnings.add("angular-spectrum-regime", source,
      `at z = ${formatLength(z)} the band limit keeps only spatial frequencies below ${limit.toPrecision(3)} cycles/m, ` +
      `${((100 * limit) / nyquist).toFixed(0)}% of the grid's Nyquist ${nyquist.toPrecision(3)}: details finer than ` +
      `${formatLength(1 / (2 * limit))} are lost; ${advice}`);
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
  checkPropagationRegime(`propagate(${formatLength(opts.distanceM)})`, warnings, ph, pw, field.pitchM, field.wavelengthM, opts.distanceM, method, bandLimited, Math.min(height, width));
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
