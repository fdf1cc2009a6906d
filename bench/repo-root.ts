import * as fs from "node:fs";
import * as path from "node:path";

/** The repository root: bench/ is compiled to dist-test/bench or .build/<x>/bench, its data files stay in bench/. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`bench: no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}
