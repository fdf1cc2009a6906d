import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { initBackend } from "../../src/runtime/backend";
import { openRun } from "../../src/notebook/run-store";
import { buildCompressedMetaOnn } from "../../src/models/students";
import { MetasurfaceFrontend } from "../../src/models/frontends/metasurface-frontend";
import { trainStudent } from "../../src/train/api";
import { saveWeights } from "../../src/experiments/model-files";
import { frontendRecord } from "../../src/export/design-record";
import { metasurfaceHeightMap } from "../../src/export/heightmap";
import { decodeNpy } from "../../src/export/npy";
import type { ImageDataset } from "../../src/data/types";
import { pythonModuleMissing, runPython } from "./helpers";

const MAIN = path.join(__dirname, "..", "..", "src", "cli", "main.js");
const cli = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });

function tinyData(count: number, seed: number): ImageDataset {
  const images = new Float32Array(count * 6 * 6);
  let s = seed;
  for (let i = 0; i < images.length; i++) { s = (s * 1103515245 + 12345) % 2147483648; images[i] = s / 2147483648; }
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 2);
  return { name: "tiny", images, labels, count, height: 6, width: 6, channels: 1, classNames: ["a", "b"] };
}

test("ntkd-lab export writes the GDSII and height map of a trained metasurface student from a run store", { skip: pythonModuleMissing("gdspy") }, async () => {
  await initBackend({ backend: "cpu" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-export-cli-"));
  const run = openRun("models-tiny", "quick", { root });
  const frontend = new MetasurfaceFrontend({ kernels: 4, kernelSize: 3, inputChannels: 1, gridSize: 8, cellPitchM: 2e-6, pixelPitchM: 4e-6, distanceM: 0.3e-3, seed: 2, quantizationLevels: 4 });
  const student = buildCompressedMetaOnn({ frontend, inputShape: [6, 6, 1], numClasses: 2, hidden: 4, poolSize: 2, seed: 2 });
  const before = Float32Array.from(frontend.weights[0].read().dataSync() as Float32Array);
  await trainStudent({ student, method: "none", train: tinyData(16, 1), epochs: 1, batchSize: 8, learningRate: 0.05, seed: 2 });
  const after = frontend.weights[0].read().dataSync() as Float32Array;
  assert.ok(after.some((v, i) => v !== before[i]), "training moved the heights");
  saveWeights(run.checkpointPath("student-meta-seed2.weights"), student.model.weights, { frontend: frontendRecord(student) });
  const expected = metasurfaceHeightMap(frontend, { levels: 4, imageSize: [6, 6] });
  student.dispose();

  const out = path.join(root, "out");
  const r = cli(["export", run.dir, "--format", "gds,npy", "--levels", "4", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(out).sort(), ["design.json", "heightmap.npy", "metasurface.gds"]);
  const npy = decodeNpy(fs.readFileSync(path.join(out, "heightmap.npy")));
  assert.deepEqual(Array.from(npy.data), Array.from(expected.heightsM), "the exported heights are the trained ones");
  const seen = JSON.parse(runPython(
    "import sys, json, gdspy\n" +
    "lib = gdspy.GdsLibrary(infile=sys.argv[1])\n" +
    "top = lib.top_level()[0]\n" +
    "polys = top.get_polygons(by_spec=True)\n" +
    "print(json.dumps({'cells': sorted(lib.cell_dict.keys()), 'bbox': top.get_bounding_box().tolist(), 'counts': {str(int(k[0])): len(v) for k, v in polys.items()}}))",
    [path.join(out, "metasurface.gds")],
  ));
  assert.deepEqual(seen.cells, ["KERNEL_000", "KERNEL_001", "KERNEL_002", "KERNEL_003", "METASURFACE"]);
  // 2×2 kernels of 16 µm; the default gap keeps the (6 + 3 − 1)·4 µm = 32 µm sensor tiles apart: 16 µm.
  assert.deepEqual(seen.bbox.flat().map((v: number) => Math.round(v * 1000) / 1000), [0, 0, 48, 48]);
  const used = new Set(Array.from(expected.levelIndex!).filter((l) => l >= 0));
  assert.deepEqual(Object.keys(seen.counts).map(Number).sort(), [...used].map((l) => l + 1).sort());
  const sidecar = JSON.parse(fs.readFileSync(path.join(out, "design.json"), "utf8"));
  assert.equal(sidecar.levels, 4);
  assert.equal(sidecar.files.gds.topCell, "METASURFACE");

  // Bad input: one line naming the argument, exit 2.
  for (const [args, pattern] of [
    [["export", run.dir, "--format", "tiff"], /--format must be one of npy, png, csv, gds, got "tiff"/],
    [["export", run.dir, "--format", "gds", "--levels", "1"], /--levels must be an integer from 2 to 255, got "1"/],
    [["export", path.join(root, "nowhere"), "--format", "npy"], /nowhere does not exist \(expected a run-store folder or a checkpoint file\)/],
    [["export", run.dir, "--format", "npy", "--model", "nope"], /--model nope is not in/],
    [["export", run.dir, "--format", "gds", "--spacing-um", "0"], /--spacing-um 0: kernelLayout: sensor tiles of 32 µm overlap/],
  ] as [string[], RegExp][]) {
    const bad = cli(args);
    assert.equal(bad.status, 2, `${args.join(" ")}: exit ${bad.status}: ${bad.stderr}`);
    assert.equal(bad.stderr.trimEnd().split("\n").length, 1, bad.stderr);
    assert.match(bad.stderr, pattern);
  }
});

test("ntkd-lab export of a distillation study's PSF student: PSFs as NPY from its configKey; gds refused with exit 2", async () => {
  await initBackend({ backend: "cpu" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-export-psf-"));
  const run = openRun("models-mnist", "quick", { root });
  const student = buildCompressedMetaOnn({ seed: 5 });
  const file = run.checkpointPath("student-ntkd-seed5.weights");
  saveWeights(file, student.model.weights, { configKey: JSON.stringify({ dataset: "mnist", what: "student", method: "ntkd", seed: 5 }) });
  saveWeights(run.checkpointPath("teacher.weights"), student.model.weights, {});
  const kernels = student.frontend.opticalKernels();
  student.dispose();
  const out = path.join(root, "psf");
  const r = cli(["export", file, "--format", "npy", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  const npy = decodeNpy(fs.readFileSync(path.join(out, "psfs.npy")));
  assert.deepEqual(npy.shape, [7, 7, 1, 8]);
  // The child runs the default backend, this test cpu: the same weights, float32 rounding apart.
  npy.data.forEach((v, i) => assert.ok(Math.abs(v - kernels.values[i]) < 1e-6, `value ${i}: ${v} vs ${kernels.values[i]}`));
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, "design.json"), "utf8")).hasHeightMap, false);
  // The run folder holds a teacher and one student: the student is chosen.
  const gds = cli(["export", run.dir, "--format", "gds"]);
  assert.equal(gds.status, 2, gds.stderr);
  assert.equal(gds.stderr.trimEnd().split("\n").length, 1, gds.stderr);
  assert.match(gds.stderr, /--format gds: gds need a height map, and a PsfConvFrontend has none/);
});
