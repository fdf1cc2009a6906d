import * as fs from "node:fs";
import { InputError } from "./errors";

/** A Jupyter notebook (nbformat 4), the parts we read and write. */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
}

/** One output of a code cell (nbformat 4). */
export type CellOutput =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: string }
  | { output_type: "display_data"; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: "execute_result"; data: Record<string, unknown>; metadata: Record<string, unknown>; execution_count: number | null }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  metadata: Record<string, unknown> & { tags?: string[] };
  outputs?: CellOutput[];
  execution_count?: number | null;
  id?: string;
  [key: string]: unknown;
}

/** A cell's source as one string (nbformat allows a list of lines). */
export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** The cell's tags (papermill's `parameters`, ...). */
export function cellTags(cell: NotebookCell): string[] {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
}

/** Reads and checks a notebook file; errors name the file. */
export function readNotebook(file: string): Notebook {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new InputError(`${file}: cannot read the notebook (expected a readable .ipynb file): ${(err as Error).message}`);
  }
  let nb: Notebook;
  try {
    nb = JSON.parse(text) as Notebook;
  } catch (err) {
    throw new InputError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!nb || nb.nbformat !== 4 || !Array.isArray(nb.cells)) throw new InputError(`${file}: expected an nbformat 4 notebook with a cells array`);
  nb.cells.forEach((c, i) => {
    if (!c || !["code", "markdown", "raw"].includes(c.cell_type)) throw new InputError(`${file}: cell ${i} has unknown cell_type ${JSON.stringify(c?.cell_type)}`);
    if (typeof c.source !== "string" && !Array.isArray(c.source)) throw new InputError(`${file}: cell ${i} has no source`);
    c.metadata = c.metadata ?? {};
  });
  return nb;
}

/** Splits text into nbformat's list-of-lines form (each line keeps its "\n"). */
export function toLines(text: string): string[] {
  return text.split(/(?<=\n)/).filter((l) => l !== "");
}
