/** Mean, sample standard deviation and the runs themselves, as summary.json reports them. */
export interface SeedSummary {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single run. */
  std: number;
  /** One value per seed, in seed order. */
  runs: number[];
}

/** Summarises per-seed values; every value must be finite. */
export function summarizeRuns(runs: readonly number[], what = "runs"): SeedSummary {
  if (runs.length === 0) throw new Error(`summarizeRuns: ${what} is empty`);
  runs.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`summarizeRuns: ${what}[${i}] is ${v}`);
  });
  const mean = runs.reduce((a, b) => a + b, 0) / runs.length;
  const std = runs.length > 1 ? Math.sqrt(runs.reduce((a, b) => a + (b - mean) ** 2, 0) / (runs.length - 1)) : 0;
  return { mean, std, runs: runs.slice() };
}

/** "97.31 ± 0.42" from fractions, in percent. */
export function formatPercent(s: SeedSummary, digits = 1): string {
  return s.runs.length > 1 ? `${(100 * s.mean).toFixed(digits)} ± ${(100 * s.std).toFixed(digits)}` : (100 * s.mean).toFixed(digits);
}
