/**
 * The hardware table (issue 22): the distillation study of one data set repeated on several
 * optical frontends (`DistillationPreset.frontend`), with the same teacher, data and schedule.
 * The psf row is the notebooks' own study, so its seeds load from the run store; the ideal
 * digital convolution bounds what any optics could reach with this backend.
 */
import type { RunStore } from "../notebook/run-store";
import type { NotebookMode } from "../notebook/params";
import type { FrontendKind } from "../models/frontends/factory";
import { STUDENT_METHODS, type DistillationPreset, type StudentMethod } from "./presets";
import type { ClassificationDatasetName, ClassificationSplits } from "./datasets";
import { runDistillationStudy, studySummary, type DistillationStudyResult, type PoolProgress, type StudyProgress } from "./distillation";
import { METHOD_LABELS } from "./report";
import { formatPercent } from "./stats";

/** Options of {@link runFrontendTable}. */
export interface FrontendTableOptions {
  dataset: ClassificationDatasetName;
  mode: NotebookMode;
  /** The data set's model store (the notebooks' `models-<dataset>`), shared with the main study. */
  run: RunStore;
  /** Frontends to compare, in table order. */
  frontends: FrontendKind[];
  /** Methods per frontend (default all three). */
  methods?: StudentMethod[];
  /** Overrides of the mode's preset for every frontend, e.g. fewer seeds (`{ seeds: [0, 1, 2] }`). */
  preset?: Partial<DistillationPreset>;
  /** Splits already loaded (the main study's), so they are not read again. */
  splits?: ClassificationSplits;
  /** Worker processes per study (as in `runDistillationStudy`). */
  workers?: number;
  onProgress?: (frontend: FrontendKind, p: StudyProgress) => void;
  onPoolProgress?: (frontend: FrontendKind, p: PoolProgress) => void;
}

/** One study per frontend, in the order asked for. */
export interface FrontendTableResult {
  dataset: ClassificationDatasetName;
  studies: { frontend: FrontendKind; study: DistillationStudyResult }[];
}

/** Trains (or loads) the study on every frontend of `opts.frontends`. */
export async function runFrontendTable(opts: FrontendTableOptions): Promise<FrontendTableResult> {
  if (opts.frontends.length === 0) throw new Error("runFrontendTable: frontends is empty; expected some of psf, metasurface, fourier, ideal");
  if (new Set(opts.frontends).size !== opts.frontends.length) throw new Error(`runFrontendTable: frontends must name each frontend once, got ${opts.frontends.join(", ")}`);
  const studies: FrontendTableResult["studies"] = [];
  for (const frontend of opts.frontends) {
    const study = await runDistillationStudy({
      dataset: opts.dataset,
      mode: opts.mode,
      run: opts.run,
      preset: { ...opts.preset, frontend },
      methods: opts.methods,
      splits: opts.splits,
      workers: opts.workers,
      onProgress: opts.onProgress && ((p) => opts.onProgress!(frontend, p)),
      onPoolProgress: opts.onPoolProgress && ((p) => opts.onPoolProgress!(frontend, p)),
    });
    studies.push({ frontend, study });
  }
  return { dataset: opts.dataset, studies };
}

/** What summary.json records: `{ <frontend>: studySummary }` (the shape `merge` writes too). */
export function frontendTableSummary(r: FrontendTableResult): Record<string, Record<string, unknown>> {
  return Object.fromEntries(r.studies.map(({ frontend, study }) => [frontend, studySummary(study)]));
}

/** A row of the hardware table: one frontend, each method's mean ± std in percent. */
export type FrontendTableRow = { frontend: string; parameters: number; seeds: number } & Record<string, string | number>;

/** Table rows: one per frontend, a column per method ("97.59 ± 0.04"). */
export function frontendTableRows(r: FrontendTableResult): FrontendTableRow[] {
  return r.studies.map(({ frontend, study }) => {
    const row: FrontendTableRow = { frontend, parameters: study.studentParameters, seeds: study.preset.seeds.length };
    for (const method of STUDENT_METHODS) {
      const s = study.students[method];
      if (s) row[METHOD_LABELS[method]] = formatPercent(s, 2);
    }
    return row;
  });
}

/** The table as Markdown for report.md. */
export function frontendTableMarkdown(r: FrontendTableResult, title: string): string {
  const rows = frontendTableRows(r);
  const methods = STUDENT_METHODS.map((m) => METHOD_LABELS[m]).filter((label) => rows.some((row) => label in row));
  return [
    `**${title}** (test accuracy %, mean ± std over seeds)`,
    "",
    `| frontend | parameters | seeds | ${methods.join(" | ")} |`,
    `|:-|-:|-:|${methods.map(() => "-:").join("|")}|`,
    ...rows.map((row) => `| ${row.frontend} | ${row.parameters} | ${row.seeds} | ${methods.map((m) => row[m] ?? "n/a").join(" | ")} |`),
  ].join("\n");
}
