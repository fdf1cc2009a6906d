/**
 * Peak memory of a process tree: a notebook's kernel and the worker processes it starts. Node
 * reports only its own peak (`process.resourceUsage().maxRSS`), and a stage's footprint is the
 * kernel plus its study workers running at the same time, so we sample the resident set of every
 * descendant from Linux's /proc and keep the largest total. Elsewhere (no /proc) nothing is sampled
 * and the peak is `undefined`, never a made-up number.
 */
import * as fs from "node:fs";

const PROC = "/proc";

/** Resident set of one process in bytes, or undefined when it is gone or unreadable. */
export function residentBytes(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`${PROC}/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Parent pid of every live process (from /proc/<pid>/stat); empty where there is no /proc. */
function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  let entries: string[];
  try {
    entries = fs.readdirSync(PROC);
  } catch {
    return parents;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`${PROC}/${name}/stat`, "utf8");
      // The command name (field 2) is in parentheses and may contain spaces: parse after the last ")".
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(name), Number(rest[1]));
    } catch {
      // The process ended between readdir and read.
    }
  }
  return parents;
}

/** `root` and every live descendant of it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentMap()) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const tree: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    tree.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Total resident set of `root` and its descendants in bytes; undefined when none can be read. */
export function treeResidentBytes(root: number): number | undefined {
  let total: number | undefined;
  for (const pid of processTree(root)) {
    const rss = residentBytes(pid);
    if (rss !== undefined) total = (total ?? 0) + rss;
  }
  return total;
}

/** Options of {@link watchPeakMemory}. */
export interface PeakMemoryOptions {
  /** Sampling period in milliseconds (default 500). Short peaks between samples are missed. */
  intervalMs?: number;
}

/** A running sampler. */
export interface PeakMemoryWatch {
  /** Ends the sampling (idempotent) and returns the peak in bytes, undefined when unmeasurable. */
  stop(): number | undefined;
}

/** Samples the tree under `root` until stopped and keeps the largest total resident set. */
export function watchPeakMemory(root: number, opts: PeakMemoryOptions = {}): PeakMemoryWatch {
  const intervalMs = opts.intervalMs ?? 500;
  if (!(intervalMs > 0)) throw new Error(`watchPeakMemory: intervalMs must be a positive number, got ${intervalMs}`);
  let peak: number | undefined;
  const sample = () => {
    const now = treeResidentBytes(root);
    if (now !== undefined && (peak === undefined || now > peak)) peak = now;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  // Sampling must not keep a finished program alive.
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
