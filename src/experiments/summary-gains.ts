/**
 * The paired gains of every study a reproduction's summary.json records: the notebooks' study
 * per data set, each frontend of the hardware table, the transfer baselines (paired with the
 * study's own students when both were distilled from the same teacher), each fabrication
 * table's compensations, and each point of the gain map (`gainMap.<point>`). Recomputed from the per-seed accuracies, so it also reads summaries
 * written before studies recorded `gains` themselves.
 */
import { InputError } from "../notebook/errors";
import { GAIN_PAIRS, pairedDifference, recordedGains, type PairedDifference, type RecordedStudents, type SeededValue } from "./paired-difference";

/** One comparison of one study record. */
export interface SummaryGain {
  /** Where the record sits in summary.json, e.g. `mnist`, `mnist.frontends.fourier`, `mnist.fabrication`. */
  record: string;
  /** `a − b` by method name, e.g. `ntkd − kd`, `ntkd − e2e`. */
  comparison: string;
  difference: PairedDifference;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The compensations a fabrication table compares: NTKD's against end-to-end, and each against none. */
const FABRICATION_PAIRS: readonly (readonly [string, string])[] = [
  ["e2e", "none"],
  ["ntkd", "none"],
  ["ntkd", "e2e"],
];

function teacherKeyOf(record: Json): unknown {
  const teacher = record.teacher;
  return isObject(teacher) && isObject(teacher.model) ? teacher.model.configKey : undefined;
}

function studyGains(record: string, students: Record<string, RecordedStudents>, level: number, pairs = GAIN_PAIRS): SummaryGain[] {
  return Object.entries(recordedGains(students, { level, pairs })).map(([key, difference]) => ({ record, comparison: key.replace("-", " − "), difference }));
}

/** Fabrication rows hold `runs` in seed order; the study's `seeds` name them. */
function fabricationGains(record: string, table: Json, seeds: readonly number[], level: number): SummaryGain[] {
  const values = (method: string): SeededValue[] | undefined => {
    const row = table[method];
    if (!isObject(row) || !Array.isArray(row.runs)) return undefined;
    if (row.runs.length !== seeds.length) throw new InputError(`${record}.${method}: ${row.runs.length} runs for ${seeds.length} seeds (${seeds.join(", ")})`);
    return (row.runs as number[]).map((accuracy, i) => ({ seed: seeds[i], accuracy }));
  };
  const out: SummaryGain[] = [];
  for (const [a, b] of FABRICATION_PAIRS) {
    const left = values(a);
    const right = values(b);
    if (left && right && seeds.length >= 2) out.push({ record, comparison: `${a} − ${b}`, difference: pairedDifference(left, right, { level, what: `${record} ${a} − ${b}` }) });
  }
  return out;
}

/**
 * Every paired gain `summary.datasets` supports (see the module comment), in record order.
 * `level` is the intervals' confidence (default 0.95).
 */
export function summaryGains(summary: unknown, opts: { level?: number } = {}): SummaryGain[] {
  const level = opts.level ?? 0.95;
  if (!isObject(summary) || !isObject(summary.datasets)) throw new InputError(`summaryGains: expected a summary.json with "datasets", got ${isObject(summary) ? Object.keys(summary).join(", ") || "{}" : typeof summary}`);
  const out: SummaryGain[] = [];
  for (const [dataset, value] of Object.entries(summary.datasets)) {
    if (!isObject(value)) continue;
    const study = value as Json;
    const seedsOf = (r: Json): number[] => (Array.isArray(r.seeds) ? (r.seeds as number[]) : []);
    const visit = (record: string, r: Json) => {
      if (isObject(r.students)) out.push(...studyGains(record, r.students as Record<string, RecordedStudents>, level));
      if (isObject(r.baselines) && isObject(r.baselines.students)) {
        const baselines = r.baselines;
        const sameTeacher = teacherKeyOf(baselines) !== undefined && teacherKeyOf(baselines) === teacherKeyOf(r);
        const studyStudents: Json = sameTeacher && isObject(r.students) ? r.students : {};
        const combined = { ...studyStudents, ...(baselines.students as Json) } as Record<string, RecordedStudents>;
        // Only the comparisons that involve a baseline: the study's own pairs are listed above.
        const own = new Set(Object.keys(baselines.students as Json));
        const baselinePairs = GAIN_PAIRS.filter((pair) => pair.some((m) => own.has(m)));
        out.push(...studyGains(`${record}.baselines`, combined, level, baselinePairs));
      }
      if (isObject(r.fabrication)) out.push(...fabricationGains(`${record}.fabrication`, r.fabrication, seedsOf(r), level));
    };
    visit(dataset, study);
    if (isObject(study.frontends)) {
      for (const [frontend, r] of Object.entries(study.frontends)) if (isObject(r)) visit(`${dataset}.frontends.${frontend}`, r);
    }
    if (isObject(study.gainMap)) {
      for (const [point, r] of Object.entries(study.gainMap)) if (isObject(r)) visit(`${dataset}.gainMap.${point}`, r);
    }
  }
  return out;
}

/** A Markdown table of {@link summaryGains}, in percentage points. */
export function summaryGainsMarkdown(gains: readonly SummaryGain[]): string {
  const pp = (x: number) => (100 * x).toFixed(2);
  const lines = ["| record | comparison | mean (points) | interval (95 % unless marked) | n | verdict |", "|:-|:-|-:|-:|-:|:-|"];
  for (const g of gains) {
    const d = g.difference;
    const verdict = d.interval[0] > 0 ? "better" : d.interval[1] < 0 ? "worse" : "no difference shown";
    const level = Math.round(100 * d.level);
    lines.push(`| ${g.record} | ${g.comparison} | ${pp(d.mean)} | [${pp(d.interval[0])}, ${pp(d.interval[1])}]${level === 95 ? "" : ` (${level} %)`} | ${d.n} | ${verdict} |`);
  }
  return lines.join("\n");
}
