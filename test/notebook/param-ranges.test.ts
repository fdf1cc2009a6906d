import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { params } from "../../src/notebook/params";
import { checkParamsAgainstDeclarations, declaredParams } from "../../src/notebook/param-declarations";
import { cellSource, cellTags, readNotebook } from "../../src/notebook/ipynb";
import { runNotebook } from "../../src/notebook/runner";
import { code, writeFixture } from "./fixtures";

const MAIN = path.join(__dirname, "..", "..", "src", "cli", "main.js");
const NOTEBOOKS = path.join(__dirname, "..", "..", "..", "notebooks");
const ranges = { epochs: { min: 1, integer: true }, batchSize: { min: 1, integer: true }, lr: { min: 0, max: 1 }, dataset: { oneOf: ["mnist", "cifar10"] } };
const defaults = { epochs: 5, batchSize: 128, lr: 0.1, dataset: "mnist", widths: [4, 8] };

test("params() refuses values outside their declared range, naming the variable and the range", () => {
  assert.deepEqual(params(defaults, { ranges, env: { NTKD_PARAM_epochs: "7" } }).epochs, 7);
  assert.throws(() => params(defaults, { ranges, env: { NTKD_PARAM_epochs: "-1" } }), /^Error: NTKD_PARAM_epochs must be an integer >= 1, got -1$/);
  assert.throws(() => params(defaults, { ranges, env: { NTKD_PARAM_epochs: "2.5" } }), /NTKD_PARAM_epochs must be an integer >= 1, got 2\.5/);
  assert.throws(() => params(defaults, { ranges, env: { NTKD_PARAM_batchSize: "0" } }), /NTKD_PARAM_batchSize must be an integer >= 1, got 0/);
  assert.throws(() => params(defaults, { ranges, env: { NTKD_PARAM_lr: "1.5" } }), /NTKD_PARAM_lr must be a number >= 0 and <= 1, got 1\.5/);
  assert.throws(() => params(defaults, { ranges, env: { NTKD_PARAM_dataset: "svhn" } }), /NTKD_PARAM_dataset must be one of mnist, cifar10, got "svhn"/);
  // Each element of an array is checked; the mode's own values are checked too.
  assert.throws(() => params(defaults, { ranges: { widths: { min: 1, integer: true } }, env: { NTKD_PARAM_widths: "[4,0]" } }), /NTKD_PARAM_widths must be a list of an integer >= 1, got \[4,0\]/);
  assert.throws(() => params(defaults, { ranges, quick: { epochs: 0 }, env: {} }), /parameter epochs \(quick value\) must be an integer >= 1, got 0/);
  assert.throws(() => params(defaults, { ranges: { epoch: { min: 1 } } as never, env: {} }), /opts\.ranges\.epoch has no default/);
});

test("the runner reads a parameters cell's declarations and refuses a bad --param before the first cell runs", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-params-"));
  const marker = path.join(dir, "first-cell-ran");
  const file = writeFixture("train.ipynb", [
    code(`require("fs").writeFileSync(${JSON.stringify(marker)}, "ran");`),
    code(`import { params } from "ntkd-lab";\nconst P = params(${JSON.stringify(defaults)}, { quick: { epochs: 2 }, ranges: ${JSON.stringify(ranges)} });\nP`, ["parameters"]),
  ]);
  const source = cellSource(readNotebook(file).cells[1]!);
  assert.deepEqual(declaredParams(source), { defaults, ranges });
  const opts = { out: path.join(dir, "out.ipynb"), env: { NTKD_RUNS_DIR: path.join(dir, "runs") } };
  await assert.rejects(runNotebook(file, { ...opts, params: { epochs: -1 } }), /train\.ipynb: --param epochs must be an integer >= 1, got -1/);
  await assert.rejects(runNotebook(file, { ...opts, params: { batchSize: 0 } }), /--param batchSize must be an integer >= 1, got 0/);
  await assert.rejects(runNotebook(file, { ...opts, params: { epochs: "many" } }), /--param epochs="many": NTKD_PARAM_epochs must be a finite number \(default 5\)/);
  assert.equal(fs.existsSync(marker), false, "no cell ran");
  assert.equal(fs.existsSync(path.join(dir, "runs")), false, "nothing was written to the run store");
});

test("the stage notebooks declare ranges for their counts, and ntkd-lab run refuses epochs=-1 at once (exit 2)", () => {
  const declared = (name: string) => {
    const nb = readNotebook(path.join(NOTEBOOKS, name));
    const cell = nb.cells.find((c) => cellTags(c).includes("parameters"))!;
    return declaredParams(cellSource(cell))!;
  };
  assert.deepEqual(declared("00-tour.ipynb").ranges.epochs, { min: 1, integer: true });
  assert.deepEqual(declared("00-tour.ipynb").ranges.batchSize, { min: 1, integer: true });
  assert.deepEqual(declared("03-ntkd.ipynb").ranges.workers, { min: 1, integer: true });
  assert.deepEqual(declared("04-fabrication.ipynb").ranges.sweepEpochs, { min: 1, integer: true });
  // Values inside the ranges, of the defaults' types, pass.
  checkParamsAgainstDeclarations("00-tour.ipynb", { epochs: 2, batchSize: 32, learningRate: 0.1 }, declared("00-tour.ipynb"));
  checkParamsAgainstDeclarations("03-ntkd.ipynb", { datasets: ["mnist"], workers: 2 }, declared("03-ntkd.ipynb"));
  assert.throws(() => checkParamsAgainstDeclarations("03-ntkd.ipynb", { datasets: "mnist" }, declared("03-ntkd.ipynb")), /--param datasets="mnist": NTKD_PARAM_datasets must be JSON matching its default \["mnist"\]/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-params-"));
  const r = spawnSync(process.execPath, [MAIN, "run", path.join(NOTEBOOKS, "00-tour.ipynb"), "--param", "epochs=-1", "--out", path.join(dir, "out.ipynb")], {
    encoding: "utf8",
    env: { ...process.env, NTKD_RUNS_DIR: path.join(dir, "runs") },
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^ntkd-lab run: .*00-tour\.ipynb: --param epochs must be an integer >= 1, got -1 \(see ntkd-lab run --help\)\n$/);
  assert.equal(fs.existsSync(path.join(dir, "runs")), false, "no config.json or run folder was written");
});
