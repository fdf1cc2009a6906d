/** Shared helpers of the export tests: Debian's python3 with numpy or gdspy, and a small metasurface design. */
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import { tf } from "../../src/runtime/tf";
import { MetasurfaceFrontend, type MetasurfaceFrontendArgs } from "../../src/models/frontends/metasurface-frontend";

/** Debian's python (its python3-numpy and python3-gdspy), else whatever python3 is on PATH. */
export const PYTHON = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/** Why `module` cannot be imported by {@link PYTHON}, or null when it can (for `test(..., { skip })`). */
export function pythonModuleMissing(module: string): string | false {
  const r = spawnSync(PYTHON, ["-c", `import ${module}`], { encoding: "utf8" });
  if (r.error) return `${PYTHON} not runnable: ${r.error.message}`;
  return r.status === 0 ? false : `${PYTHON} cannot import ${module} (install python3-${module}): ${r.stderr.trim().split("\n").pop()}`;
}

/** Runs a python script with `args`; returns its stdout, throwing with stderr on failure. */
export function runPython(script: string, args: string[] = []): string {
  const r = spawnSync(PYTHON, ["-c", script, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** A small metasurface (5 kernels of 8×8 cells of 2 µm: a 3×2 grid with one empty slot), built. */
export function smallMetasurface(args: Partial<MetasurfaceFrontendArgs> = {}): MetasurfaceFrontend {
  const layer = new MetasurfaceFrontend({ kernels: 5, kernelSize: 3, inputChannels: 1, gridSize: 8, cellPitchM: 2e-6, pixelPitchM: 4e-6, distanceM: 0.3e-3, seed: 3, initNoise: 0.3, ...args });
  layer.build([null, 6, 6, 1]);
  return layer;
}

/** Overwrites the frontend's heights (waves) with `f(kernel, row, col)`. */
export function setWaves(layer: MetasurfaceFrontend, f: (j: number, r: number, c: number) => number): void {
  const G = layer.geometry.gridSize;
  const n = layer.kernelCount;
  const data = new Float32Array(n * G * G);
  for (let j = 0; j < n; j++) for (let r = 0; r < G; r++) for (let c = 0; c < G; c++) data[(j * G + r) * G + c] = f(j, r, c);
  tf.tidy(() => {
    layer.weights[0].write(tf.tensor3d(data, [n, G, G]));
  });
}
