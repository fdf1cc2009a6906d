/**
 * Paired differences between two methods over seeds, with a Student-t confidence interval.
 *
 * Two students of one seed share their data order, initialisation draw and teacher, so the seed
 * is a block: the difference of their accuracies varies much less than either accuracy does. The
 * interval is over the per-seed differences (n − 1 degrees of freedom), which is what "NTKD beats
 * KD" has to clear; comparing two independent means with their own stds would hide a consistent
 * small gain in the seed-to-seed spread.
 */
import { InputError } from "../notebook/errors";
import { summarizeRuns } from "./stats";

/** One method's accuracy per seed, as summary.json's `models` records it. */
export interface SeededValue {
  seed: number;
  accuracy: number;
}

/** The difference `a − b` over the seeds both were run with. */
export interface PairedDifference {
  /** Mean of the per-seed differences (fraction, like the accuracies). */
  mean: number;
  /** Sample standard deviation of the per-seed differences (n − 1). */
  std: number;
  /** Number of paired seeds. */
  n: number;
  /** Two-sided confidence interval of the mean difference: mean ± t(1 − (1 − level)/2, n − 1) · std / √n. */
  interval: [number, number];
  /** Confidence level of `interval` (default 0.95). */
  level: number;
  /** The paired seeds, ascending, and each one's difference. */
  seeds: number[];
  differences: number[];
}

/** Natural log of Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-13). */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of the regularized incomplete beta (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** I_x(a, b), the regularized incomplete beta function. */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (bisection on the CDF, to 1e-12). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new InputError(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new InputError(`studentTQuantile: df must be positive, got ${df}`);
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  while (hi - lo > 1e-12 * Math.max(1, hi)) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * `a − b` paired by seed, over the seeds both hold (each seed at most once per side; at least two
 * shared seeds, else there is no interval). `what` names the comparison in errors.
 */
export function pairedDifference(a: readonly SeededValue[], b: readonly SeededValue[], opts: { level?: number; what?: string } = {}): PairedDifference {
  const what = opts.what ?? "pairedDifference";
  const level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new InputError(`${what}: level must be in (0, 1), got ${level}`);
  const bySeed = (side: readonly SeededValue[], name: string) => {
    const map = new Map<number, number>();
    for (const v of side) {
      if (!Number.isFinite(v.accuracy)) throw new InputError(`${what}: ${name} seed ${v.seed} has accuracy ${v.accuracy}`);
      if (map.has(v.seed)) throw new InputError(`${what}: ${name} holds seed ${v.seed} twice`);
      map.set(v.seed, v.accuracy);
    }
    return map;
  };
  const left = bySeed(a, "a");
  const right = bySeed(b, "b");
  const seeds = [...left.keys()].filter((s) => right.has(s)).sort((x, y) => x - y);
  if (seeds.length < 2) throw new InputError(`${what}: needs at least 2 seeds run with both methods, got ${seeds.length} (${seeds.join(", ") || "none"})`);
  const differences = seeds.map((s) => (left.get(s) as number) - (right.get(s) as number));
  const n = seeds.length;
  const { mean, std } = summarizeRuns(differences, what);
  const half = (studentTQuantile(1 - (1 - level) / 2, n - 1) * std) / Math.sqrt(n);
  return { mean, std, n, interval: [mean - half, mean + half], level, seeds, differences };
}

/** A method's record as summary.json's `students.<method>` holds it. */
export interface RecordedStudents {
  models: readonly { seed?: number; accuracy: number }[];
}

/**
 * The paired differences of `pairs` (e.g. `[["ntkd", "kd"], ["ntkd", "none"]]`) between the
 * methods of one study record (`datasets.<d>.students` of summary.json), keyed `"ntkd-kd"`.
 * A pair whose method the record lacks is an error naming it.
 */
export function studentGains(students: Record<string, RecordedStudents>, pairs: readonly (readonly [string, string])[], opts: { level?: number } = {}): Record<string, PairedDifference> {
  const values = (method: string): SeededValue[] => {
    const rec = students[method];
    if (rec === undefined) throw new InputError(`studentGains: the record has no method "${method}" (it has ${Object.keys(students).join(", ")})`);
    return rec.models.map((m, i) => {
      if (typeof m.seed !== "number") throw new InputError(`studentGains: ${method} model ${i} records no seed`);
      return { seed: m.seed, accuracy: m.accuracy };
    });
  };
  const out: Record<string, PairedDifference> = {};
  for (const [a, b] of pairs) out[`${a}-${b}`] = pairedDifference(values(a), values(b), { ...opts, what: `studentGains ${a} − ${b}` });
  return out;
}

/**
 * The comparisons a study records when it holds both methods: each transfer method against no
 * transfer, the feature-relational baselines against KD, NTKD against every other transfer
 * method (does matching the tangent kernel beat matching logits, feature relations or what the
 * optical kernels span?), and
 * KD + NTKD against no transfer and each of its two parts (does the kernel term add to KD?).
 */
export const GAIN_PAIRS: readonly (readonly [string, string])[] = [
  ["kd", "none"],
  ["ntkd", "none"],
  ["sp", "none"],
  ["rkd", "none"],
  ["sp", "kd"],
  ["rkd", "kd"],
  ["gram", "none"],
  ["gram", "kd"],
  ["ntkd", "kd"],
  ["ntkd", "sp"],
  ["ntkd", "rkd"],
  ["ntkd", "gram"],
  ["kd+ntkd", "none"],
  ["kd+ntkd", "kd"],
  ["kd+ntkd", "ntkd"],
];

/**
 * {@link studentGains} over the pairs a record can pair (`opts.pairs`, default {@link GAIN_PAIRS}):
 * both methods present with at least two shared seeds. Empty for a one-seed study (nothing to put
 * an interval on).
 */
export function recordedGains(students: Record<string, RecordedStudents>, opts: { level?: number; pairs?: readonly (readonly [string, string])[] } = {}): Record<string, PairedDifference> {
  const seedsOf = (m: string) => new Set((students[m]?.models ?? []).map((x) => x.seed));
  const pairable = (opts.pairs ?? GAIN_PAIRS).filter(([a, b]) => {
    const right = seedsOf(b);
    return [...seedsOf(a)].filter((s) => typeof s === "number" && right.has(s)).length >= 2;
  });
  return studentGains(students, pairable, { level: opts.level });
}
