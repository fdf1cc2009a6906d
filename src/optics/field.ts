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

/**
 * Optical power Σ|E|²·pitch² over the last two axes (a scalar or one value per batch item).
 *
 * The sum runs on the host in float64: a float32 reduction of 10^6 samples under-reports the
 * power by ~1e-3 relative, which would swamp the Parseval and energy checks this value exists
 * for. The gradient (2·re·pitch², 2·im·pitch²) is supplied explicitly, so it stays differentiable.
 */
export function fieldPower(field: OpticalField): tf.Tensor {
  const { height, width } = fieldSize(field, "fieldPower");
  const area = field.pitchM * field.pitchM;
  const batchShape = field.re.shape.slice(0, -2);
  const power = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [re, im, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([re, im]);
    const sums = sumOfSquaresFloat64(re.dataSync(), im.dataSync(), height * width);
    for (let i = 0; i < sums.length; i++) sums[i] *= area;
    return {
      value: tf.tensor(Float32Array.from(sums), batchShape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const perItem = tf.mul(tf.reshape(dy, [...batchShape, 1, 1]), 2 * area);
        return [tf.mul(saved[0], perItem), tf.mul(saved[1], perItem)];
      },
    };
  });
  return power(field.re, field.im);
}

/** Σ(re² + im²) in float64 over consecutive blocks of `blockSize` samples. */
function sumOfSquaresFloat64(re: ArrayLike<number>, im: ArrayLike<number>, blockSize: number): Float64Array {
  const out = new Float64Array(re.length / blockSize);
  for (let b = 0; b < out.length; b++) {
    let total = 0;
    const end = (b + 1) * blockSize;
    for (let i = b * blockSize; i < end; i++) total += re[i] * re[i] + im[i] * im[i];
    out[b] = total;
  }
  return out;
}

/**
 * Height and width of a field (its last two axes). With `where`, also checks that the field is
 * a usable grid (rank >= 2, at least 1x1, re and im of one shape) and names `where` if not, so
 * an empty field fails at the caller instead of deep inside the DFT.
 */
export function fieldSize(field: ComplexTensor, where?: string): { height: number; width: number } {
  const s = field.re.shape;
  if (where !== undefined) {
    if (s.length < 2) throw new Error(`${where}: the field must have shape [H, W] or [B, H, W], got [${s}]`);
    if (s.some((d) => d < 1)) throw new Error(`${where}: the field grid must be at least 1x1, got shape [${s}]`);
    const t = field.im.shape;
    if (t.length !== s.length || t.some((d, i) => d !== s[i])) {
      throw new Error(`${where}: the field's re [${s}] and im [${t}] shapes differ`);
    }
  }
  return { height: s[s.length - 2], width: s[s.length - 1] };
}

/** Disposes the field's tensors. */
export function disposeField(field: ComplexTensor): void {
  field.re.dispose();
  field.im.dispose();
}
