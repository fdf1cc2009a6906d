/**
 * Processes that never run for nobody: every process ntkd-lab starts (notebook kernels, study
 * workers) checks that its parent and the runner still exist and, when they are gone, ends its
 * whole process group. Lives in runtime because the notebook runner and the study workers both
 * need it.
 */
import * as fs from "node:fs";

/** Env var naming the process (the `ntkd-lab` runner) whose death must end every process it started. */
export const SUPERVISOR_PID_ENV = "NTKD_SUPERVISOR_PID";
/** Env var naming the process group of a notebook kernel and everything it started (the kernel's pid). */
export const PROCESS_GROUP_ENV = "NTKD_PROCESS_GROUP";
/** How often a child checks that its parent and supervisor still exist, ms. */
const ORPHAN_CHECK_MS = 250;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // A dead process its parent has not reaped yet still answers kill(pid, 0); /proc says it is a zombie.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/**
 * Ends this process and, when it belongs to a kernel's process group ({@link PROCESS_GROUP_ENV}),
 * every process of that group: the kernel, its study workers and anything a cell started.
 */
export function endProcessTree(code = 1): never {
  const group = Number(process.env[PROCESS_GROUP_ENV]);
  if (Number.isInteger(group) && group > 1) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // no such group (started outside a kernel): ending this process is all there is to do
    }
  }
  process.exit(code);
}

/**
 * Makes a process stop when it would run for nobody: when its parent dies (it is re-parented)
 * or the runner named by {@link SUPERVISOR_PID_ENV} is gone, it calls `stop` (default: end its
 * process tree). Checked on an unref'd timer, so it fires whenever the event loop is free (between
 * batches, during awaits) and never keeps the process alive by itself.
 */
export function exitWhenOrphaned(stop: () => void = () => endProcessTree()): void {
  const parent = process.ppid;
  const supervisor = Number(process.env[SUPERVISOR_PID_ENV]);
  const timer = setInterval(() => {
    const orphaned = process.ppid !== parent || (Number.isInteger(supervisor) && supervisor > 0 && !isAlive(supervisor));
    if (orphaned) stop();
  }, ORPHAN_CHECK_MS);
  timer.unref();
}
