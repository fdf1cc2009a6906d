import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";

const MAIN = path.join(__dirname, "..", "..", "src", "cli", "main.js");

// A stand-in `jupyter` on PATH records the arguments it is started with; Jupyter itself refuses
// root without --allow-root, which is what `npm run lab` ran into in containers.
test("ntkd-lab lab starts Jupyter with --allow-root when run as root, and without it otherwise", () => {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-fake-jupyter-"));
  const log = path.join(bin, "args.log");
  fs.writeFileSync(path.join(bin, "jupyter"), `#!/bin/sh\necho "$@" >> "${log}"\nexit 0\n`, { mode: 0o755 });
  const r = spawnSync(process.execPath, [MAIN, "lab", "--", "--no-browser"], { encoding: "utf8", env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` } });
  assert.equal(r.status, 0, r.stderr);
  const started = fs.readFileSync(log, "utf8").split("\n").filter((l) => l && !l.includes("--version"));
  assert.equal(started.length, 1, `one launch expected, got ${JSON.stringify(started)}`);
  const args = started[0]!.split(" ");
  assert.equal(args[0], "lab");
  assert.ok(args.some((a) => a.startsWith("--notebook-dir=") && a.endsWith(`${path.sep}notebooks`)), started[0]);
  assert.ok(args.includes("--no-browser"), started[0]);
  assert.equal(args.includes("--allow-root"), process.getuid?.() === 0, `uid ${process.getuid?.()}: ${started[0]}`);
});

test("an --allow-root the user passes is not doubled", () => {
  const { jupyterArgs } = require("../../src/cli/kernel-commands") as typeof import("../../src/cli/kernel-commands");
  assert.deepEqual(jupyterArgs(["lab"], "/nb", ["--allow-root"], 0), ["lab", "--notebook-dir=/nb", "--allow-root"]);
  assert.deepEqual(jupyterArgs(["notebook"], "/nb", [], 1000), ["notebook", "--notebook-dir=/nb"]);
  assert.deepEqual(jupyterArgs(["lab"], "/nb", ["--port=9"], 0), ["lab", "--notebook-dir=/nb", "--allow-root", "--port=9"]);
});
