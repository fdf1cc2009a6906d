/**
 * Runs one of the PyTorch reference scripts in bench/torch/ and reads the one JSON line it
 * prints last. The interpreter is env BENCH_PYTHON, else Debian's /usr/bin/python3 (whose
 * python3-torch package is the reference); a Python that cannot import torch makes the row a
 * BenchSkip instead of an error.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { BenchSkip } from "./cases/types";
import { repoRoot } from "./repo-root";

/** What every reference script prints (bench/torch/runtime_info.py; scripts add their own fields). */
export interface TorchReport {
  seconds: number;
  torch_version: string;
  /** torch.get_num_threads() while it ran. */
  threads: number;
  /** The BLAS library the process loaded, e.g. "OpenBLAS pthread" or "reference BLAS". */
  blas: string;
  /** OpenBLAS's own thread count (null for another BLAS): torch.set_num_threads does not set it. */
  blas_threads: number | null;
  [field: string]: unknown;
}

/**
 * The start of a PyTorch row's notes: version, BLAS and threads, e.g.
 * "torch 1.13.0a0 (OpenBLAS pthread, 2 BLAS threads), 1 thread(s)".
 */
export function torchNote(out: TorchReport): string {
  const n = out.blas_threads;
  const blasThreads = n === null ? "" : `, ${n} BLAS thread${n === 1 ? "" : "s"}`;
  return `torch ${out.torch_version} (${out.blas}${blasThreads}), ${out.threads} thread(s)`;
}


/** Runs bench/torch/<script> with `args`; throws BenchSkip without torch, Error when the script fails. */
export function runTorchScript(script: string, args: string[], timeoutMs = 900_000): TorchReport {
  const python = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
  const probe = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) throw new BenchSkip(`${python} cannot import torch (install Debian's python3-torch)`);
  const file = path.join(repoRoot(), "bench", "torch", script);
  // No __pycache__ beside the scripts (bench/torch/runtime_info.py is imported): the work tree stays clean.
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: "1" };
  const r = spawnSync(python, [file, ...args], { encoding: "utf8", timeout: timeoutMs, env });
  if (r.status !== 0) throw new Error(`bench/torch/${script} failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  const lastLine = r.stdout.trim().split("\n").pop() ?? "";
  let out: TorchReport;
  try {
    out = JSON.parse(lastLine) as TorchReport;
  } catch {
    throw new Error(`bench/torch/${script}: expected a JSON line last, got ${JSON.stringify(lastLine)}`);
  }
  if (!Number.isFinite(out.seconds)) throw new Error(`bench/torch/${script}: seconds is ${String(out.seconds)}`);
  return out;
}
