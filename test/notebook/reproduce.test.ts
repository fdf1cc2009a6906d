import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { reproduce, deepMerge, stageNotebooks, defaultCellTimeoutS, flattenResults, addStageToReproduction, stageVariant } from "../../src/notebook/reproduce";
import { code, markdown, writeFixture } from "./fixtures";

// Stage fixtures write their run store with plain fs, following the results.json contract.
const writeStage = (experiment: string, results: object, report?: string) => code(
  `const fs = require("fs"); const path = require("path");\n` +
  `const dir = path.join(process.env.NTKD_RUNS_DIR, ${JSON.stringify(experiment)}, "r1");\n` +
  `fs.mkdirSync(path.join(dir, "figures"), { recursive: true });\n` +
  `fs.writeFileSync(path.join(dir, "figures", "curve.svg"), "<svg/>");\n` +
  `fs.writeFileSync(path.join(dir, "results.json"), ${JSON.stringify(JSON.stringify(results))});\n` +
  (report ? `fs.writeFileSync(path.join(dir, "report.md"), ${JSON.stringify(report)});\n` : "") +
  `console.log("mode", process.env.NTKD_MODE);`,
);

test("reproduce runs NN-*.ipynb in order, merges stage results and writes summary, report and notebooks", async () => {
  const first = writeFixture("01-alpha.ipynb", [markdown("# alpha"), writeStage("alpha", { stage: "alpha", datasets: { mnist: { alpha: { accuracy: 91.4 } } } }, "Alpha beats the paper.\n\n![curve](figures/curve.svg)\n\n[log](../../models/r1/checkpoints/student.metrics.jsonl)\n")]);
  const dir = path.dirname(first);
  fs.copyFileSync(writeFixture("02-beta.ipynb", [
    writeStage("beta", { stage: "beta", datasets: { mnist: { beta: { accuracy: 97.3 } }, cifar10: { beta: { accuracy: 75.6 } } } }),
    code('throw new Error("beta broke after writing results")'),
  ]), path.join(dir, "02-beta.ipynb"));
  fs.writeFileSync(path.join(dir, "scratch.ipynb"), "not a stage notebook");
  assert.deepEqual(stageNotebooks(dir).map((f) => path.basename(f)), ["01-alpha.ipynb", "02-beta.ipynb"]);

  const out = path.join(dir, "results");
  const { ok, summary, summaryPath, reportPath } = await reproduce({ mode: "smoke", out, notebooksDir: dir, backend: "cpu", notice: "**Smoke mode: not a reproduction.**" });
  assert.equal(ok, false);
  const onDisk = JSON.parse(fs.readFileSync(summaryPath, "utf8"));
  assert.deepEqual(onDisk, summary);
  assert.deepEqual(Object.keys(summary).sort(), ["backend", "commit", "datasets", "mode", "notebooks", "notice", "seconds", "startedAt"]);
  assert.equal(summary.mode, "smoke");
  assert.equal(summary.notice, "**Smoke mode: not a reproduction.**");
  assert.equal(summary.backend, "cpu");
  assert.deepEqual(summary.datasets, { mnist: { alpha: { accuracy: 91.4 }, beta: { accuracy: 97.3 } }, cifar10: { beta: { accuracy: 75.6 } } });
  assert.deepEqual(summary.notebooks.map((n) => [n.notebook, n.ok, n.stages, n.runs]), [
    ["01-alpha.ipynb", true, ["alpha"], ["runs/alpha/r1"]],
    ["02-beta.ipynb", false, ["beta"], ["runs/beta/r1"]],
  ]);
  assert.equal(summary.notebooks[1]!.failure?.cellIndex, 1);
  if (fs.existsSync("/proc/self/status")) {
    // A tslab kernel process alone holds tens of MiB; a GiB would mean the units are wrong.
    for (const n of summary.notebooks) assert.ok(n.peakRssMiB! > 20 && n.peakRssMiB! < 1024, `${n.notebook}: peak ${n.peakRssMiB} MiB`);
  }
  const executed = JSON.parse(fs.readFileSync(path.join(out, "notebooks", "01-alpha.ipynb"), "utf8"));
  assert.deepEqual(executed.cells[1].outputs, [{ output_type: "stream", name: "stdout", text: "mode smoke\n" }]);
  const report = fs.readFileSync(reportPath, "utf8");
  // The notice opens the report, right under the provenance line.
  assert.match(report, /^# ntkd-lab reproduction \(smoke\)\n\nCommit `[^`]+`, backend cpu, [^\n]+\n\n\*\*Smoke mode: not a reproduction\.\*\*\n/);
  assert.match(report, /\| 01-alpha\.ipynb \| ok \| [\d.]+ \| \d+ \|/);
  assert.match(report, /\| 02-beta\.ipynb \| FAILED \|/);
  assert.match(report, /Alpha beats the paper\.\n\n!\[curve\]\(runs\/alpha\/r1\/figures\/curve\.svg\)/);
  // A link out of the stage's run folder (to a model's log) is re-anchored and normalised.
  assert.match(report, /\[log\]\(runs\/models\/r1\/checkpoints\/student\.metrics\.jsonl\)/);
  assert.match(report, /\| mnist\.beta\.accuracy \| 97\.3 \|/);
  assert.match(report, /beta broke after writing results/);
  assert.match(report, /\[01-alpha\.ipynb\]\(notebooks\/01-alpha\.ipynb\)/);
  // The fragment already shows curve.svg; beta has no fragment, so its figure is listed.
  assert.equal(report.match(/runs\/alpha\/r1\/figures\/curve\.svg/g)?.length, 1);
  assert.match(report, /!\[curve\]\(runs\/beta\/r1\/figures\/curve\.svg\)/);
});

test("the report's value table leaves out provenance (the stage's own table links it) and keeps the numbers", () => {
  const results = { mnist: { teacher: { accuracy: 0.99, model: { log: "a.metrics.jsonl" } }, students: { kd: { mean: 0.97, runs: [0.97], models: [{ log: "b" }] } } } };
  assert.deepEqual(flattenResults(results), [
    { key: "mnist.teacher.accuracy", value: "0.99" },
    { key: "mnist.students.kd.mean", value: "0.97" },
    { key: "mnist.students.kd.runs", value: "[0.97]" },
  ]);
});

test("deepMerge merges nested objects key by key", () => {
  assert.deepEqual(deepMerge({ a: { b: 1, c: { d: 2 } } }, { a: { c: { e: 3 }, f: [1] } }), { a: { b: 1, c: { d: 2, e: 3 }, f: [1] } });
});

test("a full reproduction allows hours per cell by default, a quick or smoke one half an hour", () => {
  assert.equal(defaultCellTimeoutS("smoke"), 1800);
  assert.equal(defaultCellTimeoutS("quick"), 1800);
  assert.equal(defaultCellTimeoutS("full"), 21600);
});

test("bad arguments are refused before anything in the output folder is touched", async () => {
  const first = writeFixture("01-alpha.ipynb", [writeStage("alpha", { stage: "alpha", datasets: { mnist: { alpha: { accuracy: 1 } } } })]);
  const dir = path.dirname(first);
  const out = path.join(dir, "results");
  const committed = path.join(out, "notebooks", "01-alpha.ipynb");
  fs.mkdirSync(path.dirname(committed), { recursive: true });
  fs.writeFileSync(committed, "the committed executed notebook");
  fs.writeFileSync(path.join(out, "summary.json"), "{}");
  await assert.rejects(reproduce({ mode: "full", out, notebooksDir: dir, only: ["99"] }), /--only 99 matches no notebook; expected prefixes of 01-alpha\.ipynb/);
  await assert.rejects(reproduce({ mode: "full", out, notebooksDir: dir, only: ["01", "07"] }), /--only 07 matches no notebook/);
  await assert.rejects(reproduce({ mode: "full", out, notebooksDir: dir, only: [] }), /--only needs stage numbers/);
  await assert.rejects(reproduce({ mode: "full", out, notebooksDir: path.join(dir, "nowhere") }), /notebooks folder .*nowhere does not exist/);
  await assert.rejects(reproduce({ mode: "full", out, notebooksDir: dir, timeoutS: -1 }), /timeoutS must be a positive number/);
  await assert.rejects(reproduce({ mode: "full", out, notebooksDir: dir, only: ["01"] }), /summary\.json has no "notebooks" list/);
  assert.equal(fs.readFileSync(committed, "utf8"), "the committed executed notebook");
  assert.equal(fs.readFileSync(path.join(out, "summary.json"), "utf8"), "{}");
});

test("--only reruns the stages it names and keeps the other stages' records, results and executed notebooks", async () => {
  const first = writeFixture("01-alpha.ipynb", [writeStage("alpha", { stage: "alpha", datasets: { mnist: { alpha: { accuracy: 91.4 } } } }, "Alpha fragment.\n")]);
  const dir = path.dirname(first);
  const beta = (accuracy: number) => writeFixture("02-beta.ipynb", [writeStage("beta", { stage: "beta", datasets: { mnist: { beta: { accuracy } } } })]);
  fs.copyFileSync(beta(97.3), path.join(dir, "02-beta.ipynb"));
  const out = path.join(dir, "results");
  const all = await reproduce({ mode: "quick", out, notebooksDir: dir, backend: "cpu" });
  assert.equal(all.ok, true);
  const alphaExecuted = fs.readFileSync(path.join(out, "notebooks", "01-alpha.ipynb"), "utf8");

  fs.copyFileSync(beta(98.1), path.join(dir, "02-beta.ipynb"));
  const partial = await reproduce({ mode: "quick", out, notebooksDir: dir, backend: "cpu", only: ["02"] });
  assert.equal(partial.ok, true);
  const summary = JSON.parse(fs.readFileSync(partial.summaryPath, "utf8"));
  assert.deepEqual(summary.notebooks.map((n: { notebook: string }) => n.notebook), ["01-alpha.ipynb", "02-beta.ipynb"]);
  assert.deepEqual(summary.notebooks[0], all.summary.notebooks[0], "the alpha record is kept as it was");
  assert.notDeepEqual(summary.notebooks[1].startedAt, all.summary.notebooks[1]!.startedAt);
  assert.deepEqual(summary.datasets, { mnist: { alpha: { accuracy: 91.4 }, beta: { accuracy: 98.1 } } });
  assert.equal(fs.readFileSync(path.join(out, "notebooks", "01-alpha.ipynb"), "utf8"), alphaExecuted);
  const report = fs.readFileSync(partial.reportPath, "utf8");
  assert.match(report, /\| 01-alpha\.ipynb \| ok \|.*\| `[^`]+` \| \d{4}-\d\d-\d\dT/);
  assert.match(report, /Alpha fragment\./);
  assert.match(report, /\| mnist\.alpha\.accuracy \| 91\.4 \|/);
  assert.match(report, /\| mnist\.beta\.accuracy \| 98\.1 \|/);
  // A summary of the other mode is not merged into.
  await assert.rejects(reproduce({ mode: "full", out, notebooksDir: dir, backend: "cpu", only: ["02"] }), /records a quick reproduction; run --only with --quick/);
});

test("--param runs a variant of one stage, recorded beside the stage as its defaults ran it", async () => {
  const first = writeFixture("01-alpha.ipynb", [writeStage("alpha", { stage: "alpha", datasets: { mnist: { alpha: { accuracy: 91.4 } } } })]);
  const dir = path.dirname(first);
  // A stage whose run folder and record depend on its parameter, as notebook 04's frontend does.
  fs.copyFileSync(writeFixture("02-beta.ipynb", [
    code('let frontend = "psf";', ["parameters"]),
    code(`const fs = require("fs"); const path = require("path");
const dir = path.join(process.env.NTKD_RUNS_DIR, "beta-" + frontend, "r1");
fs.mkdirSync(dir, { recursive: true });
const results = { stage: "beta", datasets: { mnist: { frontends: { [frontend]: { accuracy: frontend.length } } } } };
fs.writeFileSync(path.join(dir, "results.json"), JSON.stringify(results));`),
  ]), path.join(dir, "02-beta.ipynb"));
  const out = path.join(dir, "results");
  assert.equal((await reproduce({ mode: "quick", out, notebooksDir: dir, backend: "cpu" })).ok, true);
  await assert.rejects(reproduce({ mode: "quick", out, notebooksDir: dir, params: { frontend: "fourier" } }), /--param sets one stage's parameters; select exactly one stage with --only \(it selects 2\)/);
  await assert.rejects(reproduce({ mode: "quick", out, notebooksDir: dir, only: ["02"], params: { lens: 1 } }), /02-beta\.ipynb: unknown parameter "lens"/);
  const variant = await reproduce({ mode: "quick", out, notebooksDir: dir, backend: "cpu", only: ["02"], params: { frontend: "fourier" } });
  assert.equal(variant.ok, true);
  const summary = JSON.parse(fs.readFileSync(variant.summaryPath, "utf8"));
  assert.deepEqual(summary.notebooks.map((n: { notebook: string; executed: string; runs: string[] }) => [n.notebook, n.executed, n.runs]), [
    ["01-alpha.ipynb", "notebooks/01-alpha.ipynb", ["runs/alpha/r1"]],
    ["02-beta.ipynb", "notebooks/02-beta.ipynb", ["runs/beta-psf/r1"]],
    ["02-beta.ipynb [frontend=fourier]", "notebooks/02-beta.frontend-fourier.ipynb", ["runs/beta-fourier/r1"]],
  ]);
  assert.deepEqual(summary.datasets, { mnist: { alpha: { accuracy: 91.4 }, frontends: { psf: { accuracy: 3 }, fourier: { accuracy: 7 } } } });
  for (const f of ["02-beta.ipynb", "02-beta.frontend-fourier.ipynb"]) assert.ok(fs.existsSync(path.join(out, "notebooks", f)), f);
  // Rerunning the stage with its defaults keeps the variant.
  const again = await reproduce({ mode: "quick", out, notebooksDir: dir, backend: "cpu", only: ["02"] });
  assert.equal(again.summary.notebooks.length, 3);
  assert.deepEqual(stageVariant("/x/04-fab.ipynb", { seeds: [0, 1], frontend: "fourier" }), {
    notebook: "04-fab.ipynb [frontend=fourier seeds=[0,1]]", executed: "04-fab.frontend-fourier.seeds-_0_1_.ipynb",
  });
});

test("an --only reproduction that finishes while another runs keeps the other's record", async () => {
  const first = writeFixture("01-alpha.ipynb", [writeStage("alpha", { stage: "alpha", datasets: { mnist: { alpha: { accuracy: 91.4 } } } })]);
  const dir = path.dirname(first);
  const out = path.join(dir, "results");
  assert.equal((await reproduce({ mode: "quick", out, notebooksDir: dir, backend: "cpu" })).ok, true);
  // While 01 reruns, a concurrent `reproduce --only 04 --param ...` finishes and records its variant.
  fs.copyFileSync(writeFixture("01-alpha.ipynb", [
    writeStage("alpha", { stage: "alpha", datasets: { mnist: { alpha: { accuracy: 92.0 } } } }),
    code(`const fs = require("fs"); const path = require("path");
const dir = path.join(process.env.NTKD_RUNS_DIR, "gamma", "r1");
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, "results.json"), JSON.stringify({ stage: "gamma", datasets: { mnist: { gamma: { accuracy: 77 } } } }));
const file = path.join(process.env.NTKD_RUNS_DIR, "..", "summary.json");
const summary = JSON.parse(fs.readFileSync(file, "utf8"));
summary.notebooks.push({ notebook: "04-gamma.ipynb [frontend=fourier]", ok: true, seconds: 1,
  executed: "notebooks/04-gamma.frontend-fourier.ipynb", runs: ["runs/gamma/r1"], stages: ["gamma"] });
fs.writeFileSync(file, JSON.stringify(summary));`),
  ]), first);
  const rerun = await reproduce({ mode: "quick", out, notebooksDir: dir, backend: "cpu", only: ["01"] });
  assert.equal(rerun.ok, true);
  const summary = JSON.parse(fs.readFileSync(rerun.summaryPath, "utf8"));
  assert.deepEqual(summary.notebooks.map((n: { notebook: string }) => n.notebook), ["01-alpha.ipynb", "04-gamma.ipynb [frontend=fourier]"]);
  assert.deepEqual(summary.datasets, { mnist: { alpha: { accuracy: 92.0 }, gamma: { accuracy: 77 } } });
});

test("a stage added from outside (a merged study) joins the reproduction, survives --only, and overwrites nothing a notebook recorded", async () => {
  const first = writeFixture("01-alpha.ipynb", [writeStage("alpha", { stage: "alpha", datasets: { mnist: { alpha: { accuracy: 91.4 } } } })]);
  const dir = path.dirname(first);
  const out = path.join(dir, "results");
  await reproduce({ mode: "quick", out, notebooksDir: dir, backend: "cpu" });
  const addStudy = (name: string, datasets: object) => {
    const run = path.join(out, "runs", name, "quick");
    fs.mkdirSync(run, { recursive: true });
    fs.writeFileSync(path.join(run, "results.json"), JSON.stringify({ stage: "study", datasets }));
    fs.writeFileSync(path.join(run, "report.md"), `Fragment of ${name}.\n`);
    return addStageToReproduction(out, { notebook: name, ok: true, seconds: 1, executed: `runs/${name}/quick/plan.json`, runs: [`runs/${name}/quick`], stages: ["study"] });
  };
  const added = addStudy("study-fashion-mnist", { "fashion-mnist": { students: { none: { mean: 0.86 } } } });
  assert.deepEqual(added.summary.datasets, { mnist: { alpha: { accuracy: 91.4 } }, "fashion-mnist": { students: { none: { mean: 0.86 } } } });
  // Beside a notebook's data set, under a key of its own (the hardware table's frontends).
  addStudy("study-mnist-fourier", { mnist: { frontends: { fourier: { students: { none: { mean: 0.9 } } } } } });
  // The same stage again replaces its own record instead of adding a second one.
  const again = addStudy("study-fashion-mnist", { "fashion-mnist": { students: { none: { mean: 0.87 } } } });
  assert.deepEqual(again.summary.notebooks.map((n) => n.notebook), ["01-alpha.ipynb", "study-fashion-mnist", "study-mnist-fourier"]);
  assert.equal((again.summary.datasets["fashion-mnist"] as any).students.none.mean, 0.87);
  assert.equal((again.summary.datasets.mnist as any).frontends.fourier.students.none.mean, 0.9);
  const report = fs.readFileSync(again.reportPath, "utf8");
  assert.match(report, /## study-fashion-mnist/);
  assert.match(report, /Fragment of study-mnist-fourier\./);
  // A study of values a notebook already recorded is refused, and summary.json is left as it was.
  const before = fs.readFileSync(again.summaryPath, "utf8");
  assert.throws(() => addStudy("study-mnist", { mnist: { alpha: { accuracy: 50 } } }), /mnist\.alpha\.accuracy already comes from 01-alpha\.ipynb \(runs\/alpha\/r1\); merge into another --out/);
  assert.equal(fs.readFileSync(again.summaryPath, "utf8"), before);
  // An --only reproduction keeps the added stages like any stage it did not run.
  const partial = await reproduce({ mode: "quick", out, notebooksDir: dir, backend: "cpu", only: ["01"] });
  assert.equal((partial.summary.datasets["fashion-mnist"] as any).students.none.mean, 0.87);
  assert.equal((partial.summary.datasets.mnist as any).frontends.fourier.students.none.mean, 0.9);
  assert.throws(() => addStageToReproduction(path.join(dir, "nowhere"), { notebook: "x", ok: true, seconds: 0, executed: "", runs: [], stages: [] }), /summary\.json: cannot read the reproduction's summary/);
});
