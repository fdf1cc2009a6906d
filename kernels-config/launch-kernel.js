#!/usr/bin/env node
// The "TypeScript (ntkd-lab)" Jupyter kernel: the project's pinned tslab, started in-process with
// ntkd-lab's environment. kernel.json (written by `npm run kernel:install`) runs:
//   node <repo>/kernels-config/launch-kernel.js --mode=quick [--backend=wasm] --config-path {connection_file}
// --mode/--backend are defaults only: NTKD_MODE / NTKD_BACKEND set by the caller (ntkd-lab
// reproduce, a shell) win. Plain JavaScript so the kernel starts even before `npm run build`.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
let configPath = "";
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--config-path") configPath = args[++i] || "";
  else if (a.startsWith("--config-path=")) configPath = a.slice("--config-path=".length);
  else if (a.startsWith("--mode=")) process.env.NTKD_MODE = process.env.NTKD_MODE || a.slice("--mode=".length);
  else if (a.startsWith("--backend=")) process.env.NTKD_BACKEND = process.env.NTKD_BACKEND || a.slice("--backend=".length);
  else {
    process.stderr.write(`launch-kernel.js: unknown argument ${a}\n`);
    process.exit(2);
  }
}
// Jupyter starts kernels in the notebook's folder; keep run stores in one place per checkout.
process.env.NTKD_RUNS_DIR = process.env.NTKD_RUNS_DIR || path.join(root, "runs");
if (!configPath) {
  process.stderr.write("launch-kernel.js: --config-path <connection file> is required (Jupyter passes it)\n");
  process.exit(2);
}

// Notebooks import the toolkit by name; make node_modules/ntkd-lab point at this checkout
// (the same rule as src/notebook/self-link.ts, which the runner uses).
const link = path.join(root, "node_modules", "ntkd-lab");
try {
  const stat = fs.lstatSync(link, { throwIfNoEntry: false });
  if (!stat) fs.symlinkSync("..", link, "dir");
} catch (err) {
  process.stderr.write(`launch-kernel.js: could not link node_modules/ntkd-lab: ${err.message}\n`);
}
if (!fs.existsSync(path.join(root, "dist", "index.js"))) {
  process.stderr.write(`launch-kernel.js: ${path.join(root, "dist")} is missing; run \`npm run build\` in ${root} so notebooks can import "ntkd-lab"\n`);
}

const tslabMain = require.resolve("tslab/dist/main.js", { paths: [root] });
require(tslabMain).startKernel({ configPath, enableFindLocal: false, jsKernel: false });
