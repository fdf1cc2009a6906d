/** One benchmark row. Other areas add rows by writing a case file and listing it in cases/index.ts. */
export interface BenchResult {
  /** Wall-clock seconds of the measured unit (e.g. one training epoch). */
  seconds: number;
  /** How the number was obtained when it is not a plain measurement (e.g. scaled from a few batches). */
  notes?: string;
}

export interface BenchCase {
  /** Unique row name, e.g. "lenet5 epoch wasm". */
  name: string;
  /** Rows of one group are compared with each other (ratios); e.g. "lenet5-epoch". */
  group: string;
  /** The group's reference row gets ratio 1 (e.g. the PyTorch row). */
  reference?: boolean;
  /** Run this many times and report the fastest (this machine's 2 cores are shared; default 1). */
  repeats?: number;
  /** Runs the benchmark; throws BenchSkip when it cannot run here (e.g. no PyTorch). */
  run(): Promise<BenchResult>;
}

/** Thrown by a case that cannot run on this machine; the table shows the reason. */
export class BenchSkip extends Error {}
