/**
 * Test helpers that read the process table from /proc (Linux): whether a process lives, its
 * children and descendants, and polling until a condition holds. The process-tree tests use them
 * to check that nothing a command started outlives it.
 */
import * as fs from "node:fs";

/** Whether /proc can be read here; the tests that need it skip otherwise. */
export const hasProc = fs.existsSync("/proc/self/stat");

/** Alive and not a zombie, read from /proc (a killed orphan may wait unreaped under a container's init). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Every process's parent, from /proc. */
function parentLinks(): Map<number, number> {
  const parentOf = new Map<number, number>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited while we looked
    }
  }
  return parentOf;
}

/** The live processes whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  return [...parentLinks()].filter(([child, parent]) => parent === pid && alive(child)).map(([child]) => child);
}

/** Every process below `root`, from /proc's parent links. */
export function descendants(root: number): number[] {
  const parentOf = parentLinks();
  const found: number[] = [];
  let frontier = [root];
  while (frontier.length > 0) {
    const next = [...parentOf].filter(([, ppid]) => frontier.includes(ppid)).map(([pid]) => pid);
    found.push(...next);
    frontier = next;
  }
  return found;
}

/** Polls `probe` every 50 ms until it returns a value; rejects after `timeoutMs`, naming `what`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
