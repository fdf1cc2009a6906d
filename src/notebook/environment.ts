import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend, type BackendName, type RuntimeInfo } from "../runtime/backend";
import { notebookMode, type NotebookMode } from "./params";
import { table } from "./table";
import { runsRoot } from "./run-store";
import { gitCommit } from "./git";

/** Options of {@link environmentCell}. */
export interface EnvironmentCellOptions {
  /** The notebook's seed, recorded beside the versions. */
  seed?: number;
  /** Backend to initialise; default env NTKD_BACKEND, else the fastest available. */
  backend?: BackendName;
  /** Send the table output (default true). */
  display?: boolean;
}

/** What a notebook ran on: enough to reproduce or compare a run. */
export interface EnvironmentInfo extends RuntimeInfo {
  mode: NotebookMode;
  seed: number | null;
  /** git commit of the working tree, "unknown" outside a git checkout. */
  commit: string;
  tslabVersion: string;
  vegaLiteVersion: string;
  /** Where run stores go (NTKD_RUNS_DIR or ./runs). */
  runsDir: string;
}

function packageVersion(name: string): string {
  try {
    const file = require.resolve(`${name}/package.json`);
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/**
 * The first cell of every notebook: initialises the backend and shows versions, backend, seed and
 * mode as a table. Returns the same facts.
 */
export async function environmentCell(opts: EnvironmentCellOptions = {}): Promise<EnvironmentInfo> {
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) throw new Error(`environmentCell: opts.seed must be an integer, got ${opts.seed}`);
  const runtime = await initBackend(opts.backend ? { backend: opts.backend } : {});
  const info: EnvironmentInfo = {
    ...runtime,
    mode: notebookMode(),
    seed: opts.seed ?? null,
    commit: gitCommit(),
    tslabVersion: packageVersion("tslab"),
    vegaLiteVersion: packageVersion("vega-lite"),
    runsDir: runsRoot(),
  };
  if (opts.display !== false) {
    const rows = [
      { item: "ntkd-lab", value: `${info.ntkdLabVersion} (commit ${info.commit})` },
      { item: "backend", value: info.backend + (info.backend === "wasm" ? ` (SIMD ${info.wasmSimd ? "on" : "off"}, ${info.wasmThreadCount} thread${info.wasmThreadCount === 1 ? "" : "s"})` : "") },
      { item: "mode", value: info.mode },
      { item: "seed", value: info.seed === null ? "not set" : String(info.seed) },
      { item: "tfjs", value: info.tfjsVersion },
      { item: "node", value: info.nodeVersion },
      { item: "tslab", value: info.tslabVersion },
      { item: "vega-lite", value: info.vegaLiteVersion },
      { item: "machine", value: `${info.platform}, ${info.cpus} CPUs` },
      { item: "runs", value: info.runsDir },
    ];
    table(rows, { title: "Environment" });
  }
  return info;
}
