/**
 * Arc-cosine kernels of the ReLU (Cho & Saul 2009), the expectations that carry Gaussian
 * covariances through a ReLU layer of infinite width. For (u, v) ~ N(0, [[sxx, sxy], [sxy, syy]])
 * and θ = arccos(sxy / √(sxx·syy)):
 *
 *   κ1 = E[relu(u)·relu(v)]   = √(sxx·syy) · (sin θ + (π − θ)·cos θ) / (2π)
 *   κ0 = E[relu'(u)·relu'(v)] = (π − θ) / (2π)
 */

function angle(sxx: number, syy: number, sxy: number, where: string): number {
  if (!(sxx >= 0) || !(syy >= 0) || !Number.isFinite(sxy)) {
    throw new Error(`${where}: variances must be >= 0 and the covariance finite, got sxx=${sxx}, syy=${syy}, sxy=${sxy}`);
  }
  const norm = Math.sqrt(sxx * syy);
  if (norm === 0) return Math.PI / 2;
  // Rounding can push |cos θ| a hair past 1; clamp instead of returning NaN from acos.
  const c = Math.min(1, Math.max(-1, sxy / norm));
  return Math.acos(c);
}

/** κ0 = E[step(u)·step(v)] = (π − θ)/(2π); 1/4 when either variance is 0 (θ taken as π/2). */
export function arcCosineKappa0(sxx: number, syy: number, sxy: number): number {
  return (Math.PI - angle(sxx, syy, sxy, "arcCosineKappa0")) / (2 * Math.PI);
}

/** κ1 = E[relu(u)·relu(v)] = √(sxx·syy)·(sin θ + (π − θ) cos θ)/(2π). */
export function arcCosineKappa1(sxx: number, syy: number, sxy: number): number {
  const theta = angle(sxx, syy, sxy, "arcCosineKappa1");
  return (Math.sqrt(sxx * syy) * (Math.sin(theta) + (Math.PI - theta) * Math.cos(theta))) / (2 * Math.PI);
}
