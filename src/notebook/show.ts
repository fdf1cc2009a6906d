import type { VegaLiteSpec } from "../viz/types";
import { renderSvg } from "../viz/render";
import { sendDisplay, type DisplayTarget } from "./display";

/** The vega-lite mime type JupyterLab and VS Code render natively. */
export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** What {@link show} sent. */
export interface ShownChart {
  /** The rendered SVG document (also in the output, for classic Notebook and nbconvert HTML). */
  svg: string;
  /** The text label of the output. */
  label: string;
  /** Where the output went. */
  target: DisplayTarget;
}

/** A short text label naming the chart, for text-only front ends and logs. */
export function chartLabel(spec: VegaLiteSpec): string {
  const title = spec.title;
  const text = typeof title === "string" ? title : title && typeof title === "object" && "text" in title ? String((title as { text: unknown }).text) : "";
  return text ? `[chart: ${text}]` : "[chart]";
}

/**
 * Renders a vega-lite chart to SVG and sends ONE output holding the vega-lite spec, the SVG and a
 * text label. Outside a kernel it prints the label. `await show(chart)` in a cell.
 */
export async function show(chart: VegaLiteSpec): Promise<ShownChart> {
  const svg = await renderSvg(chart);
  const label = chartLabel(chart);
  const target = sendDisplay({ [VEGA_LITE_MIME]: chart, "image/svg+xml": svg, "text/plain": label });
  return { svg, label, target };
}
