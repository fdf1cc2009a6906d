/** Turning tensors into chart grids for the elements' `draw()` methods. */
import { tf } from "../runtime/tf";
import { heatmapChart } from "../viz/charts";
import type { Grid2D, VegaLiteSpec } from "../viz/types";

/** Copies a 2-D tensor (or the first item of [B, H, W]) to a Grid2D. */
export function tensorToGrid(t: tf.Tensor): Grid2D {
  const s = t.shape;
  if (s.length < 2) throw new Error(`tensorToGrid: need a tensor of rank >= 2, got shape [${s}]`);
  const height = s[s.length - 2];
  const width = s[s.length - 1];
  const all = t.dataSync();
  return { values: Float64Array.from(all.subarray(0, height * width)), height, width };
}

/** Wraps a float64 host array of size height×width as a Grid2D. */
export function arrayToGrid(values: ArrayLike<number>, height: number, width: number): Grid2D {
  if (values.length !== height * width) throw new Error(`arrayToGrid: ${values.length} values for a ${height}x${width} grid`);
  return { values, height, width };
}

/** Heatmaps of one or more tensors, titled, through the shared chart builder. */
export function drawTensors(tensors: tf.Tensor[], titles: string[], opts: { title?: string; diverging?: boolean; colorTitle?: string; scheme?: string } = {}): VegaLiteSpec {
  const grids = tensors.map(tensorToGrid);
  return heatmapChart(grids, { titles, title: opts.title, diverging: opts.diverging, colorTitle: opts.colorTitle, scheme: opts.scheme, columns: Math.min(grids.length, 4) });
}

/** Stacks charts vertically (each keeps its own scales), e.g. height maps above PSFs. */
export function stackCharts(specs: VegaLiteSpec[], title?: string): VegaLiteSpec {
  const inner = specs.map((s) => {
    const { $schema: _schema, ...rest } = s;
    void _schema;
    return rest;
  });
  const out: VegaLiteSpec = { $schema: specs[0]?.$schema ?? "https://vega.github.io/schema/vega-lite/v5.json", vconcat: inner, resolve: { scale: { color: "independent" } } };
  if (title !== undefined) out.title = title;
  return out;
}
