/**
 * DESIGN.md's layering: a folder of src/ knows only the folders below it. The order is the one
 * the imports must respect; a new import upward (e.g. distill -> train) fails here with the file
 * and the import named.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { packageRoot } from "../src/notebook/self-link";

/** Bottom first. */
const LAYERS = ["runtime", "viz", "data", "optics", "models", "distill", "train", "fabrication", "export", "estimate", "notebook", "experiments", "cli"];

const SRC = path.join(packageRoot(), "src");

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith(".ts") ? [p] : [];
  });
}

/** Relative module specifiers of a file's imports and re-exports (type-only ones too). */
function relativeImports(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/g)].map((m) => m[1]);
}

test("every folder of src/ imports only the folders below it (DESIGN.md layering)", { skip: !fs.existsSync(SRC) && "no src/ beside the package" }, () => {
  const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  for (const f of folders) assert.ok(LAYERS.includes(f), `src/${f}/ has no place in the layer order; add it to LAYERS`);
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = path.relative(SRC, file).split(path.sep)[0];
    if (!LAYERS.includes(from)) continue; // src/index.ts re-exports every folder
    for (const spec of relativeImports(file)) {
      const to = path.relative(SRC, path.resolve(path.dirname(file), spec)).split(path.sep)[0];
      if (to === from || !LAYERS.includes(to)) continue;
      if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) violations.push(`${path.relative(SRC, file)} imports "${spec}" (${from} -> ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});
