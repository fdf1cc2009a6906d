/**
 * The two notebook layers, on every notebook in notebooks/ in smoke mode (the test suite's sizes):
 *   1. our Python-free runner (`ntkd-lab run`'s engine);
 *   2. real Jupyter: Debian's `jupyter nbconvert --execute` with the installed kernel spec.
 * Notebooks import the package by name, so dist/ is built first when it is missing or stale.
 * One file, run in sequence: both layers share the dist/ build and the machine's two cores.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { runNotebook } from "../../src/notebook/runner";
import { installKernelSpec, KERNEL_NAME } from "../../src/notebook/kernel-spec";
import { packageRoot, ensureSelfLink } from "../../src/notebook/self-link";
import type { Notebook } from "../../src/notebook/ipynb";
import { code, writeFixture } from "../notebook/fixtures";

const ROOT = packageRoot();
const NOTEBOOKS = fs.readdirSync(path.join(ROOT, "notebooks")).filter((f) => f.endsWith(".ipynb")).sort();
const JUPYTER = "/usr/bin/jupyter";
/** Seconds one notebook may take in smoke mode, per layer. */
const NOTEBOOK_TIMEOUT_S = Number(process.env.NTKD_NOTEBOOK_TIMEOUT_S ?? 900);

function newestMtime(dir: string, ext: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p, ext));
    else if (entry.name.endsWith(ext)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ with the package's own build script unless it is newer than every source file. */
function ensureDist(): void {
  const index = path.join(ROOT, "dist", "index.js");
  if (fs.existsSync(index) && newestMtime(path.join(ROOT, "dist"), ".js") >= newestMtime(path.join(ROOT, "src"), ".ts")) return;
  const r = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8" });
  assert.ok(fs.existsSync(index), `npm run build did not produce dist/index.js:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, `npm run build failed:\n${r.stdout}\n${r.stderr}`);
}

function checkOutputs(nb: Notebook, name: string): void {
  for (const [i, cell] of nb.cells.entries()) {
    for (const out of cell.outputs ?? []) {
      assert.notEqual(out.output_type, "error", `${name} cell ${i} has an error output`);
      if (out.output_type === "display_data" && "application/vnd.vegalite.v5+json" in out.data) {
        // The PNG is what classic Notebook, GitHub and nbconvert HTML show (6.5 strips inline SVG).
        const png = Buffer.from(String(out.data["image/png"] ?? ""), "base64");
        assert.equal(png.subarray(1, 4).toString("latin1"), "PNG", `${name} cell ${i}: a chart without its PNG`);
      }
    }
  }
}

test("notebooks/ holds the tour", () => {
  assert.ok(NOTEBOOKS.includes("00-tour.ipynb"), `notebooks: ${NOTEBOOKS.join(", ")}`);
  ensureDist();
  ensureSelfLink(ROOT);
});

// Both layers share one run store: layer 1 trains the smoke-mode models, layer 2 (real Jupyter)
// runs every cell again but loads them, which keeps the suite within its time budget.
const sharedRuns = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-nbruns-"));
// CIFAR-10 joins the notebooks whenever it is cached (CI fetches it for its own tests); its
// smoke-size study would double the suite's time, so the notebook runs see an empty folder.
const noCifar10 = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-no-cifar10-"));
process.on("exit", () => {
  fs.rmSync(sharedRuns, { recursive: true, force: true });
  fs.rmSync(noCifar10, { recursive: true, force: true });
});

test("layer 1: every notebook runs through the Python-free runner in smoke mode", async (t) => {
  const runs = sharedRuns;
  {
    for (const name of NOTEBOOKS) {
      await t.test(name, async () => {
        const result = await runNotebook(path.join(ROOT, "notebooks", name), {
          out: path.join(runs, "executed", name),
          timeoutS: NOTEBOOK_TIMEOUT_S,
          env: { NTKD_MODE: "smoke", NTKD_RUNS_DIR: runs, NTKD_CIFAR10_DIR: noCifar10 },
        });
        assert.equal(result.ok, true, result.failure?.message);
        checkOutputs(result.notebook, name);
      });
    }
  }
});

test("layer 2: every notebook runs under real Jupyter (nbconvert --execute) with the installed kernel spec", async (t) => {
  const probe = spawnSync(JUPYTER, ["nbconvert", "--version"], { encoding: "utf8" });
  if (probe.status !== 0) {
    t.skip(`${JUPYTER} nbconvert is not installed (apt install jupyter-nbconvert python3-nbclient python3-ipykernel)`);
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-jupyter-"));
  try {
    const { jupyterPath } = installKernelSpec({ prefix: path.join(work, "prefix") });
    const env = { ...process.env, JUPYTER_PATH: jupyterPath!, NTKD_MODE: "smoke", NTKD_RUNS_DIR: sharedRuns, NTKD_CIFAR10_DIR: noCifar10 };
    const nbconvert = (file: string, outDir: string) =>
      spawnSync(JUPYTER, ["nbconvert", "--to", "notebook", "--execute", `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`, `--ExecutePreprocessor.timeout=${NOTEBOOK_TIMEOUT_S}`, "--output-dir", outDir, file], { env, encoding: "utf8" });

    await t.test("a failing cell fails nbconvert", () => {
      const failing = writeFixture("failing.ipynb", [code('console.log("fine")'), code('throw new Error("deliberate failure")'), code('console.log("unreached")')]);
      const r = nbconvert(failing, path.dirname(failing));
      assert.notEqual(r.status, 0, "nbconvert must fail on an error");
      assert.match(r.stderr, /deliberate failure/);
    });
    for (const name of NOTEBOOKS) {
      await t.test(name, () => {
        const outDir = path.join(work, "executed");
        const r = nbconvert(path.join(ROOT, "notebooks", name), outDir);
        assert.equal(r.status, 0, `nbconvert failed on ${name}:\n${r.stderr.slice(-4000)}`);
        checkOutputs(JSON.parse(fs.readFileSync(path.join(outDir, name), "utf8")) as Notebook, name);
      });
    }
    // One export only (nbconvert is slow): the teacher notebook's charts must be images in its HTML.
    const exported = NOTEBOOKS.find((n) => n.startsWith("02-")) ?? NOTEBOOKS[0]!;
    await t.test(`${exported} exports to HTML with every chart as a PNG image`, () => {
      const outDir = path.join(work, "executed");
      const executed = JSON.parse(fs.readFileSync(path.join(outDir, exported), "utf8")) as Notebook;
      const charts = executed.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "display_data" && "application/vnd.vegalite.v5+json" in o.data).length;
      assert.ok(charts > 0, `${exported} shows no chart`);
      const r = spawnSync(JUPYTER, ["nbconvert", "--to", "html", "--output-dir", outDir, path.join(outDir, exported)], { encoding: "utf8" });
      assert.equal(r.status, 0, `nbconvert --to html failed on ${exported}:\n${r.stderr.slice(-4000)}`);
      const html = fs.readFileSync(path.join(outDir, exported.replace(/\.ipynb$/, ".html")), "utf8");
      assert.equal(html.match(/<img\s[^>]*src="data:image\/png;base64,/g)?.length ?? 0, charts, `${exported}: one <img> per chart`);
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
