import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { runNotebook } from "../../src/notebook/runner";
import { code, writeFixture } from "./fixtures";
import { alive, descendants, hasProc, waitFor } from "../processes";

const MAIN = path.join(__dirname, "..", "..", "src", "cli", "main.js");
const WORKERS = path.join(__dirname, "..", "..", "src", "runtime", "process-tree.js");

/**
 * A cell that starts a long-lived child (a plain sleeper, or one guarded like a study worker),
 * records the kernel's and the child's pids, then waits (awaiting) or spins (blocking the kernel).
 */
function fixture(marker: string, child: "sleeper" | "worker", then: "await" | "spin") {
  const script = child === "sleeper" ? "setInterval(() => {}, 1000)" : `require(${JSON.stringify(WORKERS)}).exitWhenOrphaned(); setInterval(() => {}, 1000)`;
  return writeFixture("tree.ipynb", [
    code(
      `const { spawn } = require("child_process");\n` +
      `const child = spawn(process.execPath, ["-e", ${JSON.stringify(script)}], { stdio: "ignore" });\n` +
      `await new Promise((r) => setTimeout(r, 300));\n` +
      `require("fs").writeFileSync(${JSON.stringify(marker)}, JSON.stringify({ kernel: process.pid, child: child.pid }));\n` +
      (then === "await" ? "await new Promise((r) => setTimeout(r, 60000));" : "while (true) {}"),
    ),
  ]);
}

/** Starts `ntkd-lab run` on the fixture, kills it with `signal` mid-cell, returns what was left alive after 2 s. */
async function killRunner(signal: NodeJS.Signals, child: "sleeper" | "worker", then: "await" | "spin") {
  const dir = path.dirname(writeFixture("scratch.ipynb", []));
  const marker = path.join(dir, "pids.json");
  const file = fixture(marker, child, then);
  const runner = spawn(process.execPath, [MAIN, "run", file, "--out", path.join(dir, "out.ipynb"), "--quiet"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NTKD_RUNS_DIR: path.join(dir, "runs") } });
  let stderr = "";
  runner.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => runner.on("exit", (code, sig) => resolve({ code, signal: sig })));
  let tree: number[] = [];
  try {
    const pids = await waitFor(`the cell to start its child`, 30_000, () =>
      fs.existsSync(marker) ? (JSON.parse(fs.readFileSync(marker, "utf8")) as { kernel: number; child: number }) : undefined,
    );
    tree = descendants(runner.pid!);
    assert.ok(tree.includes(pids.kernel) && tree.includes(pids.child), `kernel ${pids.kernel} and child ${pids.child} are below the runner: ${tree}`);
    runner.kill(signal);
    const exit = await exited;
    const survivors = await waitFor("", 2000, () => (tree.some(alive) ? undefined : [])).catch(() => tree.filter(alive));
    return { exit, survivors, stderr };
  } catch (err) {
    runner.kill("SIGKILL");
    throw new Error(`${(err as Error).message}; runner stderr:\n${stderr}`);
  } finally {
    // Leave nothing behind, whatever the outcome.
    for (const pid of [...tree, ...descendants(runner.pid!)]) if (alive(pid)) process.kill(pid, "SIGKILL");
  }
}

test("killing the runner (SIGTERM, SIGINT, SIGKILL) leaves no process it started alive after 2 s", { skip: !hasProc && "needs /proc" }, async () => {
  const [term, int, killAwaiting, killSpinning] = await Promise.all([
    killRunner("SIGTERM", "sleeper", "await"),
    killRunner("SIGINT", "sleeper", "await"),
    // SIGKILL cannot be handled: the kernel notices its parent is gone while the cell awaits...
    killRunner("SIGKILL", "sleeper", "await"),
    // ...and when the cell blocks the kernel, a study worker notices and ends the whole group.
    killRunner("SIGKILL", "worker", "spin"),
  ]);
  assert.deepEqual(term.survivors, [], `SIGTERM left ${term.survivors}`);
  assert.equal(term.exit.code, 143);
  assert.match(term.stderr, /SIGTERM: stopped the notebook kernel/);
  assert.deepEqual(int.survivors, [], `SIGINT left ${int.survivors}`);
  assert.equal(int.exit.code, 130);
  assert.deepEqual(killAwaiting.survivors, [], `SIGKILL (awaiting cell) left ${killAwaiting.survivors}`);
  assert.deepEqual(killSpinning.survivors, [], `SIGKILL (blocking cell with a worker) left ${killSpinning.survivors}`);
});

test("a runner whose parent dies without a signal (npm start killed) stops with every process it started within 2 s", { skip: !hasProc && "needs /proc" }, async () => {
  const dir = path.dirname(writeFixture("scratch.ipynb", []));
  const marker = path.join(dir, "pids.json");
  const file = fixture(marker, "sleeper", "await");
  // A stand-in for npm: starts the runner, then is killed with SIGKILL (it cannot pass anything on).
  const wrapperScript =
    `const r = require("child_process").spawn(process.execPath, ${JSON.stringify([MAIN, "run", file, "--out", path.join(dir, "out.ipynb"), "--quiet"])}, { stdio: "ignore" });\n` +
    `process.stdout.write(String(r.pid) + "\\n"); setInterval(() => {}, 1000);`;
  const wrapper = spawn(process.execPath, ["-e", wrapperScript], { stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, NTKD_RUNS_DIR: path.join(dir, "runs") } });
  let out = "";
  wrapper.stdout.on("data", (d: Buffer) => (out += d.toString()));
  let tree: number[] = [];
  try {
    const runner = await waitFor("the runner's pid", 10_000, () => (out.includes("\n") ? Number(out.trim()) : undefined));
    const pids = await waitFor("the cell to start its child", 30_000, () =>
      fs.existsSync(marker) ? (JSON.parse(fs.readFileSync(marker, "utf8")) as { kernel: number; child: number }) : undefined,
    );
    tree = [runner, ...descendants(runner)];
    assert.ok(tree.includes(pids.kernel) && tree.includes(pids.child), `kernel ${pids.kernel} and child ${pids.child} are below the runner: ${tree}`);
    wrapper.kill("SIGKILL");
    const survivors = await waitFor("", 2000, () => (tree.some(alive) ? undefined : [])).catch(() => tree.filter(alive));
    assert.deepEqual(survivors, [], `the orphaned runner left ${survivors} alive`);
  } finally {
    if (wrapper.exitCode === null) wrapper.kill("SIGKILL");
    for (const pid of tree) if (alive(pid)) process.kill(pid, "SIGKILL");
  }
});

test("a cell past its timeout is stopped with every process it started", { skip: !hasProc && "needs /proc" }, async () => {
  const dir = path.dirname(writeFixture("scratch.ipynb", []));
  const marker = path.join(dir, "pids.json");
  const file = fixture(marker, "sleeper", "spin");
  const result = await runNotebook(file, { timeoutS: 3, out: path.join(dir, "out.ipynb"), env: { NTKD_RUNS_DIR: path.join(dir, "runs") } });
  assert.equal(result.failure?.kind, "timeout");
  const pids = JSON.parse(fs.readFileSync(marker, "utf8")) as { kernel: number; child: number };
  const left = await waitFor("", 1000, () => ([pids.kernel, pids.child].some(alive) ? undefined : [])).catch(() => [pids.kernel, pids.child].filter(alive));
  for (const pid of left) process.kill(pid, "SIGKILL");
  assert.deepEqual(left, [], "the cell's child outlived the timeout");
});
