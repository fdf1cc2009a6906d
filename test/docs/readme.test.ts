/**
 * README's "Getting started" block is what a new user pastes first, so it runs here as written:
 * one notebook cell through the runner (the package imported by name from dist/, as in Jupyter),
 * with no set-up call, and it must display both charts and print a test accuracy.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runNotebook } from "../../src/notebook/runner";
import { packageRoot } from "../../src/notebook/self-link";
import type { Notebook } from "../../src/notebook/ipynb";
import { code } from "../notebook/fixtures";

const ROOT = packageRoot();

/** The first ```ts block after the heading `## Getting started`. */
function gettingStartedBlock(): string {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.split(/^## Getting started$/m)[1];
  assert.ok(section, "README.md has a '## Getting started' section");
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(block, "the Getting started section holds a ```ts block");
  return block[1];
}

test("README's Getting started block runs as written in a notebook cell: two charts and a test accuracy", { skip: !fs.existsSync(path.join(ROOT, "dist", "index.js")) && "dist/ is not built (npm run build)" }, async () => {
  // Inside the package (below the ignored runs/), so "ntkd-lab" resolves as it does for notebooks/.
  fs.mkdirSync(path.join(ROOT, "runs"), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, "runs", "readme-"));
  const file = path.join(dir, "getting-started.ipynb");
  const nb: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [code(gettingStartedBlock())] };
  fs.writeFileSync(file, JSON.stringify(nb));
  const result = await runNotebook(file, { out: path.join(dir, "out.ipynb"), env: { NTKD_RUNS_DIR: path.join(dir, "runs") } });
  assert.ok(result.ok, `the README block failed: ${result.failure?.message}`);
  const outputs = result.notebook.cells[0].outputs ?? [];
  const charts = outputs.filter((o) => o.output_type === "display_data" && "application/vnd.vegalite.v5+json" in (o as { data: object }).data);
  assert.equal(charts.length, 2, "trainingCurves and frontend.draw() each display a chart");
  const text = outputs.filter((o) => o.output_type === "stream").map((o) => String((o as { text: string | string[] }).text)).join("");
  const accuracy = /test accuracy (\d+(?:\.\d)?) %/.exec(text);
  assert.ok(accuracy, `no test accuracy printed:\n${text}`);
  // 2 epochs on 2,000 images put the Compressed Meta ONN well above chance (10 %).
  assert.ok(Number(accuracy[1]) > 50, `test accuracy ${accuracy[1]} %`);
  fs.rmSync(dir, { recursive: true, force: true });
});
