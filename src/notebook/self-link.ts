import * as fs from "node:fs";
import * as path from "node:path";

/** The root folder of the ntkd-lab package this code runs from (the folder of its package.json). */
export function packageRoot(from = __dirname): string {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, "package.json");
    if (fs.existsSync(candidate)) {
      try {
        if ((JSON.parse(fs.readFileSync(candidate, "utf8")) as { name?: string }).name === "ntkd-lab") return dir;
      } catch {
        // an unreadable package.json further down is not ours; keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`packageRoot: no package.json of ntkd-lab above ${from}`);
    dir = parent;
  }
}

/**
 * Makes `import ... from "ntkd-lab"` resolve inside this checkout's notebooks: tslab resolves
 * imports (and their types) from the notebook folder upwards through node_modules, and a package
 * cannot find itself by name there. We add node_modules/ntkd-lab -> .. once; npm may prune it on
 * install, so the kernel launcher and the runner call this every time. Leaves a real install alone.
 */
export function ensureSelfLink(root = packageRoot()): void {
  const link = path.join(root, "node_modules", "ntkd-lab");
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(link);
  } catch {
    stat = undefined;
  }
  if (stat) {
    if (!stat.isSymbolicLink()) return;
    if (path.resolve(path.dirname(link), fs.readlinkSync(link)) === root) return;
    fs.unlinkSync(link);
  }
  fs.mkdirSync(path.dirname(link), { recursive: true });
  try {
    fs.symlinkSync("..", link, "dir");
  } catch (err) {
    // Another process may have created it between our check and now.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}
