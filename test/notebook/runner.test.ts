import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runNotebook, injectParameters, parseParamValue } from "../../src/notebook/runner";
import { readNotebook, cellSource } from "../../src/notebook/ipynb";
import { code, markdown, writeFixture } from "./fixtures";

test("a notebook runs top to bottom: outputs, execution counts, parameters, displays updated in place", async () => {
  const file = writeFixture("ok.ipynb", [
    markdown("# Fixture"),
    code('let epochs = 3;\nconst opts = { lr: Number(process.env.NTKD_PARAM_lr ?? "0.1") };', ["parameters"]),
    code('console.log("epochs", epochs, "lr", opts.lr);\nconsole.error("to stderr");'),
    code('const d = require("tslab").newDisplay();\nfor (let i = 0; i < 3; i++) d.text("step " + i);\nrequire("tslab").display.html("<b>done</b>");'),
    code("epochs * 2"),
    code("   "),
  ]);
  const out = path.join(path.dirname(file), "executed.ipynb");
  const result = await runNotebook(file, { params: { epochs: 5, lr: 0.01 }, out });
  assert.equal(result.ok, true, result.failure?.message);
  const nb = readNotebook(out);
  assert.deepEqual(nb, result.notebook);
  // The injected cell follows the parameters cell and redeclares the plain variable.
  assert.deepEqual(nb.cells[2]!.metadata.tags, ["injected-parameters"]);
  assert.match(cellSource(nb.cells[2]!), /let epochs = 5;/);
  assert.match(cellSource(nb.cells[2]!), /\/\/ lr = 0\.01 \(read by params\(\) from env NTKD_PARAM_lr\)/);
  assert.deepEqual(nb.cells.map((c) => c.execution_count ?? null), [null, 1, 2, 3, 4, 5, null]);
  assert.deepEqual(nb.cells[3]!.outputs, [
    { output_type: "stream", name: "stdout", text: "epochs 5 lr 0.01\n" },
    { output_type: "stream", name: "stderr", text: "to stderr\n" },
  ]);
  // Three writes to one display leave one output holding the last value.
  assert.deepEqual(nb.cells[4]!.outputs, [
    { output_type: "display_data", data: { "text/plain": "step 2" }, metadata: {} },
    { output_type: "display_data", data: { "text/html": "<b>done</b>" }, metadata: {} },
  ]);
  assert.deepEqual(nb.cells[5]!.outputs, [{ output_type: "stream", name: "stdout", text: "10\n" }]);
  assert.equal((nb.metadata.ntkd_lab as { ok: boolean }).ok, true);
});

test("the first failing cell stops the run with its index, line and error; later cells stay unexecuted", async () => {
  const file = writeFixture("fail.ipynb", [
    code("const a = 1;"),
    markdown("text"),
    code('function check(n: number) {\n  if (n > 0) {\n    throw new RangeError("n too big: " + n);\n  }\n}\nconst b = 2;\ncheck(a + b);'),
    code('console.log("never runs")'),
  ]);
  const result = await runNotebook(file, { out: path.join(path.dirname(file), "out.ipynb") });
  assert.equal(result.ok, false);
  const f = result.failure!;
  assert.equal(f.kind, "error");
  assert.equal(f.cellIndex, 2);
  assert.equal(f.line, 3);
  assert.equal(f.sourceLine?.trim(), 'throw new RangeError("n too big: " + n);');
  assert.equal(f.ename, "RangeError");
  assert.equal(f.evalue, "n too big: 3");
  assert.match(f.message, /fail\.ipynb, cell 2, line 3: throw new RangeError/);
  const nb = readNotebook(result.outPath);
  const errOut = nb.cells[2]!.outputs!.at(-1)!;
  assert.equal(errOut.output_type, "error");
  assert.equal(nb.cells[3]!.execution_count, null);
  assert.deepEqual(nb.cells[3]!.outputs, []);
});

test("a TypeScript error is reported with its line before anything runs", async () => {
  const file = writeFixture("types.ipynb", [code('const n: number = 1;\nconst s: string = n;\nconsole.log("ran")')]);
  const result = await runNotebook(file, { out: path.join(path.dirname(file), "out.ipynb") });
  assert.equal(result.failure?.kind, "error");
  assert.equal(result.failure?.line, 2);
  assert.match(result.failure!.evalue, /Type 'number' is not assignable to type 'string'/);
  assert.deepEqual(result.notebook.cells[0]!.outputs!.filter((o) => o.output_type === "stream"), []);
});

test("a cell past its timeout stops the kernel and keeps the partial notebook", async () => {
  const file = writeFixture("slow.ipynb", [code('console.log("first")'), code("while (true) {}"), code('console.log("after")')]);
  const result = await runNotebook(file, { timeoutS: 1.5, out: path.join(path.dirname(file), "out.ipynb") });
  assert.equal(result.failure?.kind, "timeout");
  assert.equal(result.failure?.cellIndex, 1);
  assert.match(result.failure!.message, /cell timed out in slow\.ipynb, cell 1/);
  const nb = readNotebook(result.outPath);
  assert.deepEqual(nb.cells[0]!.outputs, [{ output_type: "stream", name: "stdout", text: "first\n" }]);
  assert.equal(nb.cells[1]!.outputs![0]!.output_type, "error");
  assert.equal(nb.cells[2]!.execution_count, null);
});

test("a kernel that dies is reported with its exit code and last output", async () => {
  const file = writeFixture("crash.ipynb", [code('console.log("before")'), code('process.stdout.write("bye\\n");\nsetTimeout(() => process.exit(7), 50);\nawait new Promise((r) => setTimeout(r, 5000));')]);
  const result = await runNotebook(file, { out: path.join(path.dirname(file), "out.ipynb") });
  assert.equal(result.failure?.kind, "kernel-died");
  assert.equal(result.failure?.cellIndex, 1);
  assert.match(result.failure!.evalue, /exited with code 7/);
  const nb = readNotebook(result.outPath);
  assert.deepEqual(nb.cells[0]!.outputs, [{ output_type: "stream", name: "stdout", text: "before\n" }]);
  assert.equal(nb.cells[1]!.outputs!.at(-1)!.output_type, "error");
});

test("parameter injection refuses unknown names and notebooks without a parameters cell", () => {
  const nb = readNotebook(writeFixture("p.ipynb", [code("let epochs = 1;", ["parameters"])]));
  assert.throws(() => injectParameters(nb, { lr: 1 }, "p.ipynb"), /unknown parameter "lr"/);
  const plain = readNotebook(writeFixture("q.ipynb", [code("let epochs = 1;")]));
  assert.throws(() => injectParameters(plain, { epochs: 2 }, "q.ipynb"), /no code cell is tagged "parameters"/);
  assert.equal(parseParamValue("5"), 5);
  assert.equal(parseParamValue("true"), true);
  assert.equal(parseParamValue("mnist"), "mnist");
  assert.deepEqual(parseParamValue("[1,2]"), [1, 2]);
});

test("bad notebook files are refused with the file name", async () => {
  const file = writeFixture("bad.ipynb", []);
  fs.writeFileSync(file, "{ not json");
  await assert.rejects(runNotebook(file), /bad\.ipynb: not valid JSON/);
});

test("an exception thrown in a timer after its cell returned fails the run and names that cell", async () => {
  const file = writeFixture("late.ipynb", [
    code('setTimeout(() => { throw new Error("late boom"); }, 100);\nconsole.log("returned");'),
    code('await new Promise((r) => setTimeout(r, 3000));\nconsole.log("second finished")'),
    code('console.log("never runs")'),
  ]);
  const result = await runNotebook(file, { out: path.join(path.dirname(file), "out.ipynb") });
  assert.equal(result.ok, false);
  assert.equal(result.failure?.kind, "error");
  assert.equal(result.failure?.cellIndex, 0);
  assert.match(result.failure!.message, /^cell failed after it returned in late\.ipynb, cell 0 \(noticed while cell 1 ran\)\nError: uncaught exception \(thrown in a timer or callback\): late boom$/);
  const nb = readNotebook(result.outPath);
  assert.equal(nb.cells[0]!.outputs!.at(-1)!.output_type, "error");
  assert.equal(nb.cells[2]!.execution_count, null);
  assert.equal((nb.metadata.ntkd_lab as { ok: boolean }).ok, false);
});

test("a promise rejection nobody awaits, in the last cell, fails the run and names the cell", async () => {
  const file = writeFixture("reject.ipynb", [code('console.log("first")'), code('Promise.reject(new RangeError("nobody awaited me"));\nconsole.log("returned");')]);
  const result = await runNotebook(file, { out: path.join(path.dirname(file), "out.ipynb") });
  assert.equal(result.ok, false);
  assert.equal(result.failure?.cellIndex, 1);
  assert.equal(result.failure?.ename, "RangeError");
  assert.match(result.failure!.message, /reject\.ipynb, cell 1, line 1: Promise\.reject\(new RangeError\("nobody awaited me"\)\);\nRangeError: unhandled promise rejection \(a promise nobody awaited\): nobody awaited me/);
});
