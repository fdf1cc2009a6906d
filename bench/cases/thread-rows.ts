/**
 * The rows of a group compared with PyTorch at equal threads: ours at 1 thread (the
 * single-threaded wasm build) and at 2 (the threaded build), PyTorch at 1 and at 2
 * (torch.set_num_threads) and PyTorch with its default thread count, the group's reference.
 * Each of our rows takes its ratio against PyTorch at its own thread count; the table adds
 * every row against PyTorch's default and names our best row.
 */
import type { OurThreads } from "../ours-backend";
import type { BenchCase, BenchResult } from "./types";

/** PyTorch's thread setting: torch.set_num_threads(n) before building and training, or none. */
export type TorchThreads = OurThreads | "default";

/** Options of {@link threadRows}. */
export interface ThreadRowsSpec {
  /** Row-name prefix, e.g. "lenet5"; row names are unique across groups. */
  label: string;
  group: string;
  /** Runs of each row, fastest kept. */
  repeats: number;
  /** One run of ours at `threads` (1: the single-threaded "wasm" build). */
  ours(threads: OurThreads): Promise<BenchResult>;
  /**
   * Thread counts of our rows (default [1, 2]); [1] for code that has no threaded build (the
   * float64 JS of the estimation rows), which then only has its 1-thread comparison.
   */
  oursThreads?: OurThreads[];
  /** What runs ours, in the row name (default "wasm" at 1 thread, "threaded wasm" at 2). */
  oursEngine?(threads: OurThreads): string;
  /** One PyTorch run with that thread setting. */
  torch(threads: TorchThreads): Promise<BenchResult>;
}

const plural = (n: number) => `${n} thread${n === 1 ? "" : "s"}`;

/** Name of the PyTorch row of `label` at `threads`, for other rows' `compareTo`. */
export function torchRowName(label: string, threads: TorchThreads): string {
  return threads === "default" ? `${label} pytorch default` : `${label} pytorch, ${plural(threads)}`;
}

/** Name of our row of `label` at `threads`. */
export function oursRowName(spec: Pick<ThreadRowsSpec, "label" | "oursEngine">, threads: OurThreads): string {
  const engine = spec.oursEngine?.(threads) ?? (threads === 1 ? "wasm" : "threaded wasm");
  return `${spec.label} ours, ${plural(threads)} (${engine})`;
}

/** The group's rows: ours at each thread count, then PyTorch at 1, at 2 and at its default. */
export function threadRows(spec: ThreadRowsSpec): BenchCase[] {
  const ours = (spec.oursThreads ?? [1, 2]).map((threads): BenchCase => ({
    name: oursRowName(spec, threads),
    group: spec.group,
    repeats: spec.repeats,
    threads,
    ours: true,
    compareTo: torchRowName(spec.label, threads),
    run: () => spec.ours(threads),
  }));
  const torch = ([1, 2, "default"] as TorchThreads[]).map((threads): BenchCase => ({
    name: torchRowName(spec.label, threads),
    group: spec.group,
    repeats: spec.repeats,
    reference: threads === "default",
    ...(threads === "default" ? {} : { threads, compareTo: torchRowName(spec.label, threads) }),
    run: () => spec.torch(threads),
  }));
  return [...ours, ...torch];
}

/** The thread arguments of bench/torch/*.py: `--threads N`, none for PyTorch's default. */
export function torchThreadArgs(threads: TorchThreads): string[] {
  return threads === "default" ? [] : ["--threads", String(threads)];
}
