import type { VegaLiteSpec } from "../viz/types";
import { renderSvg, svgToPng } from "../viz/render";
import { sendDisplay, type MimeBundle } from "./display";

/** The vega-lite mime type JupyterLab and VS Code render natively. */
export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** A short text label naming the chart, for text-only front ends and logs. */
export function chartLabel(spec: VegaLiteSpec): string {
  const title = spec.title;
  const text = typeof title === "string" ? title : title && typeof title === "object" && "text" in title ? String((title as { text: unknown }).text) : "";
  return text ? `[chart: ${text}]` : "[chart]";
}

/**
 * Pixel density of the PNG in a chart output: 2 device pixels per CSS pixel, so the image stays
 * sharp on high-density screens; the output's metadata gives the CSS size, so it shows at the
 * chart's own size.
 */
export const CHART_PNG_SCALE = 2;

/** One display output: its mime bundle and the per-mime metadata (image sizes). */
export interface ChartOutput {
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

/** Width and height attributes of an SVG document's root element, in CSS pixels. */
function svgSize(svg: string): { width: number; height: number } | null {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? "";
  const width = Number(/\bwidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\bheight="([\d.]+)"/.exec(root)?.[1]);
  return width > 0 && height > 0 ? { width, height } : null;
}

/**
 * The one output {@link show} sends: the vega-lite spec (JupyterLab and VS Code draw it, interactive),
 * a PNG at {@link CHART_PNG_SCALE}x (what classic Notebook, GitHub and nbconvert HTML show) and a
 * text label. No SVG: nbconvert ranks image/svg+xml above image/png, and Debian's nbconvert 6.5
 * strips inline SVG content (nbconvert #1849), so an SVG in the bundle exports as a blank chart.
 * `savefig` still writes the SVG file.
 */
export async function chartOutput(chart: VegaLiteSpec): Promise<ChartOutput> {
  const svg = await renderSvg(chart);
  const png = svgToPng(svg, { scale: CHART_PNG_SCALE });
  const size = svgSize(svg);
  return {
    data: { [VEGA_LITE_MIME]: chart, "image/png": png.toString("base64"), "text/plain": chartLabel(chart) },
    metadata: size ? { "image/png": { width: Math.round(size.width), height: Math.round(size.height) } } : {},
  };
}

/** The mime bundle of {@link chartOutput} (vega-lite spec, PNG, text label). */
export async function chartBundle(chart: VegaLiteSpec): Promise<MimeBundle> {
  return (await chartOutput(chart)).data;
}

/**
 * Renders a vega-lite chart and sends ONE output holding the vega-lite spec, a PNG and a text label
 * (see {@link chartOutput}). Outside a kernel it prints the label. Resolves to nothing, so
 * `await show(chart)` as a cell's last line prints nothing more (tslab prints a cell's last value).
 */
export async function show(chart: VegaLiteSpec): Promise<void> {
  const { data, metadata } = await chartOutput(chart);
  sendDisplay(data, { metadata });
}
