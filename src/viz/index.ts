/**
 * Charts as vega-lite specs, and their rendering in Node: training curves, lines, bars with
 * error bars, heatmaps (PSFs, phase masks, kernels), confusion matrices, image grids and scatter
 * plots; SVG and PNG rendering; PCA and t-SNE embeddings for the scatter plots. The builders take
 * the library's records as they are returned (`TrainResult.history`, evaluations, sweep points,
 * estimates, image tiles). Displaying a chart in a notebook is `show` in src/notebook.
 */
export * from "./types";
export * from "./render";
export * from "./png";
export * from "./charts";
export * from "./embedding";
