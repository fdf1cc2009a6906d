/** A drawing of kernel layouts (paper Eq. 1) on their metasurfaces, one panel per metasurface. */
import { VEGA_LITE_SCHEMA } from "../viz/render";
import type { VegaLiteSpec } from "../viz/types";
import type { MetasurfaceLayout } from "./estimation";

/** Options of {@link kernelLayoutChart}. */
export interface KernelLayoutChartOptions {
  /** Chart title. */
  title?: string;
  /** Side of each square panel, pixels (default 170). */
  panelSize?: number;
}

/** One rectangle of the drawing, in millimetres (y down, as on the layout). */
export interface LayoutRect {
  panel: string;
  kind: "metasurface" | "kernel";
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Rectangles of the metasurfaces and their kernels, centred on each metasurface, in mm. */
export function layoutRects(layouts: ReadonlyArray<MetasurfaceLayout>): LayoutRect[] {
  const rects: LayoutRect[] = [];
  for (const m of layouts) {
    const panel = `${(m.sideM * 1e3).toFixed(2)} mm: ${m.layout.count} kernel${m.layout.count === 1 ? "" : "s"}`;
    const half = (m.sideM * 1e3) / 2;
    rects.push({ panel, kind: "metasurface", x0: -half, x1: half, y0: -half, y1: half });
    const k = (m.kernelSizeM * 1e3) / 2;
    for (const p of m.layout.kernels) {
      rects.push({ panel, kind: "kernel", x0: p.xM * 1e3 - k, x1: p.xM * 1e3 + k, y0: p.yM * 1e3 - k, y1: p.yM * 1e3 + k });
    }
  }
  return rects;
}

/**
 * Each metasurface drawn to the same millimetre scale with its kernels, so a bigger surface looks
 * bigger and the count it buys is visible at a glance.
 */
export function kernelLayoutChart(layouts: ReadonlyArray<MetasurfaceLayout>, opts: KernelLayoutChartOptions = {}): VegaLiteSpec {
  if (!Array.isArray(layouts) || layouts.length === 0) throw new Error("kernelLayoutChart: layouts must be a non-empty array (see metasurfaceLayouts)");
  const extent = Math.max(...layouts.map((m) => m.sideM)) * 1e3 / 2;
  const size = opts.panelSize ?? 170;
  const axis = (title: string) => ({ type: "quantitative", title, scale: { domain: [-extent, extent], nice: false } });
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(opts.title !== undefined ? { title: opts.title } : {}),
    data: { values: layoutRects(layouts) },
    facet: { field: "panel", type: "nominal", title: null, sort: null },
    columns: Math.min(layouts.length, 4),
    spec: {
      width: size,
      height: size,
      mark: { type: "rect", stroke: "#333", strokeWidth: 0.5 },
      encoding: {
        x: { field: "x0", ...axis("x (mm)") },
        x2: { field: "x1" },
        y: { field: "y0", ...axis("y (mm)"), scale: { domain: [extent, -extent], nice: false } },
        y2: { field: "y1" },
        color: { field: "kind", type: "nominal", title: null, scale: { domain: ["metasurface", "kernel"], range: ["#e8e8e8", "#3b6fb6"] } },
      },
    },
  };
}
