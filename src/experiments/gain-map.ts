/**
 * The gain map of "when does NTKD help?": the distillation study repeated at points off the
 * protocol, with the paired differences between methods at each point, so that a gain can be read
 * against how hard the point is for a student without transfer. Two axes: the share of the
 * training split the students see, and the students' optical kernel count (which crosses the data
 * axis at one share: a whole kernel axis at the full split costs hours a point here). The protocol
 * itself (the whole split, the architecture's kernels) is the study of notebook 03, which the map
 * loads rather than trains again.
 */
import type { RunStore } from "../notebook/run-store";
import type { NotebookMode } from "../notebook/params";
import { InputError } from "../notebook/errors";
import { keyedKernelsOf, runDistillationStudy, studentKernelCount, studentTrainCount, studySummary, type DistillationStudyOptions, type DistillationStudyResult } from "./distillation";
import { DEFAULT_STUDENT_METHODS, STUDENT_METHODS, type DistillationPreset, type StudentMethod } from "./presets";
import type { ClassificationDatasetName } from "./datasets";
import { gainMapPoint } from "./study-plan";
import type { SeedSummary } from "./stats";
import { recordedGains, type PairedDifference } from "./paired-difference";

/** Options of {@link runGainMap}. */
export interface GainMapOptions {
  dataset: ClassificationDatasetName;
  mode: NotebookMode;
  /** The run store of the data set's models (`models-<dataset>`, where notebooks 02 and 03 keep theirs). */
  run: RunStore;
  /**
   * Shares of the training split the students learn from, each in (0, 1]. 1 is the protocol:
   * notebook 03's study, loaded with its own seeds and the paper's three methods.
   */
  trainFractions: readonly number[];
  /**
   * The kernel axis: students with each of `counts` optical kernels (integers ≥ 1), all at the
   * share `trainFraction` of the split. A count that is the architecture's own is the data axis's
   * point at that share (trained once, listed on both axes). Absent: no kernel axis.
   */
  kernels?: { counts: readonly number[]; trainFraction: number };
  /** Methods trained at each point below 1, from {@link STUDENT_METHODS} (default none, kd, ntkd). */
  methods?: readonly string[];
  /** Seeds of the points below 1 (default the mode's); two or more give intervals. */
  seeds?: readonly number[];
  /** Other preset overrides for every point (e.g. smaller sizes in a test). */
  preset?: Partial<DistillationPreset>;
  /** Parallel student workers per point (see `runDistillationStudy`). */
  workers?: number;
  onProgress?: DistillationStudyOptions["onProgress"];
  onPoolProgress?: DistillationStudyOptions["onPoolProgress"];
}

/** One point of the map: its setting and its study. */
export interface GainMapStudy {
  trainFraction: number;
  /** The students' optical kernel count (the architecture's own unless the point is on the kernel axis). */
  kernels: number;
  /** Which axes list the point: the data axis, the kernel axis, or both (the point where they cross). */
  axes: ("data" | "kernels")[];
  /** Name of the point in `gainMap` ("f0.1", "k4-f0.1"); "protocol" for the whole split. */
  tag: string;
  study: DistillationStudyResult;
}

/** {@link runGainMap}'s result, points in the order asked. */
export interface GainMapResult {
  dataset: ClassificationDatasetName;
  points: GainMapStudy[];
}

/** Trains (or loads) the study at every point; see the module comment. */
export async function runGainMap(opts: GainMapOptions): Promise<GainMapResult> {
  if (opts.trainFractions.length === 0) throw new InputError("runGainMap: trainFractions is empty; expected shares of the training split in (0, 1], e.g. [0.01, 0.1, 1]");
  const methods = [...(opts.methods ?? DEFAULT_STUDENT_METHODS)];
  const unknown = methods.filter((m) => !(STUDENT_METHODS as readonly string[]).includes(m));
  if (unknown.length > 0) throw new InputError(`runGainMap: methods holds ${unknown.join(", ")}; expected some of ${STUDENT_METHODS.join(", ")}`);
  if (!methods.includes("none")) throw new InputError(`runGainMap: methods must include "none" (every gain is read against the student without transfer), got ${methods.join(", ")}`);
  // Checked before anything trains.
  const seen = new Set<number>();
  for (const f of opts.trainFractions) {
    if (!(typeof f === "number" && f > 0 && f <= 1)) throw new InputError(`runGainMap: trainFractions holds ${JSON.stringify(f)}; expected numbers in (0, 1]`);
    if (seen.has(f)) throw new InputError(`runGainMap: trainFractions holds ${f} twice`);
    seen.add(f);
  }
  const settings: { trainFraction: number; kernels?: number; axis: "data" | "kernels" }[] = opts.trainFractions.map((f) => ({ trainFraction: f, axis: "data" }));
  if (opts.kernels) {
    const { counts, trainFraction } = opts.kernels;
    if (!(typeof trainFraction === "number" && trainFraction > 0 && trainFraction <= 1)) {
      throw new InputError(`runGainMap: kernels.trainFraction is ${JSON.stringify(trainFraction)}; expected a number in (0, 1]`);
    }
    if (counts.length === 0) throw new InputError("runGainMap: kernels.counts is empty; expected optical kernel counts, e.g. [1, 2, 4, 8, 16]");
    const seenK = new Set<number>();
    for (const k of counts) {
      if (!(Number.isInteger(k) && k >= 1)) throw new InputError(`runGainMap: kernels.counts holds ${JSON.stringify(k)}; expected integers >= 1`);
      if (seenK.has(k)) throw new InputError(`runGainMap: kernels.counts holds ${k} twice`);
      seenK.add(k);
      settings.push({ trainFraction, kernels: keyedKernelsOf(opts.dataset, k), axis: "kernels" });
    }
  }
  const points: GainMapStudy[] = [];
  for (const s of settings) {
    const tag = s.trainFraction === 1 && s.kernels === undefined ? "protocol" : gainMapPoint(pointPreset(s))!.tag;
    const same = points.find((p) => p.tag === tag);
    if (same) {
      if (!same.axes.includes(s.axis)) same.axes.push(s.axis);
      continue;
    }
    const protocol = tag === "protocol";
    const study = await runDistillationStudy({
      dataset: opts.dataset,
      mode: opts.mode,
      run: opts.run,
      workers: opts.workers,
      // The protocol point is notebook 03's study as it ran: its seeds, its methods, its models.
      preset: protocol ? { ...opts.preset } : { ...opts.preset, ...pointPreset(s), ...(opts.seeds ? { seeds: [...opts.seeds] } : {}) },
      methods: protocol ? [...DEFAULT_STUDENT_METHODS] : (methods as StudentMethod[]),
      onProgress: opts.onProgress,
      onPoolProgress: opts.onPoolProgress,
    });
    const kernels = studentKernelCount(study.splits.train, s.kernels);
    points.push({ trainFraction: s.trainFraction, kernels, axes: [s.axis], tag, study });
  }
  return { dataset: opts.dataset, points };
}

/** The preset fields of a point (the whole split and the default kernels are left out, as keys leave them). */
function pointPreset(s: { trainFraction: number; kernels?: number }): Partial<DistillationPreset> {
  return { ...(s.trainFraction < 1 ? { studentTrainFraction: s.trainFraction } : {}), ...(s.kernels !== undefined ? { studentKernels: s.kernels } : {}) };
}

/**
 * What summary.json records: `gainMap.<point>` for every point below the whole split, as
 * `ntkd-lab merge --study-only` records a plan at that point (axis, value, then the study's
 * summary with its paired `gains`). The protocol is the data set's own record already.
 */
export function gainMapSummary(r: GainMapResult): Record<string, Record<string, unknown>> {
  return Object.fromEntries(r.points.filter((p) => p.tag !== "protocol").map((p) => {
    const point = gainMapPoint(p.study.preset)!;
    return [p.tag, { axis: point.axis, value: point.value, setting: point.setting, ...studySummary(p.study) }];
  }));
}

/** The comparisons the map reports at every point: does the kernel beat the logits, and does either beat nothing? */
export const GAIN_MAP_COMPARISONS: readonly (readonly [StudentMethod, StudentMethod])[] = [
  ["ntkd", "kd"],
  ["ntkd", "none"],
  ["kd", "none"],
  ["kd+ntkd", "kd"],
];

/** One comparison at one point. */
export interface GainMapRow {
  /** The point's share of the training split. */
  trainFraction: number;
  /** The point's optical kernel count. */
  kernels: number;
  /** The axes that list the point (see {@link GainMapStudy}). */
  axes: GainMapStudy["axes"];
  /** Training images the students saw. */
  trainImages: number;
  /** Mean test accuracy of the point's students without transfer (the x of the gain figure). */
  noTransfer: number;
  /** "ntkd − kd" and so on. */
  comparison: string;
  /** The paired difference over the point's seeds, or null where fewer than two seeds pair. */
  difference: PairedDifference | null;
}

/** Every comparison of {@link GAIN_MAP_COMPARISONS} each point holds both methods of. */
export function gainMapRows(r: GainMapResult, opts: { level?: number } = {}): GainMapRow[] {
  const rows: GainMapRow[] = [];
  for (const p of r.points) {
    const students = p.study.students;
    const none = students.none;
    if (!none) throw new InputError(`gainMapRows: the point ${p.tag} has no students without transfer; every point needs method "none"`);
    const recorded = Object.fromEntries(Object.entries(students).map(([m, s]) => [m, { models: s!.details.map((d) => ({ seed: d.seed, accuracy: d.accuracy })) }]));
    const present = GAIN_MAP_COMPARISONS.filter(([a, b]) => students[a] && students[b]);
    // recordedGains leaves out a pair with fewer than two shared seeds: its row says so with null.
    const gains = recordedGains(recorded, { level: opts.level, pairs: present });
    for (const [a, b] of present) {
      rows.push({ trainFraction: p.trainFraction, kernels: p.kernels, axes: p.axes, trainImages: trainImagesOf(p), noTransfer: none.mean, comparison: `${a} − ${b}`, difference: gains[`${a}-${b}`] ?? null });
    }
  }
  return rows;
}

/** Training images the point's students saw (the share is rounded per class). */
export function trainImagesOf(p: GainMapStudy): number {
  return studentTrainCount(p.study.splits.train, p.trainFraction);
}

/** A point's share of the data as the tables say it: "1 %", or "all" for the protocol. */
export function shareLabel(trainFraction: number): string {
  return trainFraction === 1 ? "all" : `${+(100 * trainFraction).toPrecision(3)} %`;
}

/** One method at one point: what the accuracy table of the map shows. */
export interface GainMapAccuracyRow extends SeedSummary {
  share: string;
  kernels: number;
  images: number;
  method: StudentMethod;
  seeds: number;
}

/** The test accuracy of every method at every point (mean and std over seeds). */
export function gainMapAccuracyRows(r: GainMapResult): GainMapAccuracyRow[] {
  return r.points.flatMap((p) => (Object.entries(p.study.students) as [StudentMethod, NonNullable<DistillationStudyResult["students"][StudentMethod]>][])
    .map(([method, s]) => ({ share: shareLabel(p.trainFraction), kernels: p.kernels, images: trainImagesOf(p), method, mean: s.mean, std: s.std, runs: s.runs, seeds: s.runs.length })));
}

/** A row of the gain figure: one comparison at one point, in percentage points. */
export interface GainChartRow {
  /** No-transfer accuracy of the point (%). */
  noTransfer: number;
  gain: number;
  low: number;
  high: number;
  comparison: string;
  /** e.g. "1 % of the data, 8 kernels (500 images)". */
  point: string;
  /** "data" for the data axis's points, "kernels" for the kernel axis's others. */
  axis: "data" | "kernels";
}

/** The figure's rows: every comparison with an interval, gain against the point's no-transfer accuracy. */
export function gainChartRows(rows: readonly GainMapRow[]): GainChartRow[] {
  return rows.filter((r) => r.difference !== null).map((r) => ({
    noTransfer: 100 * r.noTransfer,
    gain: 100 * r.difference!.mean,
    low: 100 * r.difference!.interval[0],
    high: 100 * r.difference!.interval[1],
    comparison: r.comparison,
    point: `${shareLabel(r.trainFraction)} of the data, ${r.kernels} kernel${r.kernels === 1 ? "" : "s"} (${r.trainImages} images)`,
    axis: r.axes.includes("data") ? "data" : "kernels",
  }));
}

/** How a paired interval reads: above zero, below zero, or neither. */
export function gainVerdict(d: PairedDifference | null): "better" | "worse" | "no difference shown" | "one seed" {
  if (d === null) return "one seed";
  return d.interval[0] > 0 ? "better" : d.interval[1] < 0 ? "worse" : "no difference shown";
}

/** A Markdown table of {@link gainMapRows} (points, differences in percentage points). */
export function gainMapMarkdown(rows: readonly GainMapRow[], title: string): string {
  const pp = (x: number) => (100 * x).toFixed(2);
  const lines = [
    `**${title}**`, "",
    "| share of the data | kernels | images | no transfer (%) | comparison | mean (points) | 95 % interval | seeds | verdict |",
    "|-:|-:|-:|-:|:-|-:|-:|-:|:-|",
  ];
  for (const r of rows) {
    const d = r.difference;
    const interval = d ? `[${pp(d.interval[0])}, ${pp(d.interval[1])}]` : "n/a";
    lines.push(`| ${shareLabel(r.trainFraction)} | ${r.kernels} | ${r.trainImages} | ${pp(r.noTransfer)} | ${r.comparison} | ${d ? pp(d.mean) : "n/a"} | ${interval} | ${d?.n ?? 1} | ${gainVerdict(d)} |`);
  }
  return lines.join("\n");
}

/** One method of the paper's regime beside the paper's Table 3 row. */
export interface PaperRegimeRow {
  method: "none" | "kd" | "ntkd";
  ours: SeedSummary;
  paper: { mean: number; std?: number };
}

/**
 * The paper's regime on the map: the point whose students without transfer come closest to the
 * paper's no-transfer accuracy (91.4 % on MNIST), among the points that hold none, KD and NTKD
 * with two seeds or more, and its three methods beside the paper's. Null when no point qualifies.
 */
export function paperRegime(r: GainMapResult, paper: Record<"none" | "kd" | "ntkd", { mean: number; std?: number }>): { point: GainMapStudy; rows: PaperRegimeRow[] } | null {
  const methods = ["none", "kd", "ntkd"] as const;
  const eligible = r.points.filter((p) => methods.every((m) => (p.study.students[m]?.runs.length ?? 0) >= 2));
  if (eligible.length === 0) return null;
  const gap = (p: GainMapStudy) => Math.abs(p.study.students.none!.mean - paper.none.mean);
  const point = eligible.reduce((best, p) => (gap(p) < gap(best) ? p : best));
  return { point, rows: methods.map((m) => ({ method: m, ours: point.study.students[m]!, paper: paper[m] })) };
}
