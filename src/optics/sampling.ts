/**
 * Sampling checks of phase profiles given as arrays (PhaseMask phases, Metasurface heights).
 *
 * A sampled phase φ represents the continuous profile only while its step between neighbouring
 * pixels stays below π (the local spatial frequency |∇φ|/2π below the grid's Nyquist 1/(2·pitch)).
 * For a lens phase −π·r²/(λ·f) the step along x is 2π·x·pitch/(λ·f), so it aliases beyond
 * r = λ·f/(2·pitch), the radius ThinLens warns about.
 *
 * Two kinds of profile reach an element:
 *  - unwrapped (its values span more than one 2π period): every step is a true local gradient,
 *    so a step above π is undersampling, exactly;
 *  - already wrapped into one period: the true steps are unknown, and the best estimate is the
 *    wrapped step, reduced into [−π, π]. For a smooth profile it changes slowly from pixel to
 *    pixel (by the second derivative). Where the true gradient crosses π per pixel, the wrapped
 *    step folds from −π to +π (or back) between neighbouring steps: the apparent gradient
 *    reverses. A change of the wrapped step by more than π is read as that fold. Between folds an
 *    aliased gradient looks smooth, so the warning reports the first fold, which for a lens-like
 *    profile is the radius where aliasing starts.
 */

/** What `phaseSamplingProblem` found. */
export interface PhaseSamplingProblem {
  /** Smallest distance (metres) from the optical axis of an undersampled neighbour step. */
  firstRadiusM: number;
  /** Fraction of neighbour steps (x and y) that are undersampled. */
  fraction: number;
  /** Whether the profile was read as unwrapped (true) or as wrapped into one period. */
  unwrapped: boolean;
}

/**
 * Finds undersampled neighbour steps of a phase profile (radians, row-major H×W, float64 or
 * float32). Returns null when the profile is adequately sampled. Non-finite values throw,
 * naming `where`. `periodRad` is the phase of one wrap period (default 2π; a metasurface
 * wrapped at its design wavelength has another period at other wavelengths).
 */
export function phaseSamplingProblem(
  where: string, phaseRad: ArrayLike<number>, height: number, width: number, pitchM: number, periodRad = 2 * Math.PI,
): PhaseSamplingProblem | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < phaseRad.length; i++) {
    const v = phaseRad[i];
    if (!Number.isFinite(v)) {
      throw new Error(`${where}: the profile has a non-finite value (${v}) at row ${Math.floor(i / width)}, column ${i % width}; expected finite numbers`);
    }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  // A small tolerance: a wrapped profile rounded to float32 may reach 2π by an ulp.
  const unwrapped = hi - lo > periodRad * (1 + 1e-6);
  const midRow = Math.floor(height / 2);
  const midCol = Math.floor(width / 2);
  let firstRadius = Infinity;
  let flagged = 0;
  let steps = 0;
  const wrapStep = (d: number): number => d - 2 * Math.PI * Math.round(d / (2 * Math.PI));
  // Step k along a line joins samples k and k+1; `radiusAt(t)` is the distance from the axis of
  // position t (in samples) along the line.
  const scanLine = (at: (k: number) => number, n: number, radiusAt: (t: number) => number): void => {
    for (let k = 0; k + 1 < n; k++) {
      steps++;
      if (unwrapped) {
        if (Math.abs(at(k + 1) - at(k)) <= Math.PI) continue;
        flagged++;
        firstRadius = Math.min(firstRadius, radiusAt(k + 0.5));
      } else {
        if (k + 2 >= n) continue;
        const before = wrapStep(at(k + 1) - at(k));
        const after = wrapStep(at(k + 2) - at(k + 1));
        if (Math.abs(after - before) <= Math.PI) continue;
        flagged++;
        firstRadius = Math.min(firstRadius, radiusAt(k + 1));
      }
    }
  };
  for (let r = 0; r < height; r++) {
    const y = (r - midRow) * pitchM;
    scanLine((k) => phaseRad[r * width + k], width, (t) => Math.hypot((t - midCol) * pitchM, y));
  }
  for (let c = 0; c < width; c++) {
    const x = (c - midCol) * pitchM;
    scanLine((k) => phaseRad[k * width + c], height, (t) => Math.hypot(x, (t - midRow) * pitchM));
  }
  if (flagged === 0) return null;
  return { firstRadiusM: firstRadius, fraction: flagged / steps, unwrapped };
}
