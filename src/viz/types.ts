/**
 * A vega-lite (v5) top-level specification. Kept structural so notebooks can build or edit
 * specs freely; the renderer validates by compiling it.
 */
export type VegaLiteSpec = { $schema?: string; [key: string]: unknown };

/** A 2-D grid of numbers, row-major: values[row * width + col]. */
export interface Grid2D {
  values: ArrayLike<number>;
  height: number;
  width: number;
}
