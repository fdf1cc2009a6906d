/**
 * Calibration of the brightness gain α and the misalignment β from a few captures (the paper
 * says both "can be experimentally calibrated"): show known images, capture them, and fit
 * capture ≈ α · warp_β(designed sensor image) by least squares over a coarse-to-fine search
 * of shifts and rotations; α has a closed form for each candidate warp.
 */
import type { Misalignment } from "./warp";
import { invertMisalignment, warpFrames } from "./warp";
import type { CaptureCorrection } from "./compensation";

/** Options of {@link calibrate}. */
export interface CalibrationOptions {
  /** Largest |shift| searched, in pixels (default 3). */
  maxShiftPx?: number;
  /** Largest |rotation| searched, in degrees (default 2; 0 disables the rotation search). */
  maxRotationDeg?: number;
  /** Finest shift step, in pixels (default 0.125). */
  shiftStepPx?: number;
}

/** Result of {@link calibrate}. */
export interface Calibration {
  gain: number;
  misalignment: Misalignment;
  /** Relative residual ‖capture − α·warp(designed)‖ / ‖capture‖ at the optimum. */
  relativeResidual: number;
  /** The correction that maps captures back onto the designed grid and brightness. */
  correction: CaptureCorrection;
}

/** Frames of one calibration set: `count` sensor images, NHWC. */
export interface CalibrationFrames {
  /** What the designed (simulated, error-free) frontend outputs for the calibration images. */
  designed: Float32Array;
  /** What the device captured for the same images. */
  captured: Float32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

function fit(f: CalibrationFrames, m: Misalignment): { gain: number; residual: number } {
  const warped = warpFrames(f.designed, f.count, f.height, f.width, f.channels, m);
  let wc = 0;
  let ww = 0;
  let cc = 0;
  for (let i = 0; i < warped.length; i++) {
    wc += warped[i] * f.captured[i];
    ww += warped[i] * warped[i];
    cc += f.captured[i] * f.captured[i];
  }
  const gain = ww > 0 ? wc / ww : 0;
  return { gain, residual: Math.sqrt(Math.max(0, cc - 2 * gain * wc + gain * gain * ww) / Math.max(cc, 1e-30)) };
}

function range(limit: number, step: number, centre = 0): number[] {
  const out: number[] = [];
  const n = Math.round(limit / step);
  for (let i = -n; i <= n; i++) out.push(centre + i * step);
  return out;
}

/** Fits α and β to calibration captures. */
export function calibrate(frames: CalibrationFrames, opts: CalibrationOptions = {}): Calibration {
  const { count, height, width, channels } = frames;
  const size = count * height * width * channels;
  if (!(count >= 1)) throw new Error(`calibrate: need at least one calibration frame, got ${count}`);
  if (frames.designed.length !== size || frames.captured.length !== size) {
    throw new Error(`calibrate: designed (${frames.designed.length}) and captured (${frames.captured.length}) must both hold ${count}x${height}x${width}x${channels} = ${size} values`);
  }
  const maxShift = opts.maxShiftPx ?? 3;
  const maxRot = opts.maxRotationDeg ?? 2;
  const fine = opts.shiftStepPx ?? 0.125;
  let best = { m: { shiftRowsPx: 0, shiftColsPx: 0, rotationDeg: 0 }, gain: 1, residual: Infinity };
  const consider = (m: Misalignment): void => {
    const r = fit(frames, m);
    if (r.residual < best.residual) best = { m, gain: r.gain, residual: r.residual };
  };
  // Coarse-to-fine: integer shifts, then halving steps around the best, then rotation, then shifts again.
  for (const dy of range(maxShift, 1)) for (const dx of range(maxShift, 1)) consider({ shiftRowsPx: dy, shiftColsPx: dx, rotationDeg: 0 });
  const refineShift = (): void => {
    for (let step = 0.5; step >= fine - 1e-9; step /= 2) {
      const c = best.m;
      for (const dy of range(step, step, c.shiftRowsPx)) for (const dx of range(step, step, c.shiftColsPx)) consider({ ...c, shiftRowsPx: dy, shiftColsPx: dx });
    }
  };
  refineShift();
  if (maxRot > 0) {
    for (const rot of range(maxRot, 0.25)) consider({ ...best.m, rotationDeg: rot });
    refineShift();
  }
  const gain = best.gain;
  if (!(gain > 0)) throw new Error(`calibrate: the captures do not correlate with the designed frames (fitted gain ${gain}); check that they show the same images`);
  const undo = invertMisalignment(best.m);
  return {
    gain,
    misalignment: best.m,
    relativeResidual: best.residual,
    correction: {
      scale: 1 / gain,
      transform: (captured, n, h, w, c) => warpFrames(captured, n, h, w, c, undo),
    },
  };
}
