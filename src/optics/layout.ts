/**
 * Kernel layout on a metasurface (paper Eq. 1, reconstructed).
 *
 * The paper places n square optical kernels of physical side k with a minimum edge-to-edge gap
 * d on an h×w metasurface and takes "the maximum number of kernels that can be placed while
 * preserving symmetry". Its display equation is not readable, so we reconstruct it
 * (paper-digest §2.2): a row of n_x kernels needs n_x·k + (n_x − 1)·d ≤ w, hence
 *
 *     n_x = floor((w + d)/(k + d)),   n_y = floor((h + d)/(k + d)),
 *
 * and the count is n_x·n_y on a rectangular grid ("rectangular", default) or n² with
 * n = min(n_x, n_y) on a square grid ("square", the symmetric reading). The grid is centred on
 * the metasurface with pitch k + d, so it is mirror-symmetric about both axes. Each kernel is a
 * sub-aperture meta-optic imaging onto its own sensor tile directly behind it (paraxial), so
 * sensor tiles of side t around the same centres overlap when t > k + d: that is an error.
 * A small relative tolerance (1e-9) absorbs float rounding when the pieces fit exactly.
 */
import { formatLength, requireNonNegative, requireOneOf, requirePositive } from "./units";

/** Options of `kernelLayout`. */
export interface KernelLayoutOptions {
  /** Metasurface height (y extent), metres. */
  metasurfaceHeightM: number;
  /** Metasurface width (x extent), metres. */
  metasurfaceWidthM: number;
  /** Physical side of one square kernel (sub-aperture), metres. */
  kernelSizeM: number;
  /** Minimum edge-to-edge spacing between kernels (a fabrication constraint), metres. */
  spacingM: number;
  /** "rectangular" (n_x·n_y, default) or "square" (n² with n = min(n_x, n_y)). */
  symmetry?: "rectangular" | "square";
  /**
   * Side of each kernel's tile on the sensor (image extent plus kernel support), metres.
   * When given, overlapping tiles are an error.
   */
  sensorTileSizeM?: number;
}

/** A kernel's place on the metasurface. */
export interface KernelPlacement {
  /** Row and column in the kernel grid. */
  row: number;
  col: number;
  /** Centre relative to the metasurface centre, metres (x to the right, y down as in images). */
  xM: number;
  yM: number;
}

/** The result of `kernelLayout`. */
export interface KernelLayout {
  /** Kernels per row and per column actually used. */
  columns: number;
  rows: number;
  /** Total number of kernels. */
  count: number;
  /** Centre-to-centre pitch, metres (k + d). */
  pitchM: number;
  /** Row-major placements. */
  kernels: KernelPlacement[];
  /** Fraction of the metasurface area covered by kernels. */
  fillFactor: number;
}

const EPS = 1e-9;

/** Paper Eq. 1 (reconstructed; see the module comment). */
export function kernelLayout(o: KernelLayoutOptions): KernelLayout {
  const where = "kernelLayout";
  const h = requirePositive(where, "metasurfaceHeightM", o.metasurfaceHeightM);
  const w = requirePositive(where, "metasurfaceWidthM", o.metasurfaceWidthM);
  const k = requirePositive(where, "kernelSizeM", o.kernelSizeM);
  const d = requireNonNegative(where, "spacingM", o.spacingM);
  const symmetry = requireOneOf(where, "symmetry", o.symmetry ?? "rectangular", ["rectangular", "square"]);
  if (k > w * (1 + EPS)) throw new Error(`${where}: kernelSizeM (${formatLength(k)}) is larger than metasurfaceWidthM (${formatLength(w)}); not even one kernel fits`);
  if (k > h * (1 + EPS)) throw new Error(`${where}: kernelSizeM (${formatLength(k)}) is larger than metasurfaceHeightM (${formatLength(h)}); not even one kernel fits`);
  const pitch = k + d;
  let nx = Math.floor(((w + d) / pitch) * (1 + EPS));
  let ny = Math.floor(((h + d) / pitch) * (1 + EPS));
  if (symmetry === "square") nx = ny = Math.min(nx, ny);
  if (o.sensorTileSizeM !== undefined) {
    const t = requirePositive(where, "sensorTileSizeM", o.sensorTileSizeM);
    if (t > pitch * (1 + EPS) && nx * ny > 1) {
      throw new Error(`${where}: sensor tiles of ${formatLength(t)} overlap: kernel centres are only ${formatLength(pitch)} apart (kernelSizeM + spacingM); ` +
        `increase spacingM to at least ${formatLength(t - k)} or shrink the image on the sensor`);
    }
  }
  const kernels: KernelPlacement[] = [];
  for (let r = 0; r < ny; r++) {
    for (let c = 0; c < nx; c++) {
      kernels.push({ row: r, col: c, xM: (c - (nx - 1) / 2) * pitch, yM: (r - (ny - 1) / 2) * pitch });
    }
  }
  return { columns: nx, rows: ny, count: nx * ny, pitchM: pitch, kernels, fillFactor: (nx * ny * k * k) / (w * h) };
}

/**
 * The smallest square metasurface side (metres) that holds `count` kernels in the square
 * symmetric layout: n = ceil(√count), side = n·k + (n − 1)·d.
 */
export function metasurfaceSideForKernels(count: number, kernelSizeM: number, spacingM: number): number {
  if (!Number.isInteger(count) || count < 1) throw new Error(`metasurfaceSideForKernels: count must be an integer >= 1, got ${count}`);
  requirePositive("metasurfaceSideForKernels", "kernelSizeM", kernelSizeM);
  requireNonNegative("metasurfaceSideForKernels", "spacingM", spacingM);
  const n = Math.ceil(Math.sqrt(count));
  return n * kernelSizeM + (n - 1) * spacingM;
}
