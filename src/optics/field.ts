/**
 * Optical fields on a square-pixel sampling grid.
 *
 * A field is a complex amplitude E(x, y) (re, im pairs, shape [H, W] or [B, H, W]) sampled at
 * `pitchM` in both directions, for one vacuum `wavelengthM`. Pixel (r, c) sits at
 * x = (c − floor(W/2))·pitch, y = (r − floor(H/2))·pitch, so the optical axis is the pixel
 * that fftshift2d maps the zero frequency to. Intensity is |E|²; the optical power on the grid
 * is Σ|E|²·pitch², which lossless propagation preserves (Parseval).
 */
import { tf } from "../runtime/tf";
import { abs2, type ComplexTensor } from "./complex";
import { requireInteger, requirePositive } from "./units";

/** A sampled monochromatic complex field. */
export interface OpticalField extends ComplexTensor {
  /** Sampling pitch of the grid in metres (same along x and y). */
  pitchM: number;
  /** Vacuum wavelength in metres. */
  wavelengthM: number;
}

/** Coordinates (metres) of the samples along one axis: (i − floor(n/2))·pitch. */
export function axisCoordinatesM(n: number, pitchM: number): Float64Array {
  const c = new Float64Array(n);
  const mid = Math.floor(n / 2);
  for (let i = 0; i < n; i++) c[i] = (i - mid) * pitchM;
  return c;
}

/** Evaluates f(xM, yM) on an H×W grid in float64, row-major. */
export function evaluateOnGrid(height: number, width: number, pitchM: number, f: (xM: number, yM: number) => number): Float64Array {
  const xs = axisCoordinatesM(width, pitchM);
  const ys = axisCoordinatesM(height, pitchM);
  const out = new Float64Array(height * width);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) out[r * width + c] = f(xs[c], ys[r]);
  return out;
}

function checkGrid(where: string, height: number, width: number, pitchM: number, wavelengthM: number): void {
  requireInteger(where, "height", height);
  requireInteger(where, "width", width);
  requirePositive(where, "pitchM", pitchM);
  requirePositive(where, "wavelengthM", wavelengthM);
}

/** Options of the field constructors. */
export interface GridOptions {
  /** Number of rows. */
  height: number;
  /** Number of columns. */
  width: number;
  /** Sampling pitch in metres. */
  pitchM: number;
  /** Vacuum wavelength in metres. */
  wavelengthM: number;
}

/** A unit-amplitude, zero-phase plane wave travelling along the axis (a point source at infinity). */
export function planeWave(opts: GridOptions): OpticalField {
  checkGrid("planeWave", opts.height, opts.width, opts.pitchM, opts.wavelengthM);
  return {
    re: tf.ones([opts.height, opts.width]),
    im: tf.zeros([opts.height, opts.width]),
    pitchM: opts.pitchM,
    wavelengthM: opts.wavelengthM,
  };
}

/**
 * A single bright pixel on the optical axis (a sampled point source), with amplitude chosen so
 * that its power Σ|E|²·pitch² equals 1.
 */
export function pointSource(opts: GridOptions): OpticalField {
  checkGrid("pointSource", opts.height, opts.width, opts.pitchM, opts.wavelengthM);
  const re = new Float32Array(opts.height * opts.width);
  re[Math.floor(opts.height / 2) * opts.width + Math.floor(opts.width / 2)] = 1 / opts.pitchM;
  return {
    re: tf.tensor2d(re, [opts.height, opts.width]),
    im: tf.zeros([opts.height, opts.width]),
    pitchM: opts.pitchM,
    wavelengthM: opts.wavelengthM,
  };
}

/**
 * The spherical wave of a point source at `sourceDistanceM` in front of the plane, in the
 * paraxial form exp(iπ(x² + y²)/(λ·z)) with unit amplitude.
 */
export function sphericalWave(opts: GridOptions & { sourceDistanceM: number }): OpticalField {
  checkGrid("sphericalWave", opts.height, opts.width, opts.pitchM, opts.wavelengthM);
  requirePositive("sphericalWave", "sourceDistanceM", opts.sourceDistanceM);
  const phase = evaluateOnGrid(opts.height, opts.width, opts.pitchM, (x, y) => (Math.PI * (x * x + y * y)) / (opts.wavelengthM * opts.sourceDistanceM));
  const re = new Float32Array(phase.length);
  const im = new Float32Array(phase.length);
  for (let i = 0; i < phase.length; i++) {
    re[i] = Math.cos(phase[i]);
    im[i] = Math.sin(phase[i]);
  }
  return {
    re: tf.tensor2d(re, [opts.height, opts.width]),
    im: tf.tensor2d(im, [opts.height, opts.width]),
    pitchM: opts.pitchM,
    wavelengthM: opts.wavelengthM,
  };
}

/**
 * A Gaussian beam at its waist: E = exp(−(x² + y²)/w0²), w0 = `waistM` (the 1/e² intensity
 * radius). Its width after free space z is w(z) = w0·√(1 + (z/zR)²), zR = π·w0²/λ.
 */
export function gaussianBeam(opts: GridOptions & { waistM: number }): OpticalField {
  checkGrid("gaussianBeam", opts.height, opts.width, opts.pitchM, opts.wavelengthM);
  requirePositive("gaussianBeam", "waistM", opts.waistM);
  const a = evaluateOnGrid(opts.height, opts.width, opts.pitchM, (x, y) => Math.exp(-(x * x + y * y) / (opts.waistM * opts.waistM)));
  return {
    re: tf.tensor2d(Float32Array.from(a), [opts.height, opts.width]),
    im: tf.zeros([opts.height, opts.width]),
    pitchM: opts.pitchM,
    wavelengthM: opts.wavelengthM,
  };
}

/** Wraps re/im tensors with grid metadata. */
export function makeField(parts: ComplexTensor, pitchM: number, wavelengthM: number): OpticalField {
  requirePositive("makeField", "pitchM", pitchM);
  requirePositive("makeField", "wavelengthM", wavelengthM);
  if (parts.re.shape.length < 2) throw new Error(`makeField: field must have shape [H, W] or [B, H, W], got [${parts.re.shape}]`);
  return { re: parts.re, im: parts.im, pitchM, wavelengthM };
}

/** |E|², same shape as the field. */
export function intensity(field: ComplexTensor): tf.Tensor {
  return abs2(field);
}

/** Optical power Σ|E|²·pitch² over the last two axes (a scalar or one value per batch item). */
export function fieldPower(field: OpticalField): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.sum(abs2(field), [-2, -1]), field.pitchM * field.pitchM));
}

/** Height and width of a field (its last two axes). */
export function fieldSize(field: ComplexTensor): { height: number; width: number } {
  const s = field.re.shape;
  return { height: s[s.length - 2], width: s[s.length - 1] };
}

/** Disposes the field's tensors. */
export function disposeField(field: ComplexTensor): void {
  field.re.dispose();
  field.im.dispose();
}
