/**
 * Metasurface-level fabrication errors, propagated to the PSFs by the wave optics: the
 * foundry's height map differs from the design, and the PSFs of a {@link MetasurfaceFrontend}
 * are recomputed from the as-built heights (aperture → phase → angular-spectrum propagation →
 * pixel integration), instead of drawing errors on the PSFs directly (`FabricationErrors.kernelErrorStd`).
 *
 * The as-built height map, in the order a process makes it:
 * 1. quantisation to N height levels per 2π period (one design wave, λ_d/(n − 1));
 * 2. the minimum feature size: lithography cannot print detail below it, modelled as a Gaussian
 *    blur of the height map whose FWHM is the feature size (edges clamped);
 * 3. the height error: a stationary Gaussian random field of std σ and correlation length ℓ
 *    (white noise filtered by a Gaussian, rescaled to σ), added to the heights, which are then
 *    clipped at 0 (a pillar cannot be lower than the substrate). Heights pushed above one design
 *    wave stay there: at the design wavelength that is the same phase, at the others it is not.
 *    Each sub-aperture draws its own field (on the wafer they touch; that matters only when ℓ
 *    approaches a sub-aperture's size).
 * 4. a lateral offset between metasurface and sensor, as a sub-pixel shift of the PSFs: the
 *    whole metasurface (heights and aperture) moves, and free-space propagation is shift
 *    invariant, so an on-axis point's PSF moves by the offset on the sensor. Shifting the height
 *    map alone would instead model heights misplaced inside a fixed aperture stop, which is a
 *    different error. The shift is bilinear within each k×k kernel window (zeros enter, light
 *    leaving the window is lost): exact for whole pixels, and for sub-pixel offsets exact when
 *    the intensity is uniform across each pixel.
 *
 * How the PSFs are recomputed: a twin of the frontend (same geometry, no quantisation of its
 * own) holds the as-built heights and runs the frontend's own `psfs()`. The frontend wraps
 * heights at one height unit; the twin's unit is 2^m design waves (its design wavelength 2^m·λ_d,
 * heights stored as waves/2^m), large enough that no as-built height wraps, and the power of two
 * keeps every product bit-identical, so zero errors give exactly the designed PSFs. Like the
 * frontend's, the as-built PSFs are normalised to unit sum in the kernel window: light a height
 * error scatters out of the window does not dim the image (put a measured efficiency loss in the
 * device's gain).
 */
import { tf } from "../runtime/tf";
import { deriveSeed } from "../runtime/seed";
import { MetasurfaceFrontend, type MetasurfaceFrontendArgs } from "../models/frontends/metasurface-frontend";
import { makeOpticalKernels, type OpticalFrontend, type OpticalKernels } from "../models/frontends/optical-frontend";
import { fabricatedHeights } from "../optics/metasurface";
import { FabricatedDevice, standardNormals } from "./device";
import type { FabricationErrors } from "./errors";

/** Errors of a fabricated metasurface; every field has a neutral default (no error). */
export interface MetasurfaceErrors {
  /** σ of the height error, metres (a foundry quotes it in nm: 10 nm = 10e-9); default 0. */
  heightErrorM?: number;
  /**
   * Correlation length ℓ of the height error, metres: the error's autocorrelation is
   * σ²·exp(−r²/ℓ²), falling to 1/e at lag ℓ. Default 0: independent per simulation cell.
   */
  correlationLengthM?: number;
  /**
   * Height levels per 2π period (one design wave) the process realises, an integer ≥ 2; the
   * designed heights are rounded to them first. Default: the design as it is (its own
   * `quantizationLevels`, or continuous).
   */
  levels?: number;
  /** Minimum feature size, metres: FWHM of the Gaussian blur of the height map; default 0 (no blur). */
  minFeatureM?: number;
  /**
   * Lateral offset of the metasurface against the sensor, metres: [down the rows, along the
   * columns], or one number for an offset along the columns; default 0.
   */
  lateralOffsetM?: number | readonly [number, number];
  /** Seed of the height error (default 0): the same seed makes the same surface. */
  seed?: number;
}

/** {@link MetasurfaceErrors} with every default filled in. */
export interface ResolvedMetasurfaceErrors {
  heightErrorM: number;
  correlationLengthM: number;
  levels: number | null;
  minFeatureM: number;
  /** [rows, cols], metres. */
  lateralOffsetM: [number, number];
  seed: number;
}

function nonNegativeField(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new Error(`MetasurfaceErrors.${name} must be a finite number >= 0 (metres), got ${String(v)}`);
  return v;
}

/** Fills defaults and checks every field, naming the field in errors. */
export function resolveMetasurfaceErrors(e: MetasurfaceErrors = {}): ResolvedMetasurfaceErrors {
  if (e === null || typeof e !== "object") throw new Error(`MetasurfaceErrors must be an object, got ${String(e)}`);
  const levels = e.levels ?? null;
  if (levels !== null && (!Number.isInteger(levels) || levels < 2)) throw new Error(`MetasurfaceErrors.levels must be an integer >= 2, got ${String(levels)}`);
  const offset = e.lateralOffsetM ?? 0;
  const lateral: [number, number] = typeof offset === "number" ? [0, offset] : [offset[0], offset[1]];
  if (!(typeof offset === "number" || (Array.isArray(offset) && offset.length === 2)) || !lateral.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw new Error(`MetasurfaceErrors.lateralOffsetM must be a finite number or [rowsM, colsM], got ${JSON.stringify(offset)}`);
  }
  const seed = e.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`MetasurfaceErrors.seed must be an integer, got ${String(seed)}`);
  return {
    heightErrorM: nonNegativeField("heightErrorM", e.heightErrorM ?? 0),
    correlationLengthM: nonNegativeField("correlationLengthM", e.correlationLengthM ?? 0),
    levels,
    minFeatureM: nonNegativeField("minFeatureM", e.minFeatureM ?? 0),
    lateralOffsetM: lateral,
    seed,
  };
}

/** FWHM of a Gaussian in units of its std: 2·√(2 ln 2). */
export const GAUSSIAN_FWHM_PER_STD = 2 * Math.sqrt(2 * Math.LN2);

/** Normalised 1-D Gaussian taps of std `stdCells` out to 4 std; [1] for a std of 0. */
function gaussianTaps(stdCells: number): Float64Array {
  if (stdCells === 0) return Float64Array.of(1);
  const radius = Math.max(1, Math.ceil(4 * stdCells));
  const taps = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += taps[i + radius] = Math.exp(-(i * i) / (2 * stdCells * stdCells));
  for (let i = 0; i < taps.length; i++) taps[i] /= sum;
  return taps;
}

/**
 * Separable filtering of one height × width field with `taps` along both axes, reading source
 * sample (r, c) through `at` (which handles the edges: a larger source, or clamping).
 */
function filterSeparable(at: (r: number, c: number) => number, height: number, width: number, taps: Float64Array): Float64Array {
  const radius = (taps.length - 1) / 2;
  const rowsExtended = height + 2 * radius;
  // First along the columns, over the rows the second pass needs, then along the rows.
  const byCols = new Float64Array(rowsExtended * width);
  for (let r = 0; r < rowsExtended; r++) {
    for (let c = 0; c < width; c++) {
      let s = 0;
      for (let t = 0; t < taps.length; t++) s += taps[t] * at(r - radius, c + t - radius);
      byCols[r * width + c] = s;
    }
  }
  const out = new Float64Array(height * width);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      let s = 0;
      for (let t = 0; t < taps.length; t++) s += taps[t] * byCols[(r + t) * width + c];
      out[r * width + c] = s;
    }
  }
  return out;
}

/** Options of {@link correlatedGaussianNoise}. */
export interface CorrelatedNoiseOptions {
  /** Independent fields to draw. */
  fields: number;
  /** Rows of each field. */
  height: number;
  /** Columns of each field. */
  width: number;
  /** Std of every sample (σ, in the caller's unit). */
  std: number;
  /** Correlation length ℓ in samples: autocorrelation σ²·exp(−r²/ℓ²); 0 for white noise. */
  correlationLengthCells: number;
  /** Seed; field f draws from `deriveSeed(seed, f)`. */
  seed: number;
}

/**
 * Stationary Gaussian random fields [fields, height, width] of std σ and correlation length ℓ:
 * white N(0, 1) noise filtered by a Gaussian of std s = ℓ/2 (the autocorrelation of filtered
 * white noise is the filter's own autocorrelation, a Gaussian of std s·√2, i.e. exp(−r²/(4s²))),
 * then scaled by σ/√Σw² so the variance is exactly σ². The white noise covers the field plus
 * the filter's radius, so the edges are as correlated as the centre.
 */
export function correlatedGaussianNoise(o: CorrelatedNoiseOptions): Float32Array {
  for (const name of ["fields", "height", "width"] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) throw new Error(`correlatedGaussianNoise: ${name} must be a positive integer, got ${String(o[name])}`);
  }
  if (!(o.std >= 0) || !Number.isFinite(o.std)) throw new Error(`correlatedGaussianNoise: std must be a finite number >= 0, got ${o.std}`);
  if (!(o.correlationLengthCells >= 0) || !Number.isFinite(o.correlationLengthCells)) {
    throw new Error(`correlatedGaussianNoise: correlationLengthCells must be a finite number >= 0, got ${o.correlationLengthCells}`);
  }
  const taps = gaussianTaps(o.correlationLengthCells / 2);
  const radius = (taps.length - 1) / 2;
  let sumSquares = 0;
  for (const t of taps) sumSquares += t * t;
  // The 2-D filter is taps ⊗ taps, so its Σw² is (Σ taps²)² and the filtered std is Σ taps².
  const scale = o.std / sumSquares;
  const wideCols = o.width + 2 * radius;
  const per = o.height * o.width;
  const out = new Float32Array(o.fields * per);
  for (let f = 0; f < o.fields; f++) {
    const white = standardNormals((o.height + 2 * radius) * wideCols, deriveSeed(o.seed, f));
    const field = filterSeparable((r, c) => white[(r + radius) * wideCols + c + radius], o.height, o.width, taps);
    for (let i = 0; i < per; i++) out[f * per + i] = scale * field[i];
  }
  return out;
}

/**
 * Blurs height maps [fields, height, width] by a Gaussian of FWHM `featureCells` (the minimum
 * feature size in samples), clamping at the edges so the border keeps its own height. A feature
 * size of 0 returns an unchanged copy.
 */
export function blurHeightMaps(maps: Float32Array, fields: number, height: number, width: number, featureCells: number): Float32Array {
  if (maps.length !== fields * height * width) throw new Error(`blurHeightMaps: ${maps.length} values do not fill ${fields} maps of ${height}x${width}`);
  if (!(featureCells >= 0) || !Number.isFinite(featureCells)) throw new Error(`blurHeightMaps: featureCells must be a finite number >= 0, got ${featureCells}`);
  if (featureCells === 0) return Float32Array.from(maps);
  const taps = gaussianTaps(featureCells / GAUSSIAN_FWHM_PER_STD);
  const per = height * width;
  const out = new Float32Array(maps.length);
  for (let f = 0; f < fields; f++) {
    const at = (r: number, c: number): number => maps[f * per + Math.min(height - 1, Math.max(0, r)) * width + Math.min(width - 1, Math.max(0, c))];
    out.set(filterSeparable(at, height, width, taps), f * per);
  }
  return out;
}

/**
 * Moves kernels [k, k, C, n] by (rows, cols) sensor pixels, bilinearly, within each k×k window:
 * the light moves by +rows down and +cols right, zeros enter, light leaving the window is lost.
 */
export function shiftKernels(kernels: OpticalKernels, shiftRowsPx: number, shiftColsPx: number): OpticalKernels {
  if (!Number.isFinite(shiftRowsPx) || !Number.isFinite(shiftColsPx)) throw new Error(`shiftKernels: shifts must be finite numbers of pixels, got ${shiftRowsPx}, ${shiftColsPx}`);
  if (kernels.imag !== null) throw new Error("shiftKernels: coherent (complex) kernels are not supported; pass intensity PSFs");
  if (shiftRowsPx === 0 && shiftColsPx === 0) return makeOpticalKernels(Float32Array.from(kernels.values), kernels.shape, kernels.energyRule);
  const { kernelSize: k, inputChannels: c, count: n } = kernels;
  const planes = c * n;
  const src = kernels.values;
  const out = new Float32Array(src.length);
  const r0 = Math.floor(shiftRowsPx);
  const c0 = Math.floor(shiftColsPx);
  const fr = shiftRowsPx - r0;
  const fc = shiftColsPx - c0;
  // Output (y, x) gathers source (y − shift): the four neighbours of that point.
  const taps: [number, number, number][] = [[r0, c0, (1 - fr) * (1 - fc)], [r0, c0 + 1, (1 - fr) * fc], [r0 + 1, c0, fr * (1 - fc)], [r0 + 1, c0 + 1, fr * fc]];
  for (let y = 0; y < k; y++) {
    for (let x = 0; x < k; x++) {
      for (const [dy, dx, weight] of taps) {
        const sy = y - dy;
        const sx = x - dx;
        if (weight === 0 || sy < 0 || sy >= k || sx < 0 || sx >= k) continue;
        for (let p = 0; p < planes; p++) out[(y * k + x) * planes + p] += weight * src[(sy * k + sx) * planes + p];
      }
    }
  }
  return makeOpticalKernels(out, kernels.shape, "bounded");
}

function requireMetasurface(where: string, frontend: OpticalFrontend): MetasurfaceFrontend {
  if (!(frontend instanceof MetasurfaceFrontend)) {
    const name = (frontend as { constructor?: { name?: string } })?.constructor?.name ?? typeof frontend;
    throw new Error(`${where}: metasurface-level errors need a MetasurfaceFrontend (its heights), got a ${name}; use FabricatedDevice.fromFrontend for PSF-level errors`);
  }
  const heights = frontend.weights.find((w) => w.name.includes("heights_waves"));
  if (!frontend.built || heights === undefined) throw new Error(`${where}: the MetasurfaceFrontend is not built yet; call it on an input first`);
  return frontend;
}

/** Designed and as-built height maps of a metasurface frontend. */
export interface MetasurfaceHeightMaps {
  /** Designed heights as the frontend realises them (wrapped, quantised if it quantises), in design waves, [n, G, G]. */
  designedWaves: Float32Array;
  /** As-built heights (≥ 0, not wrapped), in design waves, [n, G, G]. */
  fabricatedWaves: Float32Array;
  /** [kernels, gridSize, gridSize]. */
  shape: [number, number, number];
  /** Metres per design wave, λ_d/(n − 1): multiply waves by it for metres. */
  waveHeightM: number;
  /** Simulation cell pitch on the metasurface, metres. */
  cellPitchM: number;
}

/** The designed and as-built height maps of `frontend` under `errors` (steps 1–3 of the module comment). */
export function metasurfaceHeightMaps(frontend: OpticalFrontend, errors: MetasurfaceErrors = {}): MetasurfaceHeightMaps {
  const where = "metasurfaceHeightMaps";
  const f = requireMetasurface(where, frontend);
  const e = resolveMetasurfaceErrors(errors);
  const g = f.geometry;
  const n = f.kernelCount;
  const shape: [number, number, number] = [n, g.gridSize, g.gridSize];
  const raw = f.weights.find((w) => w.name.includes("heights_waves"))!.read();
  const realise = (waves: tf.Tensor, levels: number | null): Float32Array => tf.tidy(() => {
    const h = fabricatedHeights(waves, levels === null ? { wrapHeightM: 1 } : { wrapHeightM: 1, quantizationLevels: levels });
    return Float32Array.from(h.dataSync() as Float32Array);
  });
  // The same call the frontend makes on its weights, so the designed heights are its own.
  const designedWaves = realise(raw, g.quantizationLevels);
  let waves = designedWaves;
  if (e.levels !== null) {
    const designed = tf.tensor3d(designedWaves, shape);
    waves = realise(designed, e.levels);
    designed.dispose();
  }
  if (e.minFeatureM > 0) waves = blurHeightMaps(waves, n, g.gridSize, g.gridSize, e.minFeatureM / g.cellPitchM);
  if (e.heightErrorM > 0) {
    const noise = correlatedGaussianNoise({
      fields: n, height: g.gridSize, width: g.gridSize, std: e.heightErrorM / f.waveHeightM, correlationLengthCells: e.correlationLengthM / g.cellPitchM, seed: e.seed,
    });
    waves = waves.map((w, i) => Math.max(0, w + noise[i]));
  }
  return { designedWaves, fabricatedWaves: waves === designedWaves ? Float32Array.from(designedWaves) : waves, shape, waveHeightM: f.waveHeightM, cellPitchM: g.cellPitchM };
}

/**
 * The PSFs [k, k, C, n] (optical orientation, unit sum) of `frontend`'s sub-apertures with the
 * given heights in design waves [n, G, G], not wrapped, through the frontend's own wave optics
 * (see the module comment for the twin frontend).
 */
export function metasurfaceKernelsForHeights(frontend: OpticalFrontend, heightWaves: Float32Array): OpticalKernels {
  const where = "metasurfaceKernelsForHeights";
  const f = requireMetasurface(where, frontend);
  const g = f.geometry;
  const size = f.kernelCount * g.gridSize * g.gridSize;
  if (heightWaves.length !== size) throw new Error(`${where}: ${heightWaves.length} heights do not fill [${f.kernelCount}, ${g.gridSize}, ${g.gridSize}]`);
  let highest = 0;
  for (let i = 0; i < size; i++) {
    if (!Number.isFinite(heightWaves[i]) || heightWaves[i] < 0) throw new Error(`${where}: height ${i} is ${heightWaves[i]} waves; heights must be finite and >= 0`);
    highest = Math.max(highest, heightWaves[i]);
  }
  let unit = 1;
  while (unit <= highest) unit *= 2;
  const config = f.getConfig() as unknown as MetasurfaceFrontendArgs;
  const twin = new MetasurfaceFrontend({
    ...config, name: undefined, batchInputShape: undefined, trainable: false,
    quantizationLevels: undefined, designWavelengthM: g.designWavelengthM * unit, initNoise: 0,
  });
  try {
    tf.tidy(() => {
      twin.apply(tf.zeros([1, f.kernelSize, f.kernelSize, f.inputChannels]));
      twin.setWeights([tf.tensor3d(heightWaves.map((w) => w / unit), [f.kernelCount, g.gridSize, g.gridSize])]);
    });
    return twin.opticalKernels();
  } finally {
    twin.dispose();
  }
}

/** The as-built PSFs of `frontend` under `errors` (all four steps of the module comment). */
export function fabricatedMetasurfaceKernels(frontend: OpticalFrontend, errors: MetasurfaceErrors = {}): OpticalKernels {
  const e = resolveMetasurfaceErrors(errors);
  const maps = metasurfaceHeightMaps(frontend, errors);
  const kernels = metasurfaceKernelsForHeights(frontend, maps.fabricatedWaves);
  const pitch = (frontend as MetasurfaceFrontend).geometry.pixelPitchM;
  const [rowsM, colsM] = e.lateralOffsetM;
  return rowsM === 0 && colsM === 0 ? kernels : shiftKernels(kernels, rowsM / pitch, colsM / pitch);
}

/**
 * A {@link FabricatedDevice} whose optics are `frontend`'s metasurface built with `errors`: its
 * designed PSFs are the frontend's, its as-built PSFs come from the wave optics of the as-built
 * heights, and `sensorErrors` (gain, misalignment, noise, bit depth, and a PSF-level δ on top if
 * wanted) act as in {@link FabricatedDevice.fromFrontend}. With no error of either kind the device
 * senses exactly what the frontend outputs.
 */
export function fabricateMetasurface(frontend: OpticalFrontend, errors: MetasurfaceErrors = {}, sensorErrors: FabricationErrors = {}): FabricatedDevice {
  const f = requireMetasurface("fabricateMetasurface", frontend);
  const designed = f.opticalKernels();
  const built = fabricatedMetasurfaceKernels(f, errors);
  return new FabricatedDevice(designed.values, designed.shape, sensorErrors, { padding: f.padding, colorMode: f.colorMode }, built.values);
}
