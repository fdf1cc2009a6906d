import type { VegaLiteSpec } from "../viz/types";
import { renderSvg } from "../viz/render";
import { sendDisplay, type MimeBundle } from "./display";

/** The vega-lite mime type JupyterLab and VS Code render natively. */
export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** A short text label naming the chart, for text-only front ends and logs. */
export function chartLabel(spec: VegaLiteSpec): string {
  const title = spec.title;
  const text = typeof title === "string" ? title : title && typeof title === "object" && "text" in title ? String((title as { text: unknown }).text) : "";
  return text ? `[chart: ${text}]` : "[chart]";
}

/** The one output {@link show} sends: vega-lite spec, SVG and text label. */
export async function chartBundle(chart: VegaLiteSpec): Promise<MimeBundle> {
  const svg = await renderSvg(chart);
  return { [VEGA_LITE_MIME]: chart, "image/svg+xml": svg, "text/plain": chartLabel(chart) };
}

/**
 * Renders a vega-lite chart to SVG and sends ONE output holding the vega-lite spec, the SVG and a
 * text label (the SVG is what classic Notebook, nbconvert HTML and GitHub show). Outside a kernel it
 * prints the label. Resolves to nothing, so `await show(chart)` as a cell's last line prints nothing
 * more (tslab prints a cell's last value).
 */
export async function show(chart: VegaLiteSpec): Promise<void> {
  sendDisplay(await chartBundle(chart));
}
