import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { code, writeFixture } from "../notebook/fixtures";

const MAIN = path.join(__dirname, "..", "..", "src", "cli", "main.js");
const cli = (args: string[], cwd?: string) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", cwd });

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
