import * as fs from "node:fs";
import * as path from "node:path";
import { runNotebook, type RunEvent, type RunFailure } from "./runner";
import { checkWritableDir, listRunResults, strictJson, writeFileAtomic, type StageResults } from "./run-store";
import { readNotebook } from "./ipynb";
import { InputError } from "./errors";
import { isNotebookMode, type NotebookMode } from "./params";
import { gitCommit } from "./git";
import { packageRoot } from "./self-link";
import { formatNumber } from "./table";

/** Options of {@link reproduce}. */
export interface ReproduceOptions {
  /** "smoke" (test scale), "quick" (`npm start`) or "full" (paper scale); passed to every notebook as NTKD_MODE. */
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
  /**
   * Run only the notebooks whose file names start with one of these prefixes (e.g. ["02", "03"]);
   * every prefix must match a notebook. The other stages' entries in summary.json and report.md,
   * and their executed notebooks, are kept from the previous reproduction in `out`.
   */
  only?: string[];
  /**
   * Parameters for the one stage `only` selects (`--param frontend=fourier`): a variant of that
   * stage, recorded beside it as `<notebook> [name=value ...]` with its own executed notebook,
   * so a variant never replaces the stage as the notebook's defaults run it.
   */
  params?: Record<string, unknown>;
  /** Progress callback (notebook start and end, cell events). */
  onEvent?: (event: ReproduceEvent) => void;
  /**
   * Markdown that opens the report under its title and is kept in summary.json as `notice`: what
   * the mode shortened against the full protocol (the CLI passes `modeNotice(mode).markdown`).
   */
  notice?: string;
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
  /** Commit this stage ran at (with `--only`, kept stages may come from an earlier commit). */
  commit?: string;
  /** When this stage started. */
  startedAt?: string;
}

/** summary.json. */
export interface ReproduceSummary {
  commit: string;
  backend: string;
  mode: NotebookMode;
  startedAt: string;
  seconds: number;
  /** What this mode shortened against the full protocol (markdown; {@link ReproduceOptions.notice}). */
  notice?: string;
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
  if (!fs.existsSync(dir)) throw new InputError(`reproduce: notebooks folder ${dir} does not exist`);
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

/**
 * Keys of results.json whose values are provenance (config keys, log and checkpoint paths): the
 * stage's own report table links them, so the value table leaves them out.
 */
export const PROVENANCE_KEYS: readonly string[] = ["model", "models"];

/** Flattens nested results to `path -> value` rows for the report's tables (provenance left out). */
export function flattenResults(value: unknown, prefix = ""): { key: string; value: string }[] {
  if (isPlainObject(value)) {
    return Object.entries(value)
      .filter(([k]) => !PROVENANCE_KEYS.includes(k))
      .flatMap(([k, v]) => flattenResults(v, prefix ? `${prefix}.${k}` : k));
  }
  if (typeof value === "number") return [{ key: prefix, value: formatNumber(value) }];
  return [{ key: prefix, value: Array.isArray(value) ? JSON.stringify(value) : String(value) }];
}

function rel(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join("/");
}

/**
 * The notebooks `only` selects (every prefix must match one), or all of them; errors name the
 * prefixes that match nothing and list the stages there are.
 */
export function selectStages(all: string[], only: string[] | undefined, dir: string): string[] {
  const names = all.map((f) => path.basename(f));
  if (all.length === 0) throw new InputError(`reproduce: no NN-*.ipynb notebooks in ${dir}`);
  if (only === undefined) return all;
  if (only.length === 0) throw new InputError(`reproduce: --only needs stage numbers, e.g. --only 02,03 (have ${names.join(", ")})`);
  const unmatched = only.filter((p) => !names.some((n) => n.startsWith(p)));
  if (unmatched.length > 0) throw new InputError(`reproduce: --only ${unmatched.join(",")} matches no notebook; expected prefixes of ${names.join(", ")}`);
  return all.filter((f) => only.some((p) => path.basename(f).startsWith(p)));
}

/** The summary.json an `--only` reproduction updates; refuses one of another mode or backend. */
function previousSummary(file: string, mode: NotebookMode, backend: string): ReproduceSummary | undefined {
  if (!fs.existsSync(file)) return undefined;
  let summary: ReproduceSummary;
  try {
    summary = JSON.parse(fs.readFileSync(file, "utf8")) as ReproduceSummary;
  } catch (err) {
    throw new InputError(`reproduce --only: ${file} is not valid JSON (${(err as Error).message}); fix or remove it, or run every stage`);
  }
  if (!summary || !Array.isArray(summary.notebooks)) throw new InputError(`reproduce --only: ${file} has no "notebooks" list; run every stage to rewrite it`);
  if (summary.mode !== mode) throw new InputError(`reproduce --only: ${file} records a ${summary.mode} reproduction; run --only with --${summary.mode}, or use another --out`);
  if (backend && summary.backend && summary.backend !== "auto" && summary.backend !== backend) {
    throw new InputError(`reproduce --only: ${file} was made with backend ${summary.backend}, this run uses ${backend}; set NTKD_BACKEND=${summary.backend} or rerun every stage`);
  }
  return summary;
}

/**
 * The record name and executed file of a stage run with `params`: `04-fabrication.ipynb
 * [frontend=fourier]` and `04-fabrication.frontend-fourier.ipynb`; the stage's own without.
 */
export function stageVariant(file: string, params: Record<string, unknown> = {}): { notebook: string; executed: string } {
  const name = path.basename(file);
  const entries = Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return { notebook: name, executed: name };
  const literal = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const slug = entries.map(([k, v]) => `${k}-${literal(v)}`.replace(/[^A-Za-z0-9.-]+/g, "_")).join(".");
  return {
    notebook: `${name} [${entries.map(([k, v]) => `${k}=${literal(v)}`).join(" ")}]`,
    executed: name.replace(/\.ipynb$/, `.${slug}.ipynb`),
  };
}

/** Stage records (and anything else naming a notebook) in notebook order. */
function byNotebook<T extends { notebook: string }>(a: T, b: T): number {
  return a.notebook < b.notebook ? -1 : a.notebook > b.notebook ? 1 : 0;
}

/** A stage's results.json as read back for summary.json and report.md. */
interface CollectedResults {
  notebook: string;
  dir: string;
  results: StageResults;
}

/** The results.json of every run folder the records name (folders without one are skipped). */
function recordedResults(out: string, records: readonly StageRecord[]): CollectedResults[] {
  return records.flatMap((r) => (r.runs ?? []).flatMap((runRel) => {
    const dir = path.join(out, runRel);
    const results = readStageResults(dir);
    return results ? [{ notebook: r.notebook, dir, results }] : [];
  }));
}

/** Every stage's `datasets`, deep-merged in the order given. */
function mergedDatasets(collected: readonly CollectedResults[]): Record<string, Record<string, unknown>> {
  const datasets: Record<string, Record<string, unknown>> = {};
  for (const { results } of collected) if (isPlainObject(results.datasets)) deepMerge(datasets, results.datasets as Record<string, unknown>);
  return datasets;
}

function readStageResults(dir: string): StageResults | undefined {
  const file = path.join(dir, "results.json");
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as StageResults;
  } catch {
    return undefined;
  }
}

/**
 * Runs every stage notebook in order with a shared run store, then writes summary.json,
 * report.md and the executed notebooks into the output folder. A failing notebook is recorded and
 * the next ones still run (they can train what they miss); `ok` is false if any failed. Every
 * argument is checked before anything in the output folder is written or removed.
 */
export async function reproduce(opts: ReproduceOptions): Promise<{ ok: boolean; summary: ReproduceSummary; summaryPath: string; reportPath: string }> {
  if (!isNotebookMode(opts.mode)) throw new InputError(`reproduce: mode must be "smoke", "quick" or "full", got ${opts.mode}`);
  if (opts.timeoutS !== undefined && !(opts.timeoutS > 0)) throw new InputError(`reproduce: timeoutS must be a positive number of seconds, got ${opts.timeoutS}`);
  const notebooksDir = opts.notebooksDir ?? path.join(packageRoot(), "notebooks");
  const notebooks = selectStages(stageNotebooks(notebooksDir), opts.only, notebooksDir);
  const params = opts.params ?? {};
  if (Object.keys(params).length > 0 && notebooks.length !== 1) {
    throw new InputError(`reproduce: --param sets one stage's parameters; select exactly one stage with --only (it selects ${notebooks.length})`);
  }
  for (const file of notebooks) readNotebook(file);
  const out = path.resolve(opts.out ?? path.join("results", opts.mode));
  checkWritableDir(out, "--out (the reproduction's output folder)");
  const summaryPath = path.join(out, "summary.json");
  const reportPath = path.join(out, "report.md");
  const backend = opts.backend ?? process.env.NTKD_BACKEND ?? "";
  // Checked now, so a mismatched --only fails before any notebook runs; read again at the end.
  if (opts.only) previousSummary(summaryPath, opts.mode, backend);

  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const commit = gitCommit();
  const runsDir = path.join(out, "runs");
  const executedDir = path.join(out, "notebooks");
  fs.mkdirSync(runsDir, { recursive: true });
  fs.mkdirSync(executedDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { NTKD_MODE: opts.mode, NTKD_RUNS_DIR: runsDir, ...(backend ? { NTKD_BACKEND: backend } : {}) };

  // Results from earlier reproductions stay on disk (checkpoints are reused); only results.json
  // files written during this reproduction count, and each belongs to the notebook running then.
  const writtenSince = (t: number) =>
    new Map(listRunResults(runsDir).filter((r) => fs.statSync(path.join(r.dir, "results.json")).mtimeMs >= t).map((r) => [r.dir, r.results] as const));
  const records: StageRecord[] = [];
  const collected: CollectedResults[] = [];
  for (const [index, file] of notebooks.entries()) {
    const { notebook: name, executed } = stageVariant(file, params);
    opts.onEvent?.({ type: "notebook-start", notebook: name, index, count: notebooks.length });
    const before = new Map(listRunResults(runsDir).map((r) => [r.dir, fs.statSync(path.join(r.dir, "results.json")).mtimeMs] as const));
    const t0 = Date.now();
    const result = await runNotebook(file, {
      params,
      out: path.join(executedDir, executed),
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
      commit,
      startedAt: new Date(t0).toISOString(),
    });
    opts.onEvent?.({ type: "notebook-end", notebook: name, ok: result.ok, seconds: result.seconds, peakRssMiB: result.peakRssMiB, failure: result.failure });
  }

  // With --only, the stages that did not run keep their record and results from the last time,
  // as summary.json holds them now: another --only reproduction into `out` may have finished
  // while these notebooks ran, and its record stays.
  const previous = opts.only ? previousSummary(summaryPath, opts.mode, backend) : undefined;
  const ran = new Set(records.map((r) => r.notebook));
  const kept = (previous?.notebooks ?? []).filter((r) => !ran.has(r.notebook));
  collected.push(...recordedResults(out, kept));
  const allRecords = [...kept, ...records].sort(byNotebook);
  collected.sort(byNotebook);
  const datasets = mergedDatasets(collected);
  const summary: ReproduceSummary = {
    commit,
    backend: backend || detectBackend(collected),
    mode: opts.mode,
    startedAt,
    seconds: (Date.now() - started) / 1000,
    ...(opts.notice ? { notice: opts.notice } : {}),
    datasets,
    notebooks: allRecords,
  };
  writeFileAtomic(summaryPath, strictJson(summary, "summary.json") + "\n");
  writeFileAtomic(reportPath, renderReport(summary, collected, out));
  if (!opts.only) {
    // A full reproduction is the whole record: executed notebooks of stages that no longer exist go.
    const current = new Set(allRecords.map((r) => path.basename(r.executed)));
    for (const f of fs.readdirSync(executedDir)) if (/^\d\d-.+\.ipynb$/.test(f) && !current.has(f)) fs.rmSync(path.join(executedDir, f), { force: true });
  }
  return { ok: records.every((r) => r.ok), summary, summaryPath, reportPath };
}

// Stages may record the backend they ran on; otherwise it is whatever the kernels chose.
function detectBackend(collected: { results: StageResults }[]): string {
  const named = collected.map((c) => c.results.backend).find((b): b is string => typeof b === "string");
  return named ?? "auto";
}

function renderReport(summary: ReproduceSummary, collected: CollectedResults[], out: string): string {
  const lines: string[] = [];
  lines.push(`# ntkd-lab reproduction (${summary.mode})`, "");
  lines.push(`Commit \`${summary.commit}\`, backend ${summary.backend}, started ${summary.startedAt}, ${formatNumber(summary.seconds, 3)} s.`, "");
  if (summary.notice) lines.push(summary.notice, "");
  // After `--only`, stages may come from different runs: then each row says which commit and when.
  const mixed = summary.notebooks.some((r) => (r.commit ?? summary.commit) !== summary.commit || (r.startedAt ?? summary.startedAt) < summary.startedAt);
  lines.push(`| notebook | status | seconds | peak memory (MiB) | executed notebook |${mixed ? " commit | started |" : ""}`, `|:-|:-|-:|-:|:-|${mixed ? ":-|:-|" : ""}`);
  for (const r of summary.notebooks) {
    const memory = r.peakRssMiB === undefined ? "-" : r.peakRssMiB.toFixed(0);
    const provenance = mixed ? ` \`${r.commit ?? "?"}\` | ${r.startedAt ?? "?"} |` : "";
    lines.push(`| ${r.notebook} | ${r.ok ? "ok" : "FAILED"} | ${formatNumber(r.seconds, 3)} | ${memory} | [${r.notebook}](${r.executed}) |${provenance}`);
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
        fragmentText = fs.readFileSync(fragment, "utf8").replace(/\]\((?!https?:|\/|#)([^)]+)\)/g, (_m, link: string) => `](${path.posix.normalize(`${runRel}/${link}`)})`);
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

/** Dotted paths that both objects hold, where at least one of them holds a value rather than an object. */
function sharedLeaves(a: Record<string, unknown>, b: Record<string, unknown>, prefix = ""): string[] {
  return Object.keys(a).filter((k) => k in b).flatMap((k) => {
    const at = prefix ? `${prefix}.${k}` : k;
    return isPlainObject(a[k]) && isPlainObject(b[k]) ? sharedLeaves(a[k] as Record<string, unknown>, b[k] as Record<string, unknown>, at) : [at];
  });
}

/**
 * Adds one stage that ran outside `reproduce` (a merged study: `ntkd-lab merge --study-only`) to
 * the reproduction in `out`: its record joins summary.json's `notebooks` (replacing a record of
 * the same name), `datasets` and report.md are rebuilt from every record's results, and an
 * `--only` reproduction later keeps it like any stage it did not run. The record's data sets may
 * not already come from another stage: nothing a notebook recorded is overwritten.
 */
export function addStageToReproduction(out: string, record: StageRecord): { summary: ReproduceSummary; summaryPath: string; reportPath: string } {
  const summaryPath = path.join(out, "summary.json");
  const reportPath = path.join(out, "report.md");
  let summary: ReproduceSummary;
  try {
    summary = JSON.parse(fs.readFileSync(summaryPath, "utf8")) as ReproduceSummary;
  } catch (err) {
    throw new InputError(`${summaryPath}: cannot read the reproduction's summary (${(err as Error).message}); expected the summary.json of ntkd-lab reproduce`);
  }
  if (!summary || !Array.isArray(summary.notebooks) || !isPlainObject(summary.datasets)) {
    throw new InputError(`${summaryPath}: not a reproduction's summary (expected "notebooks" and "datasets")`);
  }
  const others = summary.notebooks.filter((r) => r.notebook !== record.notebook);
  const collected = recordedResults(out, [...others, record]);
  const mine = collected.filter((c) => c.notebook === record.notebook);
  if (mine.length === 0) throw new InputError(`${record.notebook}: none of its run folders ${record.runs.join(", ")} under ${out} holds a results.json`);
  for (const c of collected) {
    if (c.notebook === record.notebook || !isPlainObject(c.results.datasets)) continue;
    for (const m of mine) {
      const clash = sharedLeaves(m.results.datasets as Record<string, unknown>, c.results.datasets as Record<string, unknown>);
      if (clash.length > 0) {
        throw new InputError(`${summaryPath}: ${clash.slice(0, 3).join(", ")} already come${clash.length === 1 ? "s" : ""} from ${c.notebook} (${rel(out, c.dir)}); merge into another --out, or rerun that stage`);
      }
    }
  }
  collected.sort(byNotebook);
  const updated: ReproduceSummary = { ...summary, datasets: mergedDatasets(collected), notebooks: [...others, record].sort(byNotebook) };
  writeFileAtomic(summaryPath, strictJson(updated, "summary.json") + "\n");
  writeFileAtomic(reportPath, renderReport(updated, collected, out));
  return { summary: updated, summaryPath, reportPath };
}
