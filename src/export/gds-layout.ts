/**
 * The GDSII layout of a quantised height map: one layer per height level, the kernels placed
 * at their physical positions.
 *
 * - Units: database unit 1 nm, user unit 1 µm; the cell pitch must be a whole number of nm.
 * - Cells: `KERNEL_000`, `KERNEL_001`, … hold one kernel's sub-aperture each (origin at its
 *   top-left corner, the sub-aperture below it in −y); the top cell `METASURFACE` places them
 *   with SREFs. Origin of `METASURFACE`: the metasurface's lower-left corner, y up (GDSII's
 *   convention), so map row 0 (the top) lies at y = heightM.
 * - Layers: layer L + 1, datatype 0, holds the area at height level L (height L·h_2π/N), level 0
 *   included, so each kernel's square is tiled exactly; background cells get no polygon.
 * - Polygons: in each map row, a run of adjacent cells of one level is one rectangle.
 */
import type { GdsBoundary, GdsLibrary, GdsStructure } from "./gdsii";
import type { MetasurfaceHeightMap } from "./heightmap";

/** Name of the top cell. */
export const METASURFACE_CELL = "METASURFACE";

/** Name of kernel j's cell. */
export function kernelCellName(j: number): string {
  return `KERNEL_${String(j).padStart(3, "0")}`;
}

/** The GDSII layer of height level L. */
export function layerOfLevel(level: number): number {
  return level + 1;
}

/** Options of {@link heightMapLibrary}. */
export interface HeightMapLibraryOptions {
  /** Library name (default "NTKD_LAB"). */
  libraryName?: string;
  /** BGNLIB/BGNSTR time (default now). */
  timestamp?: Date;
}

const NM_PER_M = 1e9;

/** The GDSII library of a quantised height map (see the module comment). */
export function heightMapLibrary(map: MetasurfaceHeightMap, opts: HeightMapLibraryOptions = {}): GdsLibrary {
  const where = "heightMapLibrary";
  if (map.levelIndex === null || map.levels === null) throw new Error(`${where}: the height map is continuous; GDSII needs quantised heights (give levels, e.g. --levels 8)`);
  if (map.levels > 255) throw new Error(`${where}: ${map.levels} levels do not fit GDSII layers 1–255`);
  const pitchNm = Math.round(map.pixelPitchM * NM_PER_M);
  if (pitchNm < 1 || Math.abs(pitchNm - map.pixelPitchM * NM_PER_M) > 1e-6 * pitchNm) {
    throw new Error(`${where}: the cell pitch ${map.pixelPitchM} m is not a whole number of nanometres (the database unit)`);
  }
  const G = map.kernelCells;
  const kernelCells: GdsStructure[] = map.kernels.map((k) => {
    const elements: GdsBoundary[] = [];
    for (let r = 0; r < G; r++) {
      const rowStart = (k.mapRow + r) * map.cols + k.mapCol;
      let c = 0;
      while (c < G) {
        const level = map.levelIndex![rowStart + c];
        let end = c + 1;
        while (end < G && map.levelIndex![rowStart + end] === level) end++;
        const x0 = c * pitchNm, x1 = end * pitchNm, y0 = -(r + 1) * pitchNm, y1 = -r * pitchNm;
        elements.push({ kind: "boundary", layer: layerOfLevel(level), datatype: 0, points: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]] });
        c = end;
      }
    }
    return { name: kernelCellName(k.index), elements };
  });
  const heightNm = map.rows * pitchNm;
  const top: GdsStructure = {
    name: METASURFACE_CELL,
    elements: map.kernels.map((k) => ({ kind: "sref" as const, structure: kernelCellName(k.index), origin: [k.mapCol * pitchNm, heightNm - k.mapRow * pitchNm] as const })),
  };
  return { name: opts.libraryName ?? "NTKD_LAB", databaseUnitM: 1e-9, databaseUnitsPerUserUnit: 1000, timestamp: opts.timestamp, structures: [...kernelCells, top] };
}

/** Per layer: polygon count and area (in cells) of a library made by {@link heightMapLibrary}, for reports and tests. */
export function levelCensus(map: MetasurfaceHeightMap): Map<number, { cells: number; rectangles: number }> {
  const census = new Map<number, { cells: number; rectangles: number }>();
  if (map.levelIndex === null) return census;
  const G = map.kernelCells;
  for (const k of map.kernels) {
    for (let r = 0; r < G; r++) {
      const rowStart = (k.mapRow + r) * map.cols + k.mapCol;
      for (let c = 0; c < G; c++) {
        const level = map.levelIndex[rowStart + c];
        const entry = census.get(layerOfLevel(level)) ?? { cells: 0, rectangles: 0 };
        entry.cells++;
        if (c === 0 || map.levelIndex[rowStart + c - 1] !== level) entry.rectangles++;
        census.set(layerOfLevel(level), entry);
      }
    }
  }
  return census;
}
