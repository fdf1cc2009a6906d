import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The ntkd-lab package root: the nearest folder above this module whose package.json is named
 * "ntkd-lab". Compiled code lives at different depths (dist/, dist-test/, .build/...), so a fixed
 * number of "../" would be wrong somewhere.
 */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        if (JSON.parse(fs.readFileSync(manifest, "utf8")).name === "ntkd-lab") return dir;
      } catch {
        // an unreadable package.json further down is not ours; keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** `<package root>/data/cache/<name>`: where download scripts put data sets (git-ignored). */
export function dataCacheDir(name: string): string {
  return path.join(packageRoot(), "data", "cache", name);
}
