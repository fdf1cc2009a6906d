import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { code, writeFixture } from "../notebook/fixtures";

const MAIN = path.join(__dirname, "..", "..", "src", "cli", "main.js");
const cli = (args: string[], cwd?: string, env?: NodeJS.ProcessEnv) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", cwd, env: { ...process.env, ...env } });

/** One line naming the cause, exit 2, and no stack trace. */
function assertUsageError(r: ReturnType<typeof cli>, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`);
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, `one line expected:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  assert.match(r.stderr, pattern);
}

test("ntkd-lab lists its commands and rejects unknown ones", () => {
  const help = cli(["--help"]);
  assert.equal(help.status, 0);
  for (const name of ["run", "reproduce", "kernel-install", "lab", "env"]) assert.match(help.stdout, new RegExp(`^  ${name} `, "m"));
  const unknown = cli(["frobnicate"]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const bad = cli(["run", "x.ipynb", "--param", "novalue"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--param expects name=value, got "novalue"/);
});

test("ntkd-lab run: exit 0 with outputs written; exit 1 naming cell, line and error", () => {
  const ok = writeFixture("ok.ipynb", [code("let n = 1;", ["parameters"]), code("console.log(`n is ${n * 10}`)")]);
  const out = path.join(path.dirname(ok), "done.ipynb");
  const good = cli(["run", ok, "--param", "n=4", "--out", out]);
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /n is 40/);
  const nb = JSON.parse(fs.readFileSync(out, "utf8"));
  assert.deepEqual(nb.cells[2].outputs, [{ output_type: "stream", name: "stdout", text: "n is 40\n" }]);

  const failing = writeFixture("bad.ipynb", [code("const a = 1;"), code('const b = 2;\nif (a + b === 3) throw new Error("three is not allowed");')]);
  const bad = cli(["run", failing, "--out", path.join(path.dirname(failing), "partial.ipynb")]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /cell failed in bad\.ipynb, cell 1, line 2: if \(a \+ b === 3\) throw new Error\("three is not allowed"\);/);
  assert.match(bad.stderr, /Error: three is not allowed/);
  assert.match(bad.stderr, /partial notebook: .*partial\.ipynb/);
});

test("user errors print one line naming the argument and exit 2, before any cell runs", () => {
  const dir = path.dirname(writeFixture("scratch.ipynb", []));
  const marker = path.join(dir, "first-cell-ran");
  const nb = writeFixture("p.ipynb", [code(`require("fs").writeFileSync(${JSON.stringify(marker)}, "ran");\nlet n = 1;`, ["parameters"]), code("console.log(n)")]);
  const out = ["--out", path.join(dir, "out.ipynb")];
  assertUsageError(cli(["run", nb, "--param", "lr=0.1", ...out]), /^ntkd-lab run: .*p\.ipynb: unknown parameter "lr": the parameters cell \(cell 0\) neither declares it nor mentions it/);
  assertUsageError(cli(["run", path.join(dir, "missing.ipynb"), ...out]), /missing\.ipynb: cannot read the notebook \(expected a readable \.ipynb file\): ENOENT/);
  assertUsageError(cli(["run", nb, ...out], undefined, { NTKD_BACKEND: "gpu" }), /NTKD_BACKEND="gpu" is not a backend; expected one of node, wasm, cpu/);
  assertUsageError(cli(["reproduce", "--out", path.join(dir, "results")], undefined, { NTKD_BACKEND: "gpu" }), /^ntkd-lab reproduce: NTKD_BACKEND="gpu" is not a backend/);
  // A run store or output below a plain file cannot be created, even by root.
  const plainFile = path.join(dir, "a-file");
  fs.writeFileSync(plainFile, "");
  assertUsageError(cli(["run", nb, ...out], undefined, { NTKD_RUNS_DIR: path.join(plainFile, "runs") }), /NTKD_RUNS_DIR \(the run store\): cannot write to .*a-file\/runs \(expected a writable folder\)/);
  assertUsageError(cli(["run", nb, "--out", path.join(plainFile, "out.ipynb")], undefined, { NTKD_RUNS_DIR: path.join(dir, "runs") }), /--out .*a-file\/out\.ipynb \(the executed notebook\): cannot write to/);
  // --out naming an existing folder (a user taking it for an output directory).
  assertUsageError(cli(["run", nb, "--out", dir], undefined, { NTKD_RUNS_DIR: path.join(dir, "runs") }), /--out .* \(the executed notebook\): is a folder; expected the path of an \.ipynb file/);
  assert.equal(fs.existsSync(marker), false, "no cell ran");
});

test("a data set asked for by name and not installed fails the run, naming its folder and how to get it", () => {
  const dir = path.dirname(writeFixture("scratch.ipynb", []));
  const notebook = path.join(__dirname, "..", "..", "..", "notebooks", "02-teacher.ipynb");
  const r = cli(["run", notebook, "--quiet", "--param", 'datasets=["fashion-mnist"]', "--out", path.join(dir, "02-missing.ipynb")], undefined, {
    NTKD_FASHION_MNIST_DIR: path.join(dir, "no-such-fashion-mnist"),
    NTKD_RUNS_DIR: path.join(dir, "runs"),
  });
  assert.equal(r.status, 1, `exit ${r.status}: ${r.stderr}`);
  assert.match(r.stderr, /Fashion-MNIST not found: .*no-such-fashion-mnist \(from NTKD_FASHION_MNIST_DIR\).*apt-get install dataset-fashion-mnist/);
});

test("ntkd-lab run shows the running cell's own progress (model, epoch, batch, ETA) on stderr, throttled when not a TTY", () => {
  // The compiled progress module beside this test; the fixture's kernel requires it by path.
  const progressModule = path.join(__dirname, "..", "..", "src", "notebook", "progress.js");
  const train = (title: string, from: number) =>
    code(
      `const { progress } = require(${JSON.stringify(progressModule)});\n` +
        `const bar = progress({ epochs: 3, batchesPerEpoch: 4, title: ${JSON.stringify(title)}, minIntervalMs: 0 });\n` +
        `for (let e = ${from}; e < 3; e++) for (let b = 0; b < 4; b++) { bar.update({ epoch: e, batch: b, loss: 1 / (e + 1) }); await new Promise((r) => setTimeout(r, 5)); }\n` +
        `bar.done();`,
    );
  const file = writeFixture("progress.ipynb", [train("KD student, seed 0", 1), train("NTKD student, seed 1", 0)]);
  const r = cli(["run", file, "--out", path.join(path.dirname(file), "done.ipynb")]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split("\n");
  const progressLines = lines.filter((l) => /\[[#-]+\]/.test(l));
  // Each cell's first report prints at once; the next ones within 10 s are held back (not a TTY).
  assert.equal(progressLines.length, 2, r.stderr);
  assert.match(progressLines[0]!, /^  KD student, seed 0 \[[#-]+\]\s+\d+%  epoch 2\/3  batch 1\/4  loss 0\.5\d*  ETA \S+$/);
  assert.match(progressLines[1]!, /^  NTKD student, seed 1 .*epoch 1\/3  batch 1\/4/);
  // Under its own cell's line.
  assert.ok(lines.indexOf(progressLines[0]!) > lines.findIndex((l) => /cell 0 \(1\/2\)/.test(l)));
  assert.ok(lines.indexOf(progressLines[1]!) > lines.findIndex((l) => /cell 1 \(2\/2\)/.test(l)));
  assert.doesNotMatch(r.stderr, /\r/, "no carriage returns when stderr is not a terminal");
});
