import * as fs from "node:fs";
import type { VegaLiteSpec } from "../viz/types";
import { renderSvg, svgToPng } from "../viz/render";
import { writeFileAtomic, type RunStore } from "./run-store";

/** Where {@link savefig} wrote a figure. */
export interface SavedFigure {
  svgPath: string;
  pngPath: string;
  /** The vega-lite spec beside them, so a figure can be re-rendered or restyled later. */
  specPath: string;
}

/** Options of {@link savefig}. */
export interface SavefigOptions {
  /** PNG pixel density over the SVG size; default 2. */
  scale?: number;
}

/** Renders `chart` and writes `<name>.svg`, `<name>.png` and `<name>.vl.json` into the run's figures folder. */
export async function savefig(chart: VegaLiteSpec, name: string, run: RunStore, opts: SavefigOptions = {}): Promise<SavedFigure> {
  if (!run || typeof run.figurePath !== "function") throw new Error("savefig: run must be a RunStore from openRun()");
  const svgPath = run.figurePath(name, "svg");
  const pngPath = run.figurePath(name, "png");
  const specPath = run.figurePath(name, "vl.json");
  const svg = await renderSvg(chart);
  fs.mkdirSync(run.figuresDir, { recursive: true });
  writeFileAtomic(svgPath, svg);
  writeFileAtomic(pngPath, svgToPng(svg, { scale: opts.scale }));
  writeFileAtomic(specPath, JSON.stringify(chart));
  return { svgPath, pngPath, specPath };
}
