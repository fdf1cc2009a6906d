/** Messages between the runner (parent) and its tslab kernel worker (child), over Node's IPC channel. */

/** Parent -> child. */
export type ToKernel = { type: "execute"; id: number; code: string } | { type: "shutdown" };

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
  | { type: "display"; id: number; data: Record<string, unknown>; metadata: Record<string, unknown>; displayId?: string; update: boolean }
  | { type: "done"; id: number; ok: boolean; error?: CellError };
