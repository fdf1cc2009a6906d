import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../src/runtime/tf";
import { metasurfaceHeightMap } from "../../src/export/heightmap";
import { exportDesign } from "../../src/export/export-design";
import { readPng16 } from "../../src/export/png16";
import { decodeNpy } from "../../src/export/npy";
import { PsfConvFrontend } from "../../src/models/frontends/psf-conv";
import { pythonModuleMissing, runPython, setWaves, smallMetasurface } from "./helpers";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-export-"));

test("N-level quantisation: exactly N heights k·λ/((n−1)N), equal to the frontend's own fabricated heights", () => {
  const levels = 4;
  const layer = smallMetasurface({ quantizationLevels: levels, refractiveIndex: 1.46, designWavelengthM: 532e-9 });
  const G = 8;
  // Waves spread over several periods (negative too) so that wrap and rounding both act.
  setWaves(layer, (j, r, c) => -1.3 + 0.37 * j + 0.11 * r + 0.053 * c);
  const map = metasurfaceHeightMap(layer, { levels });
  const allowed = Array.from({ length: levels }, (_, k) => (k * 532e-9) / ((1.46 - 1) * levels));
  const inKernels = map.kernels.flatMap((k) => Array.from({ length: G * G }, (_, i) => map.heightsM[(k.mapRow + Math.floor(i / G)) * map.cols + k.mapCol + (i % G)]));
  assert.deepEqual([...new Set(inKernels)].sort((a, b) => a - b), allowed, "every level used, no other value");
  const fabricated = tf.tidy(() => layer.heightsM().dataSync());
  map.kernels.forEach((k) => {
    for (let i = 0; i < G * G; i++) {
      const mine = map.heightsM[(k.mapRow + Math.floor(i / G)) * map.cols + k.mapCol + (i % G)];
      assert.ok(Math.abs(mine - fabricated[k.index * G * G + i]) < 1e-12, `kernel ${k.index} cell ${i}: ${mine} vs ${fabricated[k.index * G * G + i]}`);
    }
  });
  // Hand cases: 0.9 waves with 4 levels rounds to level 4 ≡ 0; 0.6 to level 2; the tie 0.625
  // (2.5 steps) goes to even level 2, as tf.round does in training.
  setWaves(layer, (j, r, c) => (r === 0 && c === 0 ? 0.9 : c === 2 ? 0.625 : 0.6));
  const hand = metasurfaceHeightMap(layer, { levels: 4 });
  assert.equal(hand.levelIndex![0], 0);
  assert.equal(hand.levelIndex![1], 2);
  assert.equal(hand.heightsM[1], (2 * 532e-9) / ((1.46 - 1) * 4));
  assert.equal(hand.levelIndex![2], 2);
  assert.throws(() => metasurfaceHeightMap(layer, { levels: 1 }), /levels must be an integer >= 2/);
});

test("the kernels sit on Eq. 1's grid: 5 kernels → 3×2, pitch k + d, spacing rounded up to whole cells, background −1", () => {
  const layer = smallMetasurface();
  const map = metasurfaceHeightMap(layer, { levels: 8, spacingM: 3e-6 });
  assert.equal(map.spacingCells, 2);
  assert.equal(map.spacingM, 4e-6);
  assert.equal(map.layout.columns, 3);
  assert.equal(map.layout.rows, 2);
  assert.equal(map.cols, 3 * 8 + 2 * 2);
  assert.equal(map.rows, 2 * 8 + 2);
  assert.ok(Math.abs(map.widthM - (3 * 16e-6 + 2 * 4e-6)) < 1e-18);
  assert.deepEqual(map.kernels.map((k) => [k.mapRow, k.mapCol]), [[0, 0], [0, 10], [0, 20], [10, 0], [10, 10]]);
  assert.ok(Math.abs(map.kernels[0].xM - -(16e-6 + 4e-6)) < 1e-18, "centred grid");
  assert.equal(map.levelIndex![8], -1, "gap column");
  assert.equal(map.levelIndex![(10 + 3) * map.cols + 25], -1, "empty sixth slot");
  // Default spacing from the sensor tiles: (6 + 3 − 1)·4 µm = 32 µm tile, k = 16 µm → d = 16 µm.
  assert.equal(metasurfaceHeightMap(layer, { levels: 8, imageSize: [6, 6] }).spacingCells, 8);
});

test("16-bit PNG: read back with sharp, values exact, levels on whole grey steps; NPY holds the metres", async () => {
  const layer = smallMetasurface({ quantizationLevels: 8 });
  const dir = tmp();
  const out = await exportDesign(layer, { formats: ["png", "npy", "csv"], outDir: dir });
  const map = out.heightMap!;
  const png = await readPng16(path.join(dir, "heightmap.png"));
  assert.equal(png.width, map.cols);
  assert.equal(png.height, map.rows);
  const header = fs.readFileSync(path.join(dir, "heightmap.png"));
  assert.equal(header[24], 16, "bit depth 16");
  assert.equal(header[25], 0, "colour type 0 (grey)");
  const step = Math.floor(65535 / 7);
  png.values.forEach((v, i) => assert.equal(v, Math.max(0, map.levelIndex![i]) * step));
  const sidecar = JSON.parse(fs.readFileSync(path.join(dir, "design.json"), "utf8"));
  const perValue = (sidecar.files.png as { metresPerValue: number }).metresPerValue;
  png.values.forEach((v, i) => assert.ok(Math.abs(v * perValue - map.heightsM[i]) < 1e-15));
  const npy = decodeNpy(fs.readFileSync(path.join(dir, "heightmap.npy")));
  assert.deepEqual(npy.shape, [map.rows, map.cols]);
  assert.deepEqual(Array.from(npy.data), Array.from(map.heightsM));
  const csv = fs.readFileSync(path.join(dir, "heightmap.csv"), "utf8").trim().split("\n").map((l) => l.split(",").map(Number));
  assert.deepEqual(csv.flat(), Array.from(map.heightsM));
  assert.equal(sidecar.pixelPitchM, 2e-6);
  assert.equal(sidecar.levels, 8);
  assert.equal(sidecar.layout.kernels.length, 5);
});

test("a PSF frontend exports PSFs, says it has no height map, and refuses gds", async () => {
  const layer = new PsfConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, seed: 1 });
  layer.build([null, 6, 6, 1]);
  const dir = tmp();
  const out = await exportDesign(layer, { formats: ["npy", "csv"], outDir: dir });
  assert.equal(out.sidecar.hasHeightMap, false);
  const k = layer.opticalKernels();
  const npy = decodeNpy(fs.readFileSync(path.join(dir, "psfs.npy")));
  assert.deepEqual(npy.shape, [3, 3, 1, 2]);
  assert.deepEqual(Array.from(npy.data), Array.from(k.values));
  await assert.rejects(exportDesign(layer, { formats: ["gds"], outDir: dir }), /gds need a height map, and a PsfConvFrontend has none/);
});

const noGdspy = pythonModuleMissing("gdspy");
test("GDSII round trip through gdspy: cell names, one layer per level used, polygons and bounding box of the design", { skip: noGdspy }, async () => {
  const layer = smallMetasurface();
  const levels = 4;
  const dir = tmp();
  const out = await exportDesign(layer, { formats: ["gds"], outDir: dir, levels, spacingM: 4e-6 });
  const map = out.heightMap!;
  const seen = JSON.parse(runPython(
    "import sys, json, gdspy\n" +
    "lib = gdspy.GdsLibrary(infile=sys.argv[1])\n" +
    "top = lib.top_level()\n" +
    "polys = top[0].get_polygons(by_spec=True)\n" +
    "print(json.dumps({'unit': lib.unit, 'precision': lib.precision, 'cells': sorted(lib.cell_dict.keys()), 'top': [c.name for c in top],\n" +
    "  'bbox': top[0].get_bounding_box().tolist(), 'layers': {str(int(k[0])): [p.tolist() for p in v] for k, v in polys.items()}, 'datatypes': sorted({int(k[1]) for k in polys})}))",
    [path.join(dir, "metasurface.gds")],
  ));
  assert.equal(seen.unit, 1e-6);
  assert.equal(seen.precision, 1e-9);
  assert.deepEqual(seen.top, ["METASURFACE"]);
  assert.deepEqual(seen.cells, ["KERNEL_000", "KERNEL_001", "KERNEL_002", "KERNEL_003", "KERNEL_004", "METASURFACE"]);
  assert.deepEqual(seen.datatypes, [0]);
  // Bounding box: the metasurface, 3×16 + 2×4 µm wide and 2×16 + 4 µm high, lower-left at the origin.
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;
  const bbox = seen.bbox as number[][];
  assert.ok(close(bbox[0][0], 0) && close(bbox[0][1], 0) && close(bbox[1][0], 56) && close(bbox[1][1], 36), JSON.stringify(bbox));
  // Independent truth from the height map: which levels occur, how many row runs each has, and
  // that each rectangle covers exactly cells of its level (checked at every cell centre).
  const used = new Set<number>();
  const runs = new Map<number, number>();
  for (let r = 0; r < map.rows; r++) {
    for (let c = 0; c < map.cols; c++) {
      const l = map.levelIndex![r * map.cols + c];
      if (l < 0) continue;
      used.add(l);
      if (c === 0 || map.levelIndex![r * map.cols + c - 1] !== l) runs.set(l, (runs.get(l) ?? 0) + 1);
    }
  }
  const layers = seen.layers as Record<string, number[][][]>;
  assert.deepEqual(Object.keys(layers).map(Number).sort((a, b) => a - b), [...used].sort((a, b) => a - b).map((l) => l + 1));
  for (const l of used) assert.equal(layers[String(l + 1)].length, runs.get(l), `layer ${l + 1} polygon count`);
  const pitch = 2; // µm
  for (let r = 0; r < map.rows; r++) {
    for (let c = 0; c < map.cols; c++) {
      const x = (c + 0.5) * pitch, y = 36 - (r + 0.5) * pitch;
      const hits = Object.entries(layers).filter(([, ps]) => ps.some((p) => {
        const xs = p.map((v) => v[0]), ys = p.map((v) => v[1]);
        return x > Math.min(...xs) && x < Math.max(...xs) && y > Math.min(...ys) && y < Math.max(...ys);
      })).map(([layerName]) => Number(layerName));
      const l = map.levelIndex![r * map.cols + c];
      assert.deepEqual(hits, l < 0 ? [] : [l + 1], `cell (${r}, ${c})`);
    }
  }
});
