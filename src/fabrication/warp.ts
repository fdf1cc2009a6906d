/**
 * Rigid misalignment of a sensor image (paper Eq. 10's β): a sub-pixel shift and a small
 * rotation about the image centre, resampled bilinearly with zeros outside the frame.
 *
 * Why a dense resampling matrix: tfjs's image-transform kernels are missing on wasm, and a
 * warp of an H×W frame is a fixed linear map, so one matmul applies it to every channel of a
 * batch on every backend (28×28 → a 784×784 matrix).
 */
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";

/** A misalignment between the optical image and the sensor pixel grid. */
export interface Misalignment {
  /** Shift down the rows, in sensor pixels (sub-pixel values allowed). */
  shiftRowsPx: number;
  /** Shift along the columns, in sensor pixels (sub-pixel values allowed). */
  shiftColsPx: number;
  /** Rotation about the frame centre, in degrees, counter-clockwise. */
  rotationDeg: number;
}

export const NO_MISALIGNMENT: Misalignment = { shiftRowsPx: 0, shiftColsPx: 0, rotationDeg: 0 };

/** True when the misalignment leaves every pixel where it is. */
export function isIdentityMisalignment(m: Misalignment): boolean {
  return m.shiftRowsPx === 0 && m.shiftColsPx === 0 && m.rotationDeg === 0;
}

/**
 * The resampling matrix R (row-major, [H·W, H·W]) with out = R · in for one flattened frame:
 * output pixel p reads the input at the position that maps onto p, i.e. the image content
 * moves by (+shiftRowsPx, +shiftColsPx) and turns by +rotationDeg.
 */
export function warpMatrix(height: number, width: number, m: Misalignment): Float32Array {
  const n = height * width;
  const r = new Float32Array(n * n);
  forEachTap(height, width, m, (out, src, weight) => {
    r[out * n + src] += weight;
  });
  return r;
}

/**
 * Visits the bilinear taps of the warp: `visit(outPixel, sourcePixel, weight)` for every
 * output pixel and each in-frame neighbour of the position it samples.
 */
function forEachTap(height: number, width: number, m: Misalignment, visit: (out: number, src: number, weight: number) => void): void {
  for (const [name, v] of Object.entries(m)) {
    if (!Number.isFinite(v)) throw new Error(`misalignment.${name} must be a finite number, got ${v}`);
  }
  const theta = (m.rotationDeg * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const cy = (height - 1) / 2;
  const cx = (width - 1) / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Inverse map: undo the shift, then the rotation, to find where output (y, x) samples.
      const dy = y - m.shiftRowsPx - cy;
      const dx = x - m.shiftColsPx - cx;
      const sy = cos * dy - sin * dx + cy;
      const sx = sin * dy + cos * dx + cx;
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const fy = sy - y0;
      const fx = sx - x0;
      const out = y * width + x;
      const tap = (ty: number, tx: number, w: number): void => {
        if (w !== 0 && ty >= 0 && ty < height && tx >= 0 && tx < width) visit(out, ty * width + tx, w);
      };
      tap(y0, x0, (1 - fy) * (1 - fx));
      tap(y0, x0 + 1, (1 - fy) * fx);
      tap(y0 + 1, x0, fy * (1 - fx));
      tap(y0 + 1, x0 + 1, fy * fx);
    }
  }
}

/**
 * The misalignment that undoes `m` (rotation −θ, then the shift rotated back), so a calibrated
 * capture can be put back on the designed grid.
 */
export function invertMisalignment(m: Misalignment): Misalignment {
  const theta = (m.rotationDeg * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  return {
    shiftRowsPx: -(cos * m.shiftRowsPx - sin * m.shiftColsPx),
    shiftColsPx: -(sin * m.shiftRowsPx + cos * m.shiftColsPx),
    rotationDeg: -m.rotationDeg,
  };
}

/**
 * Warps NHWC frames held in a Float32Array (each channel alike), in plain JS with the four
 * bilinear taps per pixel: cheap enough for the calibration's search over candidate warps.
 */
export function warpFrames(frames: Float32Array, count: number, height: number, width: number, channels: number, m: Misalignment): Float32Array {
  const per = height * width * channels;
  if (frames.length !== count * per) throw new Error(`warpFrames: ${frames.length} values do not fill ${count} frames of ${height}x${width}x${channels}`);
  const out = new Float32Array(frames.length);
  if (isIdentityMisalignment(m)) {
    out.set(frames);
    return out;
  }
  forEachTap(height, width, m, (o, src, weight) => {
    for (let f = 0; f < count; f++) {
      const base = f * per;
      for (let c = 0; c < channels; c++) out[base + o * channels + c] += weight * frames[base + src * channels + c];
    }
  });
  return out;
}

/**
 * Applies a misalignment to a batch of frames [n, H, W, C] (each channel warped alike).
 * `matrix` is {@link warpMatrix}'s output as a [H·W, H·W] tensor (build it once, reuse it).
 */
export function applyWarp(frames: Tensor, matrix: Tensor): Tensor {
  return tf.tidy(() => {
    const [n, h, w, c] = frames.shape as [number, number, number, number];
    if (matrix.shape[0] !== h * w) throw new Error(`applyWarp: the warp matrix is for ${matrix.shape[0]} pixels, the frames have ${h}x${w}`);
    const cols = tf.reshape(tf.transpose(frames, [1, 2, 0, 3]), [h * w, n * c]);
    const warped = tf.matMul(matrix, cols);
    return tf.transpose(tf.reshape(warped, [h, w, n, c]), [2, 0, 1, 3]);
  });
}
