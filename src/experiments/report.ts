/** Tables, report fragments and embeddings the stage notebooks share. */
import type { ImageDataset } from "../data/types";
import type { OpticalStudent } from "../models/optical-student";
import { extractFeatures } from "../train/metrics";
import { subset } from "../data/splits";
import { nearestNeighbourAgreement, tsne2d } from "../viz/embedding";
import type { ScatterPoint } from "../viz/charts";
import type { DistillationStudyResult } from "./distillation";
import type { FabricationStudyResult } from "./fabrication";
import { PAPER, paperCell } from "./paper";
import { formatPercent } from "./stats";
import type { StudentMethod } from "./presets";

export const METHOD_LABELS: Record<StudentMethod, string> = { none: "No transfer", kd: "KD", ntkd: "NTKD" };

/** A row of a results table: ours beside the paper's, both in percent. */
export type ComparisonRow = {
  method: string;
  ours: string;
  paper: string;
  seeds: number;
};

/**
 * Table 3 rows (simulation) for one data set. Ours carry two decimals: the methods differ by
 * tenths of a point here, which one decimal (the paper's) would hide.
 */
export function distillationRows(r: DistillationStudyResult): ComparisonRow[] {
  const paper = (PAPER.table3 as Record<string, Record<string, { mean: number; std?: number }>>)[r.dataset];
  const rows: ComparisonRow[] = [{ method: "Teacher", ours: (100 * r.teacher.accuracy).toFixed(2), paper: r.dataset === "mnist" ? paperCell({ mean: PAPER.teachers.mnist }) : r.dataset === "cifar10" ? paperCell({ mean: PAPER.teachers.cifar10 }) : "n/a", seeds: 1 }];
  for (const method of ["none", "kd", "ntkd"] as const) {
    const s = r.students[method];
    if (s) rows.push({ method: METHOD_LABELS[method], ours: formatPercent(s, 2), paper: paperCell(paper?.[method]), seeds: s.runs.length });
  }
  return rows;
}

/** Table 4 rows (fabricated system) for one data set. */
export function fabricationRows(dataset: string, r: FabricationStudyResult): ComparisonRow[] {
  const paper = (PAPER.table4 as Record<string, Record<string, { mean: number; std?: number }>>)[dataset];
  const n = r.details.length;
  return [
    { method: "Simulated (NTKD student, no errors)", ours: formatPercent(r.simulated), paper: dataset === "mnist" ? paperCell(PAPER.table3.mnist.ntkd) : "n/a", seeds: n },
    { method: "Fabricated, no compensation", ours: formatPercent(r.none), paper: paperCell(paper?.none), seeds: n },
    { method: "Compensation, end-to-end", ours: formatPercent(r.e2e), paper: paperCell(paper?.e2e), seeds: n },
    { method: "Compensation, NTKD", ours: formatPercent(r.ntkd), paper: paperCell(paper?.ntkd), seeds: n },
  ];
}

/** Markdown table of comparison rows. */
export function comparisonMarkdown(rows: ComparisonRow[], title: string): string {
  const lines = [`**${title}** (accuracy %, mean ± std over seeds)`, "", "| method | ours | paper | seeds |", "|---|---|---|---|"];
  for (const r of rows) lines.push(`| ${r.method} | ${r.ours} | ${r.paper} | ${r.seeds} |`);
  return lines.join("\n");
}

/** A t-SNE of a student's backend features on `count` test images, and how well classes separate. */
export function featureEmbedding(student: OpticalStudent, ds: ImageDataset, opts: { count?: number; seed?: number; iterations?: number } = {}): { points: ScatterPoint[]; agreement: number } {
  const count = Math.min(opts.count ?? 500, ds.count);
  const sample = subset(ds, Array.from({ length: count }, (_, i) => i));
  const f = extractFeatures(student, sample);
  const y = tsne2d({ values: f.values, count: f.count, dims: f.dims }, { seed: opts.seed ?? 0, iterations: opts.iterations });
  const points = Array.from({ length: f.count }, (_, i) => ({ x: y[2 * i], y: y[2 * i + 1], label: ds.classNames[f.labels[i]] ?? String(f.labels[i]) }));
  return { points, agreement: nearestNeighbourAgreement(y, f.labels) };
}
