/**
 * Writes the designed optics of a frontend to a folder, with a JSON sidecar `design.json` that
 * says what each file holds:
 * - a MetasurfaceFrontend: its height map (see heightmap.ts) as `heightmap.npy` (float64,
 *   metres, [rows, cols]), `heightmap.png` (16-bit grey, height = value·png.metresPerValue),
 *   `heightmap.csv` (metres, one map row per line) or `metasurface.gds` (see gds-layout.ts);
 * - any other frontend (PSF, ideal, Fourier): it has no height map, so its PSFs are written as
 *   `psfs.npy` (float32, [kernelSize, kernelSize, channels, kernels], optical orientation) or
 *   `psfs.csv` (kernel, channel, row, col, value); png and gds are refused.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MetasurfaceFrontend } from "../models/frontends/metasurface-frontend";
import type { OpticalFrontendLayer } from "../models/frontends/conv2d-adapter";
import { encodeNpy } from "./npy";
import { writePng16 } from "./png16";
import { writeGdsii } from "./gdsii";
import { heightMapLibrary, kernelCellName, levelCensus, METASURFACE_CELL } from "./gds-layout";
import { metasurfaceHeightMap, type HeightMapOptions, type MetasurfaceHeightMap } from "./heightmap";

/** The file formats of {@link exportDesign}. */
export const EXPORT_FORMATS = ["npy", "png", "csv", "gds"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Options of {@link exportDesign}. */
export interface ExportDesignOptions extends HeightMapOptions {
  /** Formats to write (at least one). */
  formats: readonly ExportFormat[];
  /** Output folder (created). */
  outDir: string;
  /** Where the design came from (a checkpoint path), recorded in the sidecar. */
  source?: string;
  /** Time stamp of the GDSII file (default now). */
  timestamp?: Date;
}

/** What {@link exportDesign} wrote. */
export interface ExportedDesign {
  /** Paths of the files written, sidecar last. */
  files: string[];
  /** The sidecar's contents. */
  sidecar: Record<string, unknown>;
  /** The height map, for a metasurface; null for frontends without one. */
  heightMap: MetasurfaceHeightMap | null;
}

/** Thrown when a format does not apply to the frontend (the CLI maps it to a usage error). */
export class ExportFormatError extends Error {
  override name = "ExportFormatError";
}

const numberText = (v: number) => String(v);

function writeFile(file: string, data: string | Uint8Array, files: string[]): void {
  fs.writeFileSync(file, data);
  files.push(file);
}

/** The grey values of a height map and the metres one value stands for. */
export function heightMapGrey(map: MetasurfaceHeightMap): { values: Uint16Array; metresPerValue: number } {
  const values = new Uint16Array(map.rows * map.cols);
  if (map.levelIndex !== null && map.levels !== null) {
    // Each level on a whole grey step, the top level near white: levels come back exactly.
    const step = Math.floor(65535 / (map.levels - 1));
    map.levelIndex.forEach((l, i) => { values[i] = l < 0 ? 0 : l * step; });
    return { values, metresPerValue: map.levelStepM! / step };
  }
  const metresPerValue = map.heightFor2PiM / 65535;
  map.heightsM.forEach((h, i) => { values[i] = Math.min(65535, Math.round(h / metresPerValue)); });
  return { values, metresPerValue };
}

function heightMapCsv(map: MetasurfaceHeightMap): string {
  const lines: string[] = [];
  for (let r = 0; r < map.rows; r++) lines.push(Array.from(map.heightsM.subarray(r * map.cols, (r + 1) * map.cols), numberText).join(","));
  return lines.join("\n") + "\n";
}

async function exportMetasurface(frontend: MetasurfaceFrontend, opts: ExportDesignOptions, files: string[]): Promise<{ sidecar: Record<string, unknown>; map: MetasurfaceHeightMap }> {
  const map = metasurfaceHeightMap(frontend, opts);
  const g = frontend.geometry;
  const written: Record<string, unknown> = {};
  for (const format of opts.formats) {
    if (format === "npy") {
      const file = path.join(opts.outDir, "heightmap.npy");
      writeFile(file, encodeNpy({ data: map.heightsM, shape: [map.rows, map.cols] }), files);
      written.npy = { file: path.basename(file), dtype: "float64", unit: "m", shape: [map.rows, map.cols], order: "C, row 0 = top edge" };
    } else if (format === "csv") {
      const file = path.join(opts.outDir, "heightmap.csv");
      writeFile(file, heightMapCsv(map), files);
      written.csv = { file: path.basename(file), unit: "m", rows: map.rows, columns: map.cols, order: "one map row per line, row 0 = top edge" };
    } else if (format === "png") {
      const file = path.join(opts.outDir, "heightmap.png");
      const { values, metresPerValue } = heightMapGrey(map);
      await writePng16(file, { width: map.cols, height: map.rows, values });
      files.push(file);
      written.png = { file: path.basename(file), bitDepth: 16, colourType: "grey", metresPerValue, rule: "height = value · metresPerValue" + (map.levels === null ? " (rounded to 16 bits)" : "; level = value / (levelStepM / metresPerValue)") };
    } else if (format === "gds") {
      if (map.levels === null) throw new ExportFormatError(`gds needs quantised heights: the design is continuous, so give the number of levels (e.g. --levels 8)`);
      const file = path.join(opts.outDir, "metasurface.gds");
      writeFile(file, writeGdsii(heightMapLibrary(map, { timestamp: opts.timestamp })), files);
      const census = [...levelCensus(map).entries()].sort((a, b) => a[0] - b[0]);
      written.gds = {
        file: path.basename(file), databaseUnitM: 1e-9, userUnitM: 1e-6, topCell: METASURFACE_CELL,
        kernelCells: map.kernels.map((k) => kernelCellName(k.index)),
        origin: "lower-left corner of the metasurface, y up", layerRule: "layer L + 1 (datatype 0) = height level L",
        layers: census.map(([layer, c]) => ({ layer, level: layer - 1, heightM: ((layer - 1) * map.designWavelengthM) / ((map.refractiveIndex - 1) * map.levels!), rectangles: c.rectangles, cells: c.cells })),
      };
    }
  }
  const sidecar: Record<string, unknown> = {
    kind: "metasurface-heightmap",
    hasHeightMap: true,
    frontend: frontend.getClassName(),
    source: opts.source ?? null,
    unit: "m",
    rows: map.rows,
    columns: map.cols,
    pixelPitchM: map.pixelPitchM,
    widthM: map.widthM,
    heightM: map.heightM,
    designWavelengthM: map.designWavelengthM,
    wavelengthsM: g.wavelengthsM,
    refractiveIndex: map.refractiveIndex,
    heightFor2PiM: map.heightFor2PiM,
    levels: map.levels,
    levelStepM: map.levelStepM,
    trainedQuantizationLevels: g.quantizationLevels,
    aperture: { shape: "circle", diameterM: map.kernelSizeM, note: "each kernel's sub-aperture is stopped by a circle inscribed in its square; light outside it is blocked" },
    distanceM: g.distanceM,
    sensorPixelPitchM: g.pixelPitchM,
    kernelSizePixels: frontend.kernelSize,
    layout: {
      equation: "paper Eq. 1 (src/optics/layout.ts): n_x = floor((w + d)/(k + d)), n_y = floor((h + d)/(k + d)), grid centred, pitch k + d",
      kernelSizeM: map.kernelSizeM, kernelCells: map.kernelCells, spacingM: map.spacingM, spacingCells: map.spacingCells,
      columns: map.layout.columns, rows: map.layout.rows, pitchM: map.layout.pitchM, fillFactor: map.layout.fillFactor,
      kernels: map.kernels,
    },
    files: written,
  };
  return { sidecar, map };
}

function exportPsfs(frontend: OpticalFrontendLayer, opts: ExportDesignOptions, files: string[]): Record<string, unknown> {
  const refused = opts.formats.filter((f) => f === "png" || f === "gds");
  const className = frontend.getClassName();
  if (refused.length > 0) {
    throw new ExportFormatError(`${refused.join(" and ")} need a height map, and a ${className} has none (it learns PSFs directly); use npy or csv to export its PSFs`);
  }
  const kernels = frontend.opticalKernels();
  const [k1, k2, channels, count] = kernels.shape;
  const written: Record<string, unknown> = {};
  for (const format of opts.formats) {
    if (format === "npy") {
      const file = path.join(opts.outDir, "psfs.npy");
      writeFile(file, encodeNpy({ data: kernels.values, shape: [...kernels.shape] }), files);
      written.npy = { file: path.basename(file), dtype: "float32", shape: kernels.shape, axes: ["row", "col", "channel", "kernel"] };
    } else if (format === "csv") {
      const file = path.join(opts.outDir, "psfs.csv");
      const lines = ["kernel,channel,row,col,value"];
      for (let j = 0; j < count; j++) {
        for (let ch = 0; ch < channels; ch++) {
          for (let r = 0; r < k1; r++) for (let c = 0; c < k2; c++) lines.push(`${j},${ch},${r},${c},${numberText(kernels.values[((r * k2 + c) * channels + ch) * count + j])}`);
        }
      }
      writeFile(file, lines.join("\n") + "\n", files);
      written.csv = { file: path.basename(file), columns: ["kernel", "channel", "row", "col", "value"] };
    }
  }
  return {
    kind: "psf",
    hasHeightMap: false,
    why: `a ${className} learns its PSFs directly; there is no metasurface height map to export`,
    frontend: className,
    source: opts.source ?? null,
    energyRule: kernels.energyRule,
    orientation: "optical (the PSF as it lands on the sensor; the sensor image is the convolution of the scene with it)",
    kernelSize: kernels.kernelSize,
    inputChannels: kernels.inputChannels,
    count: kernels.count,
    complex: kernels.imag !== null,
    files: written,
  };
}

/** Writes the design of `frontend` in `opts.formats` to `opts.outDir`; see the module comment. */
export async function exportDesign(frontend: OpticalFrontendLayer, opts: ExportDesignOptions): Promise<ExportedDesign> {
  if (!Array.isArray(opts.formats) || opts.formats.length === 0 || opts.formats.some((f) => !(EXPORT_FORMATS as readonly string[]).includes(f))) {
    throw new ExportFormatError(`formats must be a non-empty list of ${EXPORT_FORMATS.join(", ")}, got ${JSON.stringify(opts.formats)}`);
  }
  const files: string[] = [];
  fs.mkdirSync(opts.outDir, { recursive: true });
  let sidecar: Record<string, unknown>;
  let heightMap: MetasurfaceHeightMap | null = null;
  if (frontend instanceof MetasurfaceFrontend) {
    const r = await exportMetasurface(frontend, opts, files);
    sidecar = r.sidecar;
    heightMap = r.map;
  } else {
    sidecar = exportPsfs(frontend, opts, files);
  }
  const sidecarFile = path.join(opts.outDir, "design.json");
  writeFile(sidecarFile, JSON.stringify(sidecar, null, 2) + "\n", files);
  return { files, sidecar, heightMap };
}
