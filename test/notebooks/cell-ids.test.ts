/**
 * nbformat 4.5 gives every cell an id (1-64 characters of letters, digits, "-" and "_", unique in
 * the notebook); without one Jupyter warns (MissingIDFieldWarning) and rewrites the file on save.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { packageRoot } from "../../src/notebook/self-link";

const DIR = path.join(packageRoot(), "notebooks");

test("every cell of every notebook has a valid id, unique in its notebook", () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".ipynb"));
  assert.ok(files.length > 0);
  for (const f of files) {
    const nb = JSON.parse(fs.readFileSync(path.join(DIR, f), "utf8")) as { nbformat_minor: number; cells: { id?: unknown }[] };
    assert.ok(nb.nbformat_minor >= 5, `${f}: nbformat 4.${nb.nbformat_minor} has no cell ids; expected 4.5 or later`);
    const seen = new Set<string>();
    nb.cells.forEach((c, i) => {
      assert.ok(typeof c.id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(c.id), `${f} cell ${i}: id ${JSON.stringify(c.id)} is not 1-64 of [A-Za-z0-9_-]`);
      assert.ok(!seen.has(c.id as string), `${f} cell ${i}: id ${c.id} repeats`);
      seen.add(c.id as string);
    });
  }
});
