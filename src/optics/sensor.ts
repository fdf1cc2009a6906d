/**
 * The camera sensor: pixel integration at the pixel pitch (with the imaging magnification and a
 * sub-pixel shift of the pixel grid), gain, shot and read noise, and bit depth.
 *
 * Pixel integration is separable and exact for box pixels: a matrix R (sensor pixels ×
 * samples) holds, per axis, the fraction of each simulation sample's footprint that falls
 * inside each sensor pixel, so the collected energy is  Ry · (I·pitch²) · Rxᵀ  (a matmul,
 * differentiable, any pitch ratio). Magnification m maps the input plane onto the sensor
 * (x_sensor = m·x, m < 0 inverts the image). The sensor grid follows the field convention:
 * pixel i is centred at (i − floor(N/2) + shift)·pixelPitch, so the optical axis is pixel
 * floor(N/2) when the shift is 0.
 */
import { tf } from "../runtime/tf";
import { tfSeed } from "../runtime/seed";
import type { VegaLiteSpec } from "../viz/types";
import { drawTensors } from "./draw";
import { quantizeStraightThrough } from "./quantize";
import { formatLength, requireFinite, requireInteger, requireNonNegative, requirePositive } from "./units";
import { OpticsWarnings } from "./warnings";

/** Options of `pixelIntegrationMatrix`. */
export interface PixelIntegrationOptions {
  /** Number of input samples along the axis. */
  inputSamples: number;
  /** Pitch of the input samples, metres (in the input plane). */
  inputPitchM: number;
  /** Number of sensor pixels along the axis. */
  pixels: number;
  /** Sensor pixel pitch, metres. */
  pixelPitchM: number;
  /** Lateral magnification from the input plane to the sensor (default 1). */
  magnification?: number;
  /** Shift of the sensor pixel grid in pixels (default 0; sub-pixel values allowed). */
  shiftPx?: number;
}

/**
 * R[i, j] = fraction of input sample j's footprint inside sensor pixel i, row-major
 * [pixels, inputSamples]. Column sums are 1 for samples fully covered by the sensor.
 */
export function pixelIntegrationMatrix(o: PixelIntegrationOptions): Float32Array {
  const where = "pixelIntegrationMatrix";
  requireInteger(where, "inputSamples", o.inputSamples);
  requirePositive(where, "inputPitchM", o.inputPitchM);
  requireInteger(where, "pixels", o.pixels);
  requirePositive(where, "pixelPitchM", o.pixelPitchM);
  const m = requireFinite(where, "magnification", o.magnification ?? 1);
  if (m === 0) throw new Error(`${where}: magnification must be non-zero`);
  const shift = requireFinite(where, "shiftPx", o.shiftPx ?? 0);
  const out = new Float32Array(o.pixels * o.inputSamples);
  const inMid = Math.floor(o.inputSamples / 2);
  const outMid = Math.floor(o.pixels / 2);
  const footprint = Math.abs(m) * o.inputPitchM;
  for (let j = 0; j < o.inputSamples; j++) {
    const x = (j - inMid) * o.inputPitchM;
    const a = Math.min(m * (x - o.inputPitchM / 2), m * (x + o.inputPitchM / 2));
    const b = a + footprint;
    // Only pixels that can overlap [a, b] are visited.
    const iFirst = Math.max(0, Math.floor(a / o.pixelPitchM - 0.5 - shift) + outMid);
    const iLast = Math.min(o.pixels - 1, Math.ceil(b / o.pixelPitchM + 0.5 - shift) + outMid);
    for (let i = iFirst; i <= iLast; i++) {
      const lo = (i - outMid + shift - 0.5) * o.pixelPitchM;
      const hi = lo + o.pixelPitchM;
      const overlap = Math.min(b, hi) - Math.max(a, lo);
      if (overlap > 0) out[i * o.inputSamples + j] = overlap / footprint;
    }
  }
  return out;
}

/**
 * Integrates an intensity [H, W] or [B, H, W] sampled at `inputPitchM` onto a rows×cols grid of
 * sensor pixels: energy per pixel = Σ I·(sample area inside the pixel). Differentiable.
 */
export function integratePixels(
  intensity: tf.Tensor, inputPitchM: number,
  o: { pixels: [number, number]; pixelPitchM: number; magnification?: number; shiftPx?: [number, number] },
): tf.Tensor {
  const s = intensity.shape;
  if (s.length !== 2 && s.length !== 3) throw new Error(`integratePixels: intensity must be [H, W] or [B, H, W], got [${s}]`);
  const [h, w] = s.slice(-2);
  const [rows, cols] = o.pixels;
  const [sy, sx] = o.shiftPx ?? [0, 0];
  const ry = pixelIntegrationMatrix({ inputSamples: h, inputPitchM, pixels: rows, pixelPitchM: o.pixelPitchM, magnification: o.magnification, shiftPx: sy });
  const rx = pixelIntegrationMatrix({ inputSamples: w, inputPitchM, pixels: cols, pixelPitchM: o.pixelPitchM, magnification: o.magnification, shiftPx: sx });
  return tf.tidy(() => {
    const b = s.length === 3 ? s[0] : 1;
    const ryT = tf.tensor2d(ry, [rows, h]);
    const rxT = tf.tensor2d(rx, [cols, w]);
    // (B·H, W) · Rxᵀ → (B, H, cols) → transpose → (B·cols, H) · Ryᵀ → (B, cols, rows) → transpose.
    const alongX = tf.reshape(tf.matMul(tf.reshape(intensity, [b * h, w]), rxT, false, true), [b, h, cols]);
    const t = tf.reshape(tf.transpose(alongX, [0, 2, 1]), [b * cols, h]);
    const alongY = tf.transpose(tf.reshape(tf.matMul(t, ryT, false, true), [b, cols, rows]), [0, 2, 1]);
    const energy = tf.mul(alongY, inputPitchM * inputPitchM);
    return s.length === 3 ? energy : tf.reshape(energy, [rows, cols]);
  });
}

/** Options of Sensor. */
export interface SensorOptions {
  /** Sensor pixel pitch, metres. */
  pixelPitchM: number;
  /** Sensor size in pixels, [rows, cols]. */
  pixels: [number, number];
  /** Lateral magnification from the simulated plane onto the sensor (default 1). */
  magnification?: number;
  /** Shift of the pixel grid in pixels, [rows, cols] (default [0, 0]; misalignment). */
  shiftPx?: [number, number];
  /** Multiplies the collected signal (exposure × quantum efficiency × analogue gain; default 1). */
  gain?: number;
  /**
   * Photo-electrons per unit of signal. When set, shot noise with variance signal/electronsPerUnit
   * is added through a differentiable Gaussian surrogate: s + √(max(s, 0)/e)·n, n ~ N(0, 1).
   */
  electronsPerUnit?: number;
  /** Standard deviation of additive Gaussian read noise in signal units (default 0). */
  readNoiseStd?: number;
  /** Bit depth of the ADC; when set, the signal is clipped to [0, fullScale] and quantised to 2^bits − 1 steps (straight-through gradient). */
  bitDepth?: number;
  /** Signal that maps to the top ADC code (default 1). */
  fullScale?: number;
  /** Seed of the noise; each capture uses the next seed in sequence (default 0). */
  seed?: number;
}

/** A camera sensor. */
export class Sensor {
  readonly warnings = new OpticsWarnings();
  readonly label: string;
  private captures = 0;
  constructor(readonly options: SensorOptions) {
    const where = "Sensor";
    requirePositive(where, "pixelPitchM", options.pixelPitchM);
    if (!Array.isArray(options.pixels) || options.pixels.length !== 2) throw new Error(`${where}: pixels must be [rows, cols]`);
    requireInteger(where, "pixels[0]", options.pixels[0]);
    requireInteger(where, "pixels[1]", options.pixels[1]);
    requireFinite(where, "gain", options.gain ?? 1);
    if (options.electronsPerUnit !== undefined) requirePositive(where, "electronsPerUnit", options.electronsPerUnit);
    requireNonNegative(where, "readNoiseStd", options.readNoiseStd ?? 0);
    if (options.bitDepth !== undefined) requireInteger(where, "bitDepth", options.bitDepth, 1);
    requirePositive(where, "fullScale", options.fullScale ?? 1);
    this.label = `Sensor(${options.pixels[0]}x${options.pixels[1]} @ ${formatLength(options.pixelPitchM)})`;
  }

  /**
   * Captures an intensity [H, W] or [B, H, W] sampled at `inputPitchM`.
   * @param noise whether to add noise (default true; pass false for a noiseless forward pass).
   */
  capture(intensity: tf.Tensor, inputPitchM: number, noise = true): tf.Tensor {
    const o = this.options;
    requirePositive("Sensor.capture", "inputPitchM", inputPitchM);
    const m = Math.abs(o.magnification ?? 1);
    if (inputPitchM * m > o.pixelPitchM) {
      this.warnings.add("undersampling", this.label,
        `a simulation sample (${formatLength(inputPitchM)} × magnification ${m} = ${formatLength(inputPitchM * m)} on the sensor) is larger than a sensor pixel (${formatLength(o.pixelPitchM)}); ` +
        `pixel integration then smears samples over pixels instead of integrating within them: refine the simulation pitch`);
    }
    return tf.tidy(() => {
      let s = integratePixels(intensity, inputPitchM, { pixels: o.pixels, pixelPitchM: o.pixelPitchM, magnification: o.magnification, shiftPx: o.shiftPx });
      s = tf.mul(s, o.gain ?? 1);
      if (noise && (o.electronsPerUnit !== undefined || (o.readNoiseStd ?? 0) > 0)) {
        const seed = (o.seed ?? 0) * 1000003 + this.captures++;
        if (o.electronsPerUnit !== undefined) {
          const std = tf.sqrt(tf.add(tf.div(tf.relu(s), o.electronsPerUnit), 1e-12));
          s = tf.add(s, tf.mul(std, tf.randomNormal(s.shape, 0, 1, "float32", tfSeed(seed))));
        }
        if ((o.readNoiseStd ?? 0) > 0) s = tf.add(s, tf.randomNormal(s.shape, 0, o.readNoiseStd, "float32", tfSeed(seed + 7919)));
      }
      if (o.bitDepth !== undefined) {
        const full = o.fullScale ?? 1;
        const step = full / (2 ** o.bitDepth - 1);
        s = quantizeStraightThrough(tf.clipByValue(s, 0, full), step);
      }
      return s;
    });
  }

  /** Heatmap of a captured frame ([rows, cols] or the first of a batch). */
  draw(frame: tf.Tensor): VegaLiteSpec {
    return drawTensors([frame], ["signal"], { title: this.label });
  }
}
