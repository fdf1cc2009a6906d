/** One benchmark row. Other areas add rows by writing a case file and listing it in cases/index.ts. */
export interface BenchResult {
  /** Wall-clock seconds of the measured unit (e.g. one training epoch). */
  seconds: number;
  /** How the number was obtained when it is not a plain measurement (e.g. scaled from a few batches). */
  notes?: string;
  /**
   * Threads the run actually computed with, when the run itself reports it (PyTorch's
   * torch.get_num_threads(), XNNPACK's pool size); shown instead of the case's `threads`.
   */
  threads?: number;
}

export interface BenchCase {
  /** Unique row name, e.g. "lenet5 ours, 1 thread (wasm)". */
  name: string;
  /** Rows of one group are compared with each other (ratios); e.g. "lenet5-epoch". */
  group: string;
  /**
   * The group's reference row gets ratio 1 (e.g. the PyTorch row; in a group compared at equal
   * threads, PyTorch with its default thread count).
   */
  reference?: boolean;
  /**
   * Name of the case this row's ratio is taken against instead of the group's reference: the
   * PyTorch row with as many threads as this one, so that ratios compare equal threads. A group
   * with such rows also shows every row against its reference (PyTorch's default) and names the
   * best of its `ours` rows.
   */
  compareTo?: string;
  /** Threads the row computes with (its configuration), shown in tables compared at equal threads. */
  threads?: number;
  /** An ntkd-lab configuration (not a reference framework): a candidate for the group's best-ours line. */
  ours?: boolean;
  /** Run this many times and report the fastest (this machine's 2 cores are shared; default 1). */
  repeats?: number;
  /** Runs the benchmark; throws BenchSkip when it cannot run here (e.g. no PyTorch). */
  run(): Promise<BenchResult>;
}

/** Thrown by a case that cannot run on this machine; the table shows the reason. */
export class BenchSkip extends Error {}
