import * as fs from "node:fs";
import * as path from "node:path";
import { runNotebook, type RunEvent, type RunFailure } from "./runner";
import { listRunResults, strictJson, writeFileAtomic, type StageResults } from "./run-store";
import type { NotebookMode } from "./params";
import { gitCommit } from "./git";
import { packageRoot } from "./self-link";
import { formatNumber } from "./table";

/** Options of {@link reproduce}. */
export interface ReproduceOptions {
  /** "quick" (CI scale) or "full" (paper scale); passed to every notebook as NTKD_MODE. */
  mode: NotebookMode;
  /** Output folder; default `results/<mode>` under the current directory. */
  out?: string;
  /** Folder of the stage notebooks `NN-*.ipynb`; default `<repo>/notebooks`. */
  notebooksDir?: string;
  /**
   * Per-cell timeout in seconds; default {@link defaultCellTimeoutS} of the mode (30 min quick,
   * 6 h full: a full study's training cell runs for an hour or more on this 2-core machine).
   */
  timeoutS?: number;
  /** Backend name every notebook gets as NTKD_BACKEND (default: the caller's env, else the fastest). */
  backend?: string;
  /** Run only the notebooks whose file names start with one of these prefixes (e.g. ["02", "03"]). */
  only?: string[];
  /** Progress callback (notebook start and end, cell events). */
  onEvent?: (event: ReproduceEvent) => void;
}

export type ReproduceEvent =
  | { type: "notebook-start"; notebook: string; index: number; count: number }
  | { type: "notebook-end"; notebook: string; ok: boolean; seconds: number; peakRssMiB?: number; failure?: RunFailure }
  | ({ notebook: string } & RunEvent);

/** One stage notebook's outcome in summary.json. */
export interface StageRecord {
  notebook: string;
  ok: boolean;
  seconds: number;
  /** The executed notebook, relative to the output folder. */
  executed: string;
  /** Run folders (relative to the output folder) whose results.json this notebook wrote. */
  runs: string[];
  /** Stage names those results declared. */
  stages: string[];
  /** Peak resident memory of the stage's kernel and its workers together, MiB (absent without /proc). */
  peakRssMiB?: number;
  failure?: { cellIndex: number; line?: number; message: string };
}

/** summary.json. */
export interface ReproduceSummary {
  commit: string;
  backend: string;
  mode: NotebookMode;
  startedAt: string;
  seconds: number;
  /** Every stage's results, deep-merged per dataset. */
  datasets: Record<string, Record<string, unknown>>;
  notebooks: StageRecord[];
}

/** Default per-cell timeout of a reproduction, in seconds. */
export function defaultCellTimeoutS(mode: NotebookMode): number {
  return mode === "full" ? 6 * 3600 : 1800;
}

/** The stage notebooks of a folder: `NN-name.ipynb`, in order. */
export function stageNotebooks(dir: string): string[] {
  if (!fs.existsSync(dir)) throw new Error(`reproduce: notebooks folder ${dir} does not exist`);
  return fs.readdirSync(dir).filter((f) => /^\d\d-.+\.ipynb$/.test(f)).sort().map((f) => path.join(dir, f));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Deep-merges `source` into `target` (objects merge key by key; anything else: source wins). */
export function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(source)) {
    const existing = target[k];
    if (isPlainObject(existing) && isPlainObject(v)) deepMerge(existing, v);
    else target[k] = isPlainObject(v) ? deepMerge({}, v) : v;
  }
  return target;
}

/** Flattens nested results to `path -> value` rows for the report's tables. */
export function flattenResults(value: unknown, prefix = ""): { key: string; value: string }[] {
  if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => flattenResults(v, prefix ? `${prefix}.${k}` : k));
  if (typeof value === "number") return [{ key: prefix, value: formatNumber(value) }];
  return [{ key: prefix, value: Array.isArray(value) ? JSON.stringify(value) : String(value) }];
}

function rel(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join("/");
}

/**
 * Runs every stage notebook in order with a shared run store, then writes summary.json,
 * report.md and the executed notebooks into the output folder. A failing notebook is recorded and
 * the next ones still run (they can train what they miss); `ok` is false if any failed.
 */
export async function reproduce(opts: ReproduceOptions): Promise<{ ok: boolean; summary: ReproduceSummary; summaryPath: string; reportPath: string }> {
  if (opts.mode !== "quick" && opts.mode !== "full") throw new Error(`reproduce: mode must be "quick" or "full", got ${opts.mode}`);
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const out = path.resolve(opts.out ?? path.join("results", opts.mode));
  const runsDir = path.join(out, "runs");
  const executedDir = path.join(out, "notebooks");
  fs.mkdirSync(runsDir, { recursive: true });
  fs.rmSync(executedDir, { recursive: true, force: true });
  fs.mkdirSync(executedDir, { recursive: true });
  const all = stageNotebooks(opts.notebooksDir ?? path.join(packageRoot(), "notebooks"));
  const notebooks = opts.only ? all.filter((f) => opts.only!.some((p) => path.basename(f).startsWith(p))) : all;
  if (notebooks.length === 0) throw new Error(`reproduce: no notebook matches --only ${JSON.stringify(opts.only)} (have ${all.map((f) => path.basename(f)).join(", ")})`);
  if (notebooks.length === 0) throw new Error(`reproduce: no NN-*.ipynb notebooks in ${opts.notebooksDir ?? "notebooks/"}`);
  const backend = opts.backend ?? process.env.NTKD_BACKEND ?? "";
  const env: NodeJS.ProcessEnv = { NTKD_MODE: opts.mode, NTKD_RUNS_DIR: runsDir, ...(backend ? { NTKD_BACKEND: backend } : {}) };

  // Results from earlier reproductions stay on disk (checkpoints are reused); only results.json
  // files written during this reproduction count, and each belongs to the notebook running then.
  const writtenSince = (t: number) =>
    new Map(listRunResults(runsDir).filter((r) => fs.statSync(path.join(r.dir, "results.json")).mtimeMs >= t).map((r) => [r.dir, r.results] as const));
  const records: StageRecord[] = [];
  const collected: { notebook: string; dir: string; results: StageResults }[] = [];
  for (const [index, file] of notebooks.entries()) {
    const name = path.basename(file);
    opts.onEvent?.({ type: "notebook-start", notebook: name, index, count: notebooks.length });
    const before = new Map(listRunResults(runsDir).map((r) => [r.dir, fs.statSync(path.join(r.dir, "results.json")).mtimeMs] as const));
    const t0 = Date.now();
    const result = await runNotebook(file, {
      out: path.join(executedDir, name),
      timeoutS: opts.timeoutS ?? defaultCellTimeoutS(opts.mode),
      env,
      onEvent: (e) => opts.onEvent?.({ notebook: name, ...e }),
    });
    const fresh = [...writtenSince(t0 - 1)].filter(([dir]) => {
      const prev = before.get(dir);
      return prev === undefined || fs.statSync(path.join(dir, "results.json")).mtimeMs > prev;
    });
    for (const [dir, results] of fresh) collected.push({ notebook: name, dir, results });
    records.push({
      notebook: name,
      ok: result.ok,
      seconds: result.seconds,
      executed: rel(out, result.outPath),
      runs: fresh.map(([dir]) => rel(out, dir)),
      stages: [...new Set(fresh.map(([, r]) => r.stage))],
      ...(result.peakRssMiB === undefined ? {} : { peakRssMiB: result.peakRssMiB }),
      ...(result.failure ? { failure: { cellIndex: result.failure.cellIndex, line: result.failure.line, message: result.failure.message } } : {}),
    });
    opts.onEvent?.({ type: "notebook-end", notebook: name, ok: result.ok, seconds: result.seconds, peakRssMiB: result.peakRssMiB, failure: result.failure });
  }

  const datasets: Record<string, Record<string, unknown>> = {};
  for (const { results } of collected) {
    if (!isPlainObject(results.datasets)) continue;
    deepMerge(datasets, results.datasets as Record<string, unknown>);
  }
  const summary: ReproduceSummary = {
    commit: gitCommit(),
    backend: backend || detectBackend(collected),
    mode: opts.mode,
    startedAt,
    seconds: (Date.now() - started) / 1000,
    datasets,
    notebooks: records,
  };
  const summaryPath = path.join(out, "summary.json");
  const reportPath = path.join(out, "report.md");
  writeFileAtomic(summaryPath, strictJson(summary, "summary.json") + "\n");
  writeFileAtomic(reportPath, renderReport(summary, collected, out));
  return { ok: records.every((r) => r.ok), summary, summaryPath, reportPath };
}

// Stages may record the backend they ran on; otherwise it is whatever the kernels chose.
function detectBackend(collected: { results: StageResults }[]): string {
  const named = collected.map((c) => c.results.backend).find((b): b is string => typeof b === "string");
  return named ?? "auto";
}

function renderReport(summary: ReproduceSummary, collected: { notebook: string; dir: string; results: StageResults }[], out: string): string {
  const lines: string[] = [];
  lines.push(`# ntkd-lab reproduction (${summary.mode})`, "");
  lines.push(`Commit \`${summary.commit}\`, backend ${summary.backend}, started ${summary.startedAt}, ${formatNumber(summary.seconds, 3)} s.`, "");
  lines.push("| notebook | status | seconds | peak memory (MiB) | executed notebook |", "|:-|:-|-:|-:|:-|");
  for (const r of summary.notebooks) {
    const memory = r.peakRssMiB === undefined ? "-" : r.peakRssMiB.toFixed(0);
    lines.push(`| ${r.notebook} | ${r.ok ? "ok" : "FAILED"} | ${formatNumber(r.seconds, 3)} | ${memory} | [${r.notebook}](${r.executed}) |`);
  }
  lines.push("");
  for (const r of summary.notebooks) {
    lines.push(`## ${r.notebook.replace(/\.ipynb$/, "")}`, "");
    if (r.failure) lines.push("```", r.failure.message, "```", "");
    const mine = collected.filter((c) => c.notebook === r.notebook);
    if (mine.length === 0 && r.ok) lines.push("This notebook wrote no results.json.", "");
    for (const c of mine) {
      const runRel = rel(out, c.dir);
      lines.push(`### ${c.results.stage} (\`${runRel}\`)`, "");
      const fragment = path.join(c.dir, "report.md");
      let fragmentText = "";
      if (fs.existsSync(fragment)) {
        // A fragment links figures relative to its run folder; re-anchor them at the report.
        fragmentText = fs.readFileSync(fragment, "utf8").replace(/\]\((?!https?:|\/|#)([^)]+)\)/g, (_m, link: string) => `](${runRel}/${link})`);
        lines.push(fragmentText.trimEnd(), "");
      }
      const rows = flattenResults(c.results.datasets);
      if (rows.length > 0) {
        lines.push("| result | value |", "|:-|-:|", ...rows.map((row) => `| ${row.key} | ${row.value} |`), "");
      }
      const figures = path.join(c.dir, "figures");
      const svgs = fs.existsSync(figures) ? fs.readdirSync(figures).filter((f) => f.endsWith(".svg")).sort() : [];
      // Figures the fragment did not already show.
      const unshown = svgs.filter((svg) => !fragmentText.includes(`${runRel}/figures/${svg}`));
      for (const svg of unshown) lines.push(`![${svg.replace(/\.svg$/, "")}](${runRel}/figures/${svg})`);
      if (unshown.length > 0) lines.push("");
    }
  }
  return lines.join("\n");
}
