import * as vegaLite from "vega-lite";
import * as vega from "vega";
import { Resvg } from "@resvg/resvg-js";
import type { VegaLiteSpec } from "./types";

/** The schema every chart builder stamps on its specs; JupyterLab and VS Code render v5. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Options for {@link renderPng}. */
export interface RenderPngOptions {
  /** Pixel density multiplier over the SVG's CSS pixel size (2 gives crisp figures for papers). Default 2. */
  scale?: number;
  /** Background colour behind transparent areas, any CSS colour. Default "white". */
  background?: string;
}

function assertSpec(spec: unknown, caller: string): asserts spec is VegaLiteSpec {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new Error(`${caller}: spec must be a vega-lite object, got ${spec === null ? "null" : Array.isArray(spec) ? "an array" : typeof spec}`);
  }
}

/** Compiles a vega-lite spec to a vega spec; errors name the caller so a notebook user sees where it failed. */
export function compileVegaLite(spec: VegaLiteSpec, caller = "compileVegaLite"): vega.Spec {
  assertSpec(spec, caller);
  try {
    // vega-lite's types are stricter than our structural VegaLiteSpec; compile() validates at run time.
    return vegaLite.compile(spec as unknown as vegaLite.TopLevelSpec).spec;
  } catch (err) {
    throw new Error(`${caller}: vega-lite could not compile the spec: ${(err as Error).message}`);
  }
}

/**
 * Renders a vega-lite (v5) spec to an SVG document headlessly (vega's SVG string renderer needs
 * no DOM or canvas; text widths are estimated).
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  assertSpec(spec, "renderSvg");
  // vega tags the data rows it ingests; render a copy so the caller's spec stays as it was.
  const vgSpec = compileVegaLite(structuredClone(spec), "renderSvg");
  // vega logs dataflow errors and still resolves toSVG() with a half-drawn chart; collect them and fail.
  const errors: string[] = [];
  const logger = vega.logger(vega.Warn);
  logger.error = (...args: unknown[]) => {
    errors.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(" "));
    return logger;
  };
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none", logger });
  try {
    const svg = await view.toSVG();
    if (errors.length > 0) throw new Error(errors.join("; "));
    return svg;
  } catch (err) {
    throw new Error(`renderSvg: vega could not render the spec: ${(err as Error).message}`);
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG document to PNG bytes with resvg (system fonts, no native canvas needed). */
export function svgToPng(svg: string, options: RenderPngOptions = {}): Buffer {
  const scale = options.scale ?? 2;
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new Error(`svgToPng: options.scale must be a positive finite number, got ${scale}`);
  }
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: options.background ?? "white",
    font: { loadSystemFonts: true, sansSerifFamily: "DejaVu Sans" },
  });
  return resvg.render().asPng();
}

/** Renders a vega-lite spec to PNG bytes (SVG through resvg). */
export async function renderPng(spec: VegaLiteSpec, options: RenderPngOptions = {}): Promise<Buffer> {
  return svgToPng(await renderSvg(spec), options);
}
