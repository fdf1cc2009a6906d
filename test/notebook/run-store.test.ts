import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openRun, listRunResults, writeFileAtomic, timestampRunId } from "../../src/notebook/run-store";
import { savefig } from "../../src/notebook/savefig";
import { scatterChart } from "../../src/viz/charts";
import { parseXml, marksOf } from "../viz/xml";

function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-runs-"));
}

test("openRun lays out config, metrics, checkpoints, figures and results", () => {
  const root = tempRoot();
  try {
    const run = openRun("ntkd-mnist", "seed0", { root });
    assert.equal(run.dir, path.join(root, "ntkd-mnist", "seed0"));
    assert.ok(fs.statSync(run.checkpointsDir).isDirectory());
    assert.ok(fs.statSync(run.figuresDir).isDirectory());
    run.writeConfig({ epochs: 2, lr: 0.01 });
    assert.deepEqual(run.readConfig(), { epochs: 2, lr: 0.01 });
    run.appendMetrics({ epoch: 0, loss: 1.5 });
    run.appendMetrics({ epoch: 1, loss: 0.7 });
    assert.deepEqual(run.readMetrics(), [{ epoch: 0, loss: 1.5 }, { epoch: 1, loss: 0.7 }]);
    assert.equal(fs.readFileSync(run.metricsPath, "utf8"), '{"epoch":0,"loss":1.5}\n{"epoch":1,"loss":0.7}\n');
    run.writeResults({ stage: "ntkd", datasets: { mnist: { ntkd: { accuracy: 97.1 } } } });
    assert.deepEqual(listRunResults(root), [{ dir: run.dir, results: { stage: "ntkd", datasets: { mnist: { ntkd: { accuracy: 97.1 } } } } }]);
    // No temp files are left behind by atomic writes.
    assert.deepEqual(fs.readdirSync(run.dir).filter((f) => f.endsWith(".tmp")), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("the run store refuses unsafe names, NaN results and malformed stage results", () => {
  const root = tempRoot();
  try {
    assert.throws(() => openRun("../escape", "a", { root }), /experiment must be a plain name/);
    assert.throws(() => openRun("ok", "a/b", { root }), /run must be a plain name/);
    const run = openRun("x", "r", { root });
    assert.throws(() => run.appendMetrics({ loss: NaN }), /field "loss" is NaN/);
    assert.throws(() => run.writeResults({ stage: "s", datasets: { mnist: { acc: Infinity } } }), /field "acc" is Infinity/);
    assert.throws(() => run.writeResults({ stage: "", datasets: {} }), /results.stage must be a non-empty string/);
    assert.throws(() => run.figurePath("../x", "svg"), /figure name must be a plain name/);
    // A method name with '+' (KD + NTKD) names its student's file; a name may not start with it.
    assert.equal(path.basename(run.checkpointPath("student-kd+ntkd-f0.1-seed0.weights")), "student-kd+ntkd-f0.1-seed0.weights");
    assert.throws(() => run.checkpointPath("+x.weights"), /checkpoint name must be a plain name/);
    assert.equal(fs.existsSync(run.resultsPath), false, "a refused write leaves no file");
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("openRun defaults: NTKD_RUNS_DIR root and a sortable timestamp run id", () => {
  const root = tempRoot();
  const saved = process.env.NTKD_RUNS_DIR;
  process.env.NTKD_RUNS_DIR = root;
  try {
    const run = openRun("exp");
    assert.equal(path.dirname(path.dirname(run.dir)), root);
    assert.match(run.run, /^\d{8}-\d{6}-\d{3}$/);
    assert.equal(timestampRunId(new Date("2026-01-02T03:04:05.678Z")), "20260102-030405-678");
  } finally {
    if (saved === undefined) delete process.env.NTKD_RUNS_DIR; else process.env.NTKD_RUNS_DIR = saved;
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("writeFileAtomic replaces a file whole", () => {
  const root = tempRoot();
  try {
    const file = path.join(root, "a", "b.json");
    writeFileAtomic(file, "one");
    writeFileAtomic(file, "two");
    assert.equal(fs.readFileSync(file, "utf8"), "two");
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ["b.json"]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("savefig writes SVG, PNG and the spec into the run's figures", async () => {
  const root = tempRoot();
  try {
    const run = openRun("figs", "r1", { root });
    const chart = scatterChart([{ x: 0, y: 1, label: "a" }, { x: 1, y: 0, label: "b" }], { width: 120, height: 90 });
    const saved = await savefig(chart, "embedding", run);
    assert.equal(saved.svgPath, path.join(run.figuresDir, "embedding.svg"));
    const svg = parseXml(fs.readFileSync(saved.svgPath, "utf8"));
    assert.equal(marksOf(svg, "symbol").length, 2);
    const png = fs.readFileSync(saved.pngPath);
    assert.equal(png.toString("ascii", 1, 4), "PNG");
    assert.equal(png.readUInt32BE(16), 2 * Number(svg.attrs.width));
    assert.deepEqual(JSON.parse(fs.readFileSync(saved.specPath, "utf8")), chart);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
