import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Notebook, NotebookCell } from "../../src/notebook/ipynb";

/** A code cell for fixture notebooks. */
export function code(source: string, tags?: string[]): NotebookCell {
  return { cell_type: "code", source, metadata: tags ? { tags } : {}, outputs: [], execution_count: null };
}

/** A markdown cell for fixture notebooks. */
export function markdown(source: string): NotebookCell {
  return { cell_type: "markdown", source, metadata: {} };
}

/** Writes a fixture notebook into a fresh temp folder and returns its path. */
export function writeFixture(name: string, cells: NotebookCell[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-nb-"));
  const nb: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: "ntkd-lab", display_name: "TypeScript (ntkd-lab)", language: "typescript" } }, cells };
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(nb, null, 1));
  return file;
}
