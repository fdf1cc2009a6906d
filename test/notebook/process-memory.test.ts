import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { spawn } from "node:child_process";
import { processTree, residentBytes, treeResidentBytes, watchPeakMemory } from "../../src/notebook/process-memory";

const hasProc = fs.existsSync("/proc/self/status");
const MiB = 2 ** 20;

/**
 * A parent that starts a child; the child fills (touches) `childMiB` of memory, then both wait
 * until killed. Touching every page makes it resident, so RSS must rise by about that much.
 */
function startTree(childMiB: number): Promise<{ parent: ReturnType<typeof spawn>; childPid: number; stop: () => void }> {
  const child = `const b = Buffer.alloc(${childMiB} * 2 ** 20, 1); process.stdout.write("filled\\n"); setInterval(() => b[0]++, 1000);`;
  const parentCode = `const c = require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(child)}], { stdio: ["ignore", "pipe", "ignore"] });
    c.stdout.on("data", () => process.stdout.write(c.pid + "\\n")); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ["-e", parentCode], { stdio: ["ignore", "pipe", "ignore"] });
  return new Promise((resolve, reject) => {
    parent.stdout!.once("data", (d: Buffer) => {
      const childPid = Number(d.toString().trim());
      // Kill the child as well: an orphan would outlive the test.
      const stop = () => { for (const pid of [childPid, parent.pid!]) try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ } };
      resolve({ parent, childPid, stop });
    });
    parent.once("exit", (code) => reject(new Error(`test parent exited early (${code})`)));
  });
}

test("the process tree of a pid holds its children and grandchildren", { skip: !hasProc && "no /proc" }, async () => {
  const { parent, childPid, stop } = await startTree(1);
  try {
    const tree = processTree(parent.pid!);
    assert.ok(tree.includes(parent.pid!), "the root is in its own tree");
    assert.ok(tree.includes(childPid), `child ${childPid} is in the tree ${tree}`);
    assert.ok(!processTree(childPid).includes(parent.pid!), "a parent is not in its child's tree");
  } finally {
    stop();
  }
});

test("the peak resident memory of a tree counts memory a child touched", { skip: !hasProc && "no /proc" }, async () => {
  const fill = 200;
  const watch = watchPeakMemory(process.pid, { intervalMs: 50 });
  const { parent, childPid, stop } = await startTree(fill);
  try {
    const child = residentBytes(childPid)!;
    assert.ok(child >= fill * MiB, `the child holds ${(child / MiB).toFixed(0)} MiB after filling ${fill} MiB`);
    const tree = treeResidentBytes(parent.pid!)!;
    assert.ok(tree >= child + residentBytes(parent.pid!)! * 0.9, "the tree total includes the child and its parent");
    await new Promise((r) => setTimeout(r, 120));
    // The watch runs on this test process: its tree holds the parent and child started above.
    const peak = watch.stop()!;
    assert.ok(peak >= residentBytes(process.pid)! + fill * MiB * 0.95, `peak ${(peak / MiB).toFixed(0)} MiB includes the ${fill} MiB child`);
  } finally {
    watch.stop();
    stop();
  }
});

test("a process that does not exist has no resident memory, and a bad interval is refused", () => {
  assert.equal(residentBytes(2 ** 30), undefined);
  assert.throws(() => watchPeakMemory(process.pid, { intervalMs: 0 }), /intervalMs must be a positive number, got 0/);
});
