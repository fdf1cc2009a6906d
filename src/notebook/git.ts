import * as path from "node:path";
import { execFileSync } from "node:child_process";

/** The git commit of the checkout holding this package ("unknown" when git or the repo is absent). */
export function gitCommit(cwd = path.resolve(__dirname, "..", "..")): string {
  try {
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return "unknown";
  }
}
