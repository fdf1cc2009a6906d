/**
 * The height map of a designed metasurface: every kernel's sub-aperture (gridSize² cells of
 * `cellPitchM`) placed on one metasurface by the layout of paper Eq. 1 (`kernelLayout`), in
 * metres, wrapped into one 2π period h_2π = λ_d/(n − 1) and, with N levels, quantised to
 * h = L·λ_d/((n − 1)·N), L = 0 … N − 1, by `fabricatedHeights` as in training (round to the
 * nearest level, ties to even as tf.round, the top level N wrapping to 0).
 *
 * Grid: kernels sit row-major on a grid of ceil(√n) columns and ceil(n/columns) rows, centre
 * pitch k + d (k = gridSize·cellPitchM, d the spacing, rounded up to whole cells so that the
 * whole metasurface is one pixel grid). Row 0 of the map is the top edge (image convention,
 * y down). Cells outside every kernel are background: height 0, level −1.
 */
import type { MetasurfaceFrontend } from "../models/frontends/metasurface-frontend";
import { kernelLayout, type KernelLayout } from "../optics/layout";
import { formatLength } from "../optics/units";
import { fabricatedHeights } from "../optics/metasurface";
import { tf } from "../runtime/tf";

/** Options of {@link metasurfaceHeightMap}. */
export interface HeightMapOptions {
  /**
   * Height levels per 2π to quantise to (an integer ≥ 2). Default: the frontend's own
   * quantizationLevels; a frontend trained without one gives continuous (wrapped) heights.
   */
  levels?: number;
  /**
   * Edge-to-edge gap between kernels on the metasurface, metres (Eq. 1's d), rounded up to whole
   * cells. Default: the smallest gap keeping the sensor tiles apart when `imageSize` is given
   * (tile side (max(H, W) + kernelSize − 1)·pixelPitchM), else 0.
   */
  spacingM?: number;
  /** Input image [height, width] in sensor pixels, for the default spacing and the tile check. */
  imageSize?: readonly [number, number];
}

/** Where one kernel sits: its place in Eq. 1's grid and its first cell in the map. */
export interface KernelOnMap {
  /** Kernel index (channel order of the frontend). */
  index: number;
  row: number;
  col: number;
  /** Centre relative to the metasurface centre, metres (x right, y down). */
  xM: number;
  yM: number;
  /** Map row and column of the kernel's top-left cell. */
  mapRow: number;
  mapCol: number;
}

/** The result of {@link metasurfaceHeightMap}. */
export interface MetasurfaceHeightMap {
  /** Map size in cells. */
  rows: number;
  cols: number;
  /** Cell (pixel) pitch of the map, metres. */
  pixelPitchM: number;
  /** Heights in metres, row-major [rows, cols]. */
  heightsM: Float64Array;
  /** Level index per cell (−1: background); null for continuous heights. */
  levelIndex: Int32Array | null;
  /** Levels per 2π, or null for continuous heights. */
  levels: number | null;
  /** Height of one level step, metres (h_2π/N); null for continuous heights. */
  levelStepM: number | null;
  /** Height of one 2π period, λ_d/(n − 1), metres. */
  heightFor2PiM: number;
  designWavelengthM: number;
  refractiveIndex: number;
  /** Side of one kernel's sub-aperture (gridSize·cellPitchM), metres, and in cells. */
  kernelSizeM: number;
  kernelCells: number;
  /** Edge-to-edge gap used, metres (a whole number of cells), and in cells. */
  spacingM: number;
  spacingCells: number;
  /** Metasurface extent, metres. */
  widthM: number;
  heightM: number;
  /** Eq. 1's layout of the grid (placements row-major; the first `kernels.length` are used). */
  layout: KernelLayout;
  kernels: KernelOnMap[];
}

const where = "metasurfaceHeightMap";

/**
 * The wrapped heights in waves of the design wavelength, [n, G, G], quantised to `levels` by the
 * same ops training uses (`fabricatedHeights`: float32, tf.round's ties to even), so that the
 * exported levels are the ones the trained PSFs came from.
 */
function heightWaves(frontend: MetasurfaceFrontend, levels: number | null): Float32Array {
  const weight = frontend.weights.find((w) => w.originalName.endsWith("heights_waves") || w.name.endsWith("heights_waves"));
  if (!weight) throw new Error(`${where}: the frontend is not built (it holds no heights_waves weight); load or apply it first`);
  return tf.tidy(() => fabricatedHeights(weight.read(), levels === null ? { wrapHeightM: 1 } : { wrapHeightM: 1, quantizationLevels: levels }).dataSync() as Float32Array);
}

/** The height map of a built {@link MetasurfaceFrontend}; see the module comment. */
export function metasurfaceHeightMap(frontend: MetasurfaceFrontend, opts: HeightMapOptions = {}): MetasurfaceHeightMap {
  const g = frontend.geometry;
  const levels = opts.levels ?? g.quantizationLevels;
  if (levels !== null && (!Number.isInteger(levels) || levels < 2)) throw new Error(`${where}: levels must be an integer >= 2, got ${String(levels)}`);
  const n = frontend.kernelCount;
  const G = g.gridSize;
  const p = g.cellPitchM;
  const kernelSizeM = G * p;
  let tileM: number | undefined;
  if (opts.imageSize !== undefined) {
    const [h, w] = opts.imageSize;
    if (![h, w].every((v) => Number.isInteger(v) && v > 0)) throw new Error(`${where}: imageSize must be [height, width] in positive integers, got ${JSON.stringify(opts.imageSize)}`);
    tileM = (Math.max(h, w) + frontend.kernelSize - 1) * g.pixelPitchM;
  }
  const wantedSpacingM = opts.spacingM ?? (tileM !== undefined ? Math.max(0, tileM - kernelSizeM) : 0);
  if (!Number.isFinite(wantedSpacingM) || wantedSpacingM < 0) throw new Error(`${where}: spacingM must be a finite number >= 0, got ${wantedSpacingM}`);
  const spacingCells = Math.ceil(wantedSpacingM / p - 1e-9);
  const spacingM = spacingCells * p;
  const cols = Math.ceil(Math.sqrt(n));
  const gridRows = Math.ceil(n / cols);
  const widthM = cols * kernelSizeM + (cols - 1) * spacingM;
  const heightM = gridRows * kernelSizeM + (gridRows - 1) * spacingM;
  const layout = kernelLayout({ metasurfaceHeightM: heightM, metasurfaceWidthM: widthM, kernelSizeM, spacingM, sensorTileSizeM: tileM });
  if (layout.columns !== cols || layout.rows !== gridRows) {
    throw new Error(`${where}: Eq. 1 placed ${layout.columns}×${layout.rows} kernels on ${formatLength(widthM)} × ${formatLength(heightM)}, expected ${cols}×${gridRows}`);
  }
  const pitchCells = G + spacingCells;
  const rows = gridRows * G + (gridRows - 1) * spacingCells;
  const mapCols = cols * G + (cols - 1) * spacingCells;
  const heightFor2PiM = frontend.waveHeightM;
  const lambda = g.designWavelengthM;
  const index = g.refractiveIndex;
  const heightsM = new Float64Array(rows * mapCols);
  const levelIndex = levels === null ? null : new Int32Array(rows * mapCols).fill(-1);
  const waves = heightWaves(frontend, levels);
  const kernels: KernelOnMap[] = [];
  for (let j = 0; j < n; j++) {
    const place = layout.kernels[j];
    const mapRow = place.row * pitchCells;
    const mapCol = place.col * pitchCells;
    kernels.push({ index: j, row: place.row, col: place.col, xM: place.xM, yM: place.yM, mapRow, mapCol });
    for (let r = 0; r < G; r++) {
      for (let c = 0; c < G; c++) {
        const wrapped = waves[(j * G + r) * G + c];
        const cell = (mapRow + r) * mapCols + mapCol + c;
        if (levels === null) {
          heightsM[cell] = wrapped * heightFor2PiM;
        } else {
          // wrapped is L/N in float32: L comes back exactly.
          const level = Math.round(wrapped * levels) % levels;
          levelIndex![cell] = level;
          heightsM[cell] = (level * lambda) / ((index - 1) * levels);
        }
      }
    }
  }
  return {
    rows, cols: mapCols, pixelPitchM: p, heightsM, levelIndex, levels, levelStepM: levels === null ? null : heightFor2PiM / levels,
    heightFor2PiM, designWavelengthM: lambda, refractiveIndex: index, kernelSizeM, kernelCells: G, spacingM, spacingCells,
    widthM, heightM, layout, kernels,
  };
}
