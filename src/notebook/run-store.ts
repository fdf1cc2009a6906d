import * as fs from "node:fs";
import * as path from "node:path";
import { InputError } from "./errors";
import { writeFileAtomic } from "../runtime/atomic-file";

/** Options of {@link openRun}. */
export interface OpenRunOptions {
  /** Folder holding every experiment's runs; default env NTKD_RUNS_DIR, else "runs" (relative to the cwd). */
  root?: string;
}

/** What a stage notebook writes as its results: merged by `ntkd-lab reproduce` into summary.json. */
export interface StageResults {
  /** Stage name, e.g. "ntkd" or "estimation". */
  stage: string;
  /** Per dataset results, e.g. `{ mnist: { ntkd: { accuracyMean: 97.1 } } }`. */
  datasets: Record<string, Record<string, unknown>>;
  /** Any extra stage-level fields. */
  [key: string]: unknown;
}

/** A run folder `runs/<experiment>/<run>/` and its files. Every write is atomic (temp file + rename). */
export interface RunStore {
  experiment: string;
  run: string;
  /** The run folder. */
  dir: string;
  /** `config.json`: the parameters the run used. */
  configPath: string;
  /** `metrics.jsonl`: one JSON object per line, appended as training goes. */
  metricsPath: string;
  /** `checkpoints/`: model weights. */
  checkpointsDir: string;
  /** `figures/`: SVG and PNG figures. */
  figuresDir: string;
  /** `results.json`: the stage results ({@link StageResults}) reproduce collects. */
  resultsPath: string;
  /** `report.md`: an optional markdown fragment reproduce puts in the stage's report section. */
  reportPath: string;
  writeConfig(config: unknown): void;
  readConfig<T = unknown>(): T | undefined;
  /** Appends one metrics record (a single write of one line, so readers never see half a record). */
  appendMetrics(record: Record<string, unknown>): void;
  readMetrics<T = Record<string, unknown>>(): T[];
  writeResults(results: StageResults): void;
  readResults(): StageResults | undefined;
  writeReport(markdown: string): void;
  /** Path of figure `name` with extension `ext` ("svg", "png"); the name must be a plain file name. */
  figurePath(name: string, ext: string): string;
  /** Path of checkpoint `name` (a plain file or folder name). */
  checkpointPath(name: string): string;
}

// '+' for method names such as "kd+ntkd": safe in paths, URLs and (unquoted) shell words.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

function checkName(value: string, what: string): string {
  if (typeof value !== "string" || !SAFE_NAME.test(value) || value.includes("..")) {
    throw new Error(`openRun: ${what} must be a plain name of letters, digits, '.', '_', '+' or '-', got ${JSON.stringify(value)}`);
  }
  return value;
}

export { writeFileAtomic };

/** Reads a JSON-lines file (one record a line, blank lines skipped); a bad line is an error naming it. */
export function readJsonLines<T = Record<string, unknown>>(file: string): T[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch {
        throw new Error(`${file}: line ${i + 1} is not valid JSON`);
      }
    });
}

/**
 * Checks that files can be created in `dir` (creating it if needed), so that a run fails before
 * its first cell rather than after hours of work; `label` names the setting the folder came from.
 */
export function checkWritableDir(dir: string, label: string): void {
  const probe = path.join(dir, `.ntkd-write-check-${process.pid}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(probe, "");
    fs.rmSync(probe);
  } catch (err) {
    throw new InputError(`${label}: cannot write to ${dir} (expected a writable folder): ${(err as Error).message}`);
  }
}

/**
 * Checks that `file` can be written: its folder is writable ({@link checkWritableDir}) and the
 * path itself is not a folder (a rename onto one fails only after all the work is done). `kind`
 * says what the file is, for the message.
 */
export function checkWritableFile(file: string, label: string, kind = "a file"): void {
  checkWritableDir(path.dirname(file), label);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    throw new InputError(`${label}: is a folder; expected the path of ${kind} to write`);
  }
}

/** JSON that refuses NaN and Infinity (JSON.stringify would silently write null). */
export function strictJson(value: unknown, what: string): string {
  return JSON.stringify(
    value,
    (key, v) => {
      if (typeof v === "number" && !Number.isFinite(v)) throw new Error(`${what}: field "${key}" is ${v}; results must be finite numbers`);
      return v;
    },
    2,
  );
}

function readJson<T>(file: string): T | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/** A run id from the clock, sortable: "20261126-091530-123". */
export function timestampRunId(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, "").replace("T", "-").replace(/\.(\d+)Z$/, "-$1");
}

/** The runs root: `opts.root`, else env NTKD_RUNS_DIR, else "runs". */
export function runsRoot(opts: OpenRunOptions = {}): string {
  return path.resolve(opts.root ?? (process.env.NTKD_RUNS_DIR || "runs"));
}

/**
 * Opens (creating) the run folder `<root>/<experiment>/<run>/`. `run` defaults to env NTKD_RUN,
 * else a timestamp id. Notebooks and the CLI share these folders.
 */
export function openRun(experiment: string, run?: string, opts: OpenRunOptions = {}): RunStore {
  checkName(experiment, "experiment");
  const runId = checkName(run ?? (process.env.NTKD_RUN || timestampRunId()), "run");
  const dir = path.join(runsRoot(opts), experiment, runId);
  const checkpointsDir = path.join(dir, "checkpoints");
  const figuresDir = path.join(dir, "figures");
  fs.mkdirSync(checkpointsDir, { recursive: true });
  fs.mkdirSync(figuresDir, { recursive: true });
  const configPath = path.join(dir, "config.json");
  const metricsPath = path.join(dir, "metrics.jsonl");
  const resultsPath = path.join(dir, "results.json");
  const reportPath = path.join(dir, "report.md");
  return {
    experiment,
    run: runId,
    dir,
    configPath,
    metricsPath,
    checkpointsDir,
    figuresDir,
    resultsPath,
    reportPath,
    writeConfig: (config) => writeFileAtomic(configPath, strictJson(config, "writeConfig") + "\n"),
    readConfig: <T>() => readJson<T>(configPath),
    appendMetrics(record) {
      if (record === null || typeof record !== "object" || Array.isArray(record)) throw new Error("appendMetrics: record must be an object");
      const line = JSON.stringify(record, (key, v) => {
        if (typeof v === "number" && Number.isNaN(v)) throw new Error(`appendMetrics: field "${key}" is NaN`);
        return v;
      });
      fs.appendFileSync(metricsPath, line + "\n");
    },
    readMetrics<T>() {
      if (!fs.existsSync(metricsPath)) return [];
      return readJsonLines<T>(metricsPath);
    },
    writeResults(results) {
      if (!results || typeof results.stage !== "string" || !results.stage) throw new Error("writeResults: results.stage must be a non-empty string");
      if (!results.datasets || typeof results.datasets !== "object" || Array.isArray(results.datasets)) {
        throw new Error("writeResults: results.datasets must be an object keyed by dataset name");
      }
      writeFileAtomic(resultsPath, strictJson(results, "writeResults") + "\n");
    },
    readResults: () => readJson<StageResults>(resultsPath),
    writeReport: (markdown) => writeFileAtomic(reportPath, markdown.endsWith("\n") ? markdown : markdown + "\n"),
    figurePath: (name, ext) => path.join(figuresDir, `${checkName(name, "figure name")}.${checkName(ext, "figure extension")}`),
    checkpointPath: (name) => path.join(checkpointsDir, checkName(name, "checkpoint name")),
  };
}

/** Every run folder under `root` that holds a results.json, sorted by path. */
export function listRunResults(root: string): { dir: string; results: StageResults }[] {
  const found: { dir: string; results: StageResults }[] = [];
  if (!fs.existsSync(root)) return found;
  for (const experiment of fs.readdirSync(root).sort()) {
    const expDir = path.join(root, experiment);
    if (!fs.statSync(expDir).isDirectory()) continue;
    for (const run of fs.readdirSync(expDir).sort()) {
      const file = path.join(expDir, run, "results.json");
      const results = readJson<StageResults>(file);
      if (results) found.push({ dir: path.join(expDir, run), results });
    }
  }
  return found;
}
