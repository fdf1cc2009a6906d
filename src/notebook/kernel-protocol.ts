/** Messages between the runner (parent) and its tslab kernel worker (child), over Node's IPC channel. */

/** Parent -> child. */
export type ToKernel = { type: "execute"; id: number; code: string } | { type: "shutdown" } | { type: "ping"; id: number };

/** An error a cell raised, in Jupyter's error-output terms plus where it happened. */
export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
  /** 1-based line in the cell's source, when known. */
  line?: number;
}

/** Child -> parent. */
export type FromKernel =
  | { type: "ready"; tslabVersion: string }
  | { type: "stream"; id: number; name: "stdout" | "stderr"; text: string }
  /** `progress`: the one-line progress text a progress bar sent with this display (for the CLI's status line). */
  | { type: "display"; id: number; data: Record<string, unknown>; metadata: Record<string, unknown>; displayId?: string; update: boolean; progress?: string }
  | { type: "done"; id: number; ok: boolean; error?: CellError }
  /** Answers a ping once the work queued before it (rejections, immediate timers) has run. */
  | { type: "pong"; id: number }
  /**
   * An exception no cell caught: thrown in a timer or callback, or a rejected promise nobody
   * awaited. `id` is the execute id of the cell whose code scheduled it (the running cell's when
   * that is unknown); it may have returned long before.
   */
  | { type: "late-error"; id: number; error: CellError };
