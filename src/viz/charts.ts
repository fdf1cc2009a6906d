import type { Grid2D, VegaLiteSpec } from "./types";
import { VEGA_LITE_SCHEMA } from "./render";
import { encodePng, pngDataUrl } from "./png";

/** Common size and title options of every chart builder. */
export interface ChartSizeOptions {
  /** Chart title. */
  title?: string;
  /** Plot width in pixels (per panel for faceted charts). */
  width?: number;
  /** Plot height in pixels (per panel for faceted charts). */
  height?: number;
}

/** Options of {@link lineChart}. Fields may be paths into nested objects: "accuracy.ntkd". */
export interface LineChartOptions extends ChartSizeOptions {
  /** Row field on the x axis (quantitative). */
  x: string;
  /**
   * Row field on the y axis (quantitative), or several fields drawn as one series each (e.g.
   * `["estimated", "trained"]` of estimate/student pairs, `["accuracy.none", "accuracy.ntkd"]` of
   * fabrication sweep points).
   */
  y: string | readonly string[];
  /** Legend names of the series when `y` lists several fields; default the field paths. */
  seriesLabels?: readonly string[];
  /** Row field that splits rows into coloured series (only with a single `y`). */
  color?: string;
  /** x axis title; defaults to the field name. */
  xTitle?: string;
  /** y axis title; defaults to the field name. */
  yTitle?: string;
  /** Logarithmic y axis (loss curves spanning decades). */
  logY?: boolean;
  /** Draw a point on each sample as well as the line. */
  points?: boolean;
}

type Row = Record<string, unknown>;

function requireArray(value: unknown, caller: string, argument: string): asserts value is unknown[] {
  if (!Array.isArray(value)) throw new Error(`${caller}: ${argument} must be an array, got ${typeof value}`);
}

function finiteOrThrow(value: unknown, caller: string, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`${caller}: ${what} must be a finite number, got ${String(value)}`);
  }
  return value;
}

function base(title: string | undefined): VegaLiteSpec {
  const spec: VegaLiteSpec = { $schema: VEGA_LITE_SCHEMA };
  if (title !== undefined) spec.title = title;
  return spec;
}

/** Reads `row[path]`, or follows a dotted path ("accuracy.ntkd") into nested objects. */
function fieldValue(row: object, path: string): unknown {
  const r = row as Row;
  if (path in r) return r[path];
  let v: unknown = row;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object" || !(key in v)) return undefined;
    v = (v as Row)[key];
  }
  return v;
}

/** vega-lite reads "a.b" as a nested path; a flat key that holds a dot needs it escaped. */
function vegaField(rows: readonly object[], path: string): string {
  return rows.length > 0 && path.includes(".") && path in (rows[0] as Row) ? path.replace(/\./g, "\\.") : path;
}

/**
 * A line chart of `rows[x]` against `rows[y]`, one line per value of `rows[color]`, or one line
 * per field when `y` lists several. Rows may be any records the library returns (estimates,
 * epoch records, sweep points): interfaces are accepted as they are.
 */
export function lineChart(rows: readonly object[], opts: LineChartOptions): VegaLiteSpec {
  requireArray(rows, "lineChart", "rows");
  const ys = typeof opts?.y === "string" ? [opts.y] : opts?.y;
  if (!opts || typeof opts.x !== "string" || !Array.isArray(ys) || ys.length === 0 || !ys.every((f) => typeof f === "string")) {
    throw new Error("lineChart: opts.x and opts.y must name row fields (opts.y: a field or a non-empty array of fields)");
  }
  if (ys.length > 1 && opts.color !== undefined) throw new Error("lineChart: opts.color splits a single opts.y; with several y fields each field is a series");
  if (opts.seriesLabels !== undefined && opts.seriesLabels.length !== ys.length) {
    throw new Error(`lineChart: opts.seriesLabels has ${opts.seriesLabels.length} entries for ${ys.length} y fields`);
  }
  rows.forEach((r, i) => {
    for (const f of [opts.x, ...ys]) {
      if (fieldValue(r, f) === undefined) throw new Error(`lineChart: rows[${i}] lacks field "${f}"`);
    }
    for (const f of ys) {
      const yv = fieldValue(r, f);
      if (typeof yv === "number" && Number.isNaN(yv)) throw new Error(`lineChart: rows[${i}].${f} is NaN`);
    }
  });
  const yScale = opts.logY ? { scale: { type: "log" } } : { scale: { zero: false } };
  const single = ys.length === 1;
  const values = single
    ? rows
    : rows.flatMap((r) => ys.map((f, k) => ({ x: fieldValue(r, opts.x), y: fieldValue(r, f), series: opts.seriesLabels?.[k] ?? f })));
  const encoding: Row = {
    x: { field: single ? vegaField(rows, opts.x) : "x", type: "quantitative", title: opts.xTitle ?? opts.x },
    y: { field: single ? vegaField(rows, ys[0]!) : "y", type: "quantitative", title: opts.yTitle ?? (single ? ys[0] : null), ...yScale },
  };
  if (!single) encoding.color = { field: "series", type: "nominal", title: null, sort: opts.seriesLabels ?? ys };
  else if (opts.color) encoding.color = { field: vegaField(rows, opts.color), type: "nominal" };
  return {
    ...base(opts.title),
    width: opts.width ?? 360,
    height: opts.height ?? 220,
    data: { values },
    mark: { type: "line", point: opts.points ?? false },
    encoding,
  };
}

/**
 * A training history, in any of the shapes that produce one:
 * - the library's epoch records: `TrainResult.history` (EpochRecord[]: `trainLoss`,
 *   `trainAccuracy`, `validationAccuracy`, `validationLoss`, ...) or segmentation records
 *   (`trainMeanIoU`, `validationMeanIoU`, `validationDice`, ...), or the TrainResult itself;
 *   each `train<Metric>` / `validation<Metric>` field is one metric's train / validation curve,
 *   and the other fields (learningRate, seconds, parts) are not plotted;
 * - Keras-style records (`[{ epoch: 0, loss: 1.2, val_acc: 0.8 }, ...]`, `val_` marks validation);
 * - a tfjs `History` (`{ epoch: [...], history: { loss: [...] } }`) or bare metric arrays (`{ loss: [...] }`).
 */
export type HistoryLike =
  | readonly object[]
  | { readonly history: readonly object[] }
  | { epoch?: readonly number[]; history: Readonly<Record<string, readonly number[]>> }
  | Readonly<Record<string, readonly number[]>>;

/** Options of {@link trainingCurves}. */
export interface TrainingCurvesOptions extends ChartSizeOptions {
  /**
   * Metric names to plot, without the split: "loss", "accuracy", "meanIoU", "dice" for the
   * library's records (trainLoss -> "loss"), "loss", "acc" for Keras-style ones; default: every metric present.
   */
  metrics?: string[];
  /** Logarithmic y axis for every panel. */
  logY?: boolean;
}

interface CurvePoint {
  run: string;
  epoch: number;
  metric: string;
  split: string;
  value: number;
}

/** The library's naming: trainLoss, validationMeanIoU, ... */
const LIBRARY_METRIC = /^(train|validation)([A-Z]\w*)$/;

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === "number");
}

function recordPoints(records: readonly object[], run: string, push: (metric: string, split: string, epoch: number, value: number) => void): void {
  const library = records.some((rec) => Object.keys(rec).some((k) => LIBRARY_METRIC.test(k)));
  records.forEach((rec, i) => {
    if (rec === null || typeof rec !== "object") throw new Error(`trainingCurves: run "${run}" record ${i} must be an object, got ${String(rec)}`);
    const fields = rec as Row;
    const epoch = typeof fields.epoch === "number" ? fields.epoch : i;
    for (const [name, value] of Object.entries(fields)) {
      if (name === "epoch" || typeof value !== "number") continue;
      if (library) {
        const m = LIBRARY_METRIC.exec(name);
        if (m === null) continue;
        push(m[2]!.charAt(0).toLowerCase() + m[2]!.slice(1), m[1] === "train" ? "train" : "validation", epoch, value);
      } else {
        const validation = name.startsWith("val_");
        push(validation ? name.slice(4) : name, validation ? "validation" : "train", epoch, value);
      }
    }
  });
}

function historyPoints(h: HistoryLike, run: string): CurvePoint[] {
  const points: CurvePoint[] = [];
  const push = (metric: string, split: string, epoch: number, value: number) => {
    if (Number.isNaN(value)) throw new Error(`trainingCurves: run "${run}" metric "${metric}" (${split}) is NaN at epoch ${epoch}`);
    points.push({ run, epoch, metric, split, value });
  };
  if (Array.isArray(h)) {
    recordPoints(h, run, push);
    return points;
  }
  if ("history" in h && Array.isArray(h.history)) {
    recordPoints(h.history, run, push);
    return points;
  }
  const series = "history" in h && typeof h.history === "object" ? (h.history as Record<string, unknown>) : (h as Record<string, unknown>);
  const epochs = "history" in h && isNumberArray((h as { epoch?: unknown }).epoch) ? (h as { epoch: number[] }).epoch : undefined;
  for (const [name, values] of Object.entries(series)) {
    if (name === "epoch") continue;
    if (!isNumberArray(values)) throw new Error(`trainingCurves: run "${run}" metric "${name}" must be an array of numbers`);
    const validation = name.startsWith("val_");
    values.forEach((v, i) => push(validation ? name.slice(4) : name, validation ? "validation" : "train", epochs?.[i] ?? i, v));
  }
  return points;
}

function looksLikeHistory(v: unknown): v is HistoryLike {
  if (Array.isArray(v)) return true;
  if (v === null || typeof v !== "object") return false;
  if ("history" in v) return true;
  return Object.values(v).every(isNumberArray);
}

/**
 * Training curves: one panel per metric (loss, accuracy, mIoU, ...), each with its own y-axis
 * title (accuracy, mean IoU and Dice in % when given as fractions), epochs counted from 1 in whole
 * steps, training solid and validation dashed (named in the legend), one colour per run. Pass one history (`result.history`, or the TrainResult itself), or
 * `{ runName: history, ... }` to compare runs.
 */
export function trainingCurves(history: HistoryLike | Readonly<Record<string, HistoryLike>>, opts: TrainingCurvesOptions = {}): VegaLiteSpec {
  if (history === null || typeof history !== "object") throw new Error("trainingCurves: history must be an object or an array");
  const runs: [string, HistoryLike][] = looksLikeHistory(history)
    ? [["run", history]]
    : Object.entries(history as Record<string, unknown>).map(([name, h]) => {
        if (!looksLikeHistory(h)) throw new Error(`trainingCurves: history["${name}"] is not a training history`);
        return [name, h];
      });
  let points = runs.flatMap(([name, h]) => oneBasedEpochs(historyPoints(h, name)));
  if (opts.metrics) {
    const wanted = new Set(opts.metrics);
    points = points.filter((p) => wanted.has(p.metric));
  }
  if (points.length === 0) throw new Error("trainingCurves: no metric values to plot");
  const metrics = [...new Set(points.map((p) => p.metric))];
  const yTitles = new Map<string, string>();
  for (const metric of metrics) {
    const own = points.filter((p) => p.metric === metric);
    // Accuracies and overlaps in [0, 1] are shown in percent, as the tables give them.
    const percent = PERCENT_METRIC.test(metric) && own.every((p) => p.value >= 0 && p.value <= 1);
    if (percent) for (const p of own) p.value *= 100;
    yTitles.set(metric, `${metricLabel(metric)}${percent ? " (%)" : ""}`);
  }
  for (const p of points) p.split = p.split === "train" ? TRAINING : VALIDATION;
  // Whole epochs only: a tick per epoch for short runs, integer steps for long ones.
  const epochs = [...new Set(points.map((p) => p.epoch))].sort((a, b) => a - b);
  const epochAxis = epochs.length <= 12 && epochs.every(Number.isInteger) ? { format: "d", values: epochs } : { format: "d", tickMinStep: 1 };
  const panel = (metric: string): Row => ({
    width: opts.width ?? 240,
    height: opts.height ?? 180,
    transform: [{ filter: { field: "metric", equal: metric } }],
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch", scale: { zero: false }, axis: epochAxis },
      y: { field: "value", type: "quantitative", title: yTitles.get(metric), ...(opts.logY ? { scale: { type: "log" } } : { scale: { zero: false } }) },
      color: { field: "run", type: "nominal", title: null, legend: runs.length > 1 ? {} : null },
      // Training solid, validation dashed; the legend draws each as a line, so the dash reads.
      strokeDash: {
        field: "split",
        type: "nominal",
        title: null,
        scale: { domain: [TRAINING, VALIDATION], range: [[1, 0], [6, 4]] },
        legend: { symbolType: "stroke", symbolStrokeWidth: 2, symbolSize: 300, encode: { symbols: { update: { stroke: { value: "#444" } } } } },
      },
    },
  });
  return {
    ...base(opts.title),
    data: { values: points },
    concat: metrics.map(panel),
    columns: 3,
    resolve: { scale: { y: "independent" } },
  };
}

/** Legend names of the two splits. */
const TRAINING = "training";
const VALIDATION = "validation";

/** Metrics that are fractions shown in percent: accuracy ("acc"), mean IoU, Dice. */
const PERCENT_METRIC = /acc|iou|dice/i;

/** A metric's axis name: "acc" and "accuracy" -> "accuracy", "meanIoU" -> "mean IoU", "dice" -> "Dice". */
function metricLabel(metric: string): string {
  if (/^(acc|accuracy)$/i.test(metric)) return "accuracy";
  if (/^meanIoU$/i.test(metric)) return "mean IoU";
  if (/^dice$/i.test(metric)) return "Dice";
  return metric;
}

/** Epochs counted from 1, as "epoch 1/3" reads: a run whose epochs start at 0 is shifted by one. */
function oneBasedEpochs(points: CurvePoint[]): CurvePoint[] {
  const first = Math.min(...points.map((p) => p.epoch));
  return first === 0 ? points.map((p) => ({ ...p, epoch: p.epoch + 1 })) : points;
}

/** One bar: a mean with an optional standard deviation, optionally in a group (e.g. method). */
export interface BarRow {
  label: string;
  mean: number;
  std?: number;
  group?: string;
}

/** Options of {@link barChart}. */
export interface BarChartOptions extends ChartSizeOptions {
  /** x axis title. */
  xTitle?: string;
  /** y axis title; default "mean". */
  yTitle?: string;
  /** Fixed y domain, e.g. [0, 100] for accuracies in percent. */
  yDomain?: [number, number];
  /**
   * Zoom the y axis to the span of the bars, their error bars and the reference values (with a
   * margin) instead of starting at 0, so that close methods can be told apart. Ignored with `yDomain`.
   */
  zoom?: boolean;
  /** Reference values drawn as a black tick across the bar of the same label (and group), e.g. the paper's. */
  reference?: readonly { label: string; group?: string; value: number }[];
  /** What the reference ticks are, for the subtitle; default "the paper's value". */
  referenceName?: string;
}

/** Bars of means with +-1 std error bars; bars sharing a label are placed side by side by group. */
export function barChart(rows: readonly BarRow[], opts: BarChartOptions = {}): VegaLiteSpec {
  requireArray(rows, "barChart", "rows");
  const values = rows.map((r, i) => {
    if (typeof r.label !== "string") throw new Error(`barChart: rows[${i}].label must be a string`);
    const mean = finiteOrThrow(r.mean, "barChart", `rows[${i}].mean`);
    const std = r.std === undefined ? 0 : finiteOrThrow(r.std, "barChart", `rows[${i}].std`);
    if (std < 0) throw new Error(`barChart: rows[${i}].std must be >= 0, got ${std}`);
    return { label: r.label, mean, std, group: r.group ?? "", low: mean - std, high: mean + std };
  });
  const grouped = values.some((v) => v.group !== "");
  const labelOrder = [...new Set(values.map((v) => v.label))];
  const groupOrder = [...new Set(values.map((v) => v.group))];
  const x = { field: "label", type: "nominal", title: opts.xTitle ?? null, sort: labelOrder, axis: { labelAngle: 0 } };
  const groupEnc = grouped
    ? { xOffset: { field: "group", type: "nominal", sort: groupOrder }, color: { field: "group", type: "nominal", sort: groupOrder, title: null } }
    : {};
  const references = (opts.reference ?? []).map((r, i) => {
    const value = finiteOrThrow(r.value, "barChart", `opts.reference[${i}].value`);
    const group = r.group ?? "";
    if (!values.some((v) => v.label === r.label && v.group === group)) {
      throw new Error(`barChart: opts.reference[${i}] (label "${r.label}"${group ? `, group "${group}"` : ""}) matches no bar`);
    }
    return { label: r.label, group, reference: value };
  });
  let domain = opts.yDomain;
  if (!domain && opts.zoom && values.length > 0) {
    const lows = [...values.map((v) => v.low), ...references.map((r) => r.reference)];
    const highs = [...values.map((v) => v.high), ...references.map((r) => r.reference)];
    const lo = Math.min(...lows);
    const hi = Math.max(...highs);
    const margin = Math.max((hi - lo) * 0.15, Math.abs(hi) * 0.01, 1e-9);
    domain = [lo >= 0 ? Math.max(0, lo - margin) : lo - margin, hi + margin];
  }
  const y = { field: "mean", type: "quantitative", title: opts.yTitle ?? "mean", ...(domain ? { scale: { domain, zero: false } } : {}) };
  // Clipped: a zoomed axis does not start at 0, and bars must not spill below it.
  const layers: Row[] = [{ mark: { type: "bar", clip: domain !== undefined }, encoding: { x, y, ...groupEnc } }];
  if (values.some((v) => v.std > 0)) {
    layers.push({
      mark: { type: "rule", color: "black" },
      encoding: { x, y: { field: "low", type: "quantitative" }, y2: { field: "high" }, ...(grouped ? { xOffset: groupEnc.xOffset } : {}) },
    });
  }
  if (references.length > 0) {
    layers.push({
      data: { values: references },
      mark: { type: "tick", color: "black", thickness: 2, clip: domain !== undefined },
      encoding: {
        x,
        y: { field: "reference", type: "quantitative" },
        ...(grouped ? { xOffset: groupEnc.xOffset } : {}),
        tooltip: [{ field: "label" }, { field: "reference", title: opts.referenceName ?? "the paper's value" }],
      },
    });
  }
  const subtitle = references.length > 0 ? `black ticks: ${opts.referenceName ?? "the paper's value"}` : undefined;
  const title = opts.title !== undefined && subtitle ? { title: { text: opts.title, subtitle } } : subtitle ? { title: { text: "", subtitle } } : {};
  return { ...base(opts.title), ...title, width: opts.width ?? { step: grouped ? 60 : 40 }, height: opts.height ?? 220, data: { values }, layer: layers };
}

/** Options of {@link heatmapChart}. */
export interface HeatmapOptions extends ChartSizeOptions {
  /** One title per panel when several grids are given. */
  titles?: readonly string[];
  /** A vega colour scheme name; default "viridis" ("redblue" when diverging). */
  scheme?: string;
  /** Centre the colour scale at 0 (phase masks, signed kernels). */
  diverging?: boolean;
  /** Panels per row; default min(count, 4). */
  columns?: number;
  /** Colour legend title; default "value". */
  colorTitle?: string;
  /** Give each panel its own colour scale (PSFs of very different peaks); default false: one shared scale. */
  independentColor?: boolean;
  /**
   * Pixel axes on the panels' outer edges: "pixels" (default) labels pixel indices, "none" hides
   * them. With `pixelPitchM` the labels are µm from the grid's centre instead.
   */
  axes?: "pixels" | "none";
  /** Pixel pitch in metres: axes read in µm from the centre (e.g. a PSF on the sensor). */
  pixelPitchM?: number;
}

/** Axis encodings of a heatmap: ticks at the first, centre and last pixel, in px or µm from the centre. */
function pixelAxis(side: number, name: "x" | "y", opts: HeatmapOptions): Row | null {
  if (opts.axes === "none") return null;
  const ticks = [...new Set([0, Math.floor((side - 1) / 2), side - 1])];
  if (opts.pixelPitchM === undefined) return { title: `${name} (px)`, values: ticks, labelAngle: 0, grid: false };
  const pitchUm = finiteOrThrow(opts.pixelPitchM, "heatmapChart", "opts.pixelPitchM") * 1e6;
  if (!(pitchUm > 0)) throw new Error(`heatmapChart: opts.pixelPitchM must be > 0, got ${opts.pixelPitchM}`);
  const centre = (side - 1) / 2;
  return { title: `${name} (µm)`, values: ticks, labelAngle: 0, grid: false, labelExpr: `format((datum.value - ${centre}) * ${pitchUm}, ".3~r")` };
}

function checkGrid(g: Grid2D, caller: string, name: string): void {
  if (!g || !Number.isInteger(g.height) || !Number.isInteger(g.width) || g.height <= 0 || g.width <= 0) {
    throw new Error(`${caller}: ${name} must be a Grid2D with positive integer height and width`);
  }
  if (!g.values || g.values.length !== g.height * g.width) {
    throw new Error(`${caller}: ${name}.values must hold height*width = ${g.height * g.width} numbers, got ${g.values?.length}`);
  }
}

/** Heatmaps of one or more grids (PSFs, phase masks, kernels): row 0 at the top, as in images. */
export function heatmapChart(grid: Grid2D | readonly Grid2D[], opts: HeatmapOptions = {}): VegaLiteSpec {
  const grids: readonly Grid2D[] = Array.isArray(grid) ? grid : [grid as Grid2D];
  if (grids.length === 0) throw new Error("heatmapChart: grid must not be an empty array");
  if (opts.titles && opts.titles.length !== grids.length) {
    throw new Error(`heatmapChart: opts.titles has ${opts.titles.length} entries for ${grids.length} grids`);
  }
  const values: Row[] = [];
  const panelNames: string[] = [];
  grids.forEach((g, p) => {
    checkGrid(g, "heatmapChart", `grid[${p}]`);
    const name = opts.titles?.[p] ?? (grids.length > 1 ? `#${p}` : "");
    const panel = panelNames.includes(name) ? `${name} (${p})` : name;
    panelNames.push(panel);
    for (let r = 0; r < g.height; r++) {
      for (let c = 0; c < g.width; c++) {
        const v = g.values[r * g.width + c]!;
        if (Number.isNaN(v)) throw new Error(`heatmapChart: grid[${p}] has NaN at row ${r}, col ${c}`);
        values.push({ panel, row: r, col: c, value: v });
      }
    }
  });
  const maxSide = Math.max(...grids.map((g) => Math.max(g.height, g.width)));
  const step = Math.max(1, Math.floor((opts.width ?? 160) / maxSide));
  const scheme = opts.scheme ?? (opts.diverging ? "redblue" : "viridis");
  const color: Row = {
    field: "value",
    type: "quantitative",
    title: opts.colorTitle ?? "value",
    // Colour titles carry units ("intensity (fraction of light)"); vega cuts titles past 180 px by default.
    legend: { titleLimit: 320 },
    scale: { scheme, ...(opts.diverging ? { domainMid: 0, reverse: scheme === "redblue" } : {}) },
  };
  const inner: Row = {
    width: { step },
    height: { step },
    mark: { type: "rect", aria: false },
    encoding: {
      x: { field: "col", type: "ordinal", axis: pixelAxis(Math.max(...grids.map((g) => g.width)), "x", opts) },
      y: { field: "row", type: "ordinal", axis: pixelAxis(Math.max(...grids.map((g) => g.height)), "y", opts) },
      color,
    },
  };
  if (grids.length === 1 && !opts.titles) return { ...base(opts.title), data: { values }, ...inner };
  return {
    ...base(opts.title),
    data: { values },
    facet: { field: "panel", type: "nominal", title: null, sort: panelNames },
    columns: opts.columns ?? Math.min(grids.length, 4),
    // Panels share the row/col scales: vega cannot resolve independent step-sized band scales in facets.
    spec: inner,
    ...(opts.independentColor ? { resolve: { scale: { color: "independent" } } } : {}),
  };
}

/** Rough width of one axis-label character at vega's default 10 px font, for overlap checks. */
const LABEL_CHAR_PX = 6;

/** Options of {@link confusionMatrixChart}. */
export interface ConfusionMatrixOptions extends ChartSizeOptions {
  /** Colour and label by row-normalised fraction (recall per true class) instead of counts. */
  normalize?: boolean;
  /** Data set name for the default title, e.g. "Fashion-MNIST" -> "Fashion-MNIST test set: confusion matrix ...". */
  dataset?: string;
}

/**
 * Pixel counts of a two-class (object / background) prediction, as segmentation evaluations
 * return them (`SegmentationEvaluation.confusion`).
 */
export interface BinaryConfusionCounts {
  truePositive: number;
  falsePositive: number;
  falseNegative: number;
  trueNegative: number;
}

function isBinaryConfusion(m: unknown): m is BinaryConfusionCounts {
  return m !== null && typeof m === "object" && !Array.isArray(m) && "truePositive" in m && "trueNegative" in m;
}

/**
 * A confusion matrix: rows are true classes, columns predicted classes, cells annotated. Takes
 * `Evaluation.confusion` (count[true][predicted]) or a segmentation's binary pixel confusion;
 * `classNames` default to the class indices ("background", "object" for a binary confusion).
 */
export function confusionMatrixChart(
  confusion: ReadonlyArray<ReadonlyArray<number>> | BinaryConfusionCounts,
  classNames?: readonly string[],
  opts: ConfusionMatrixOptions = {},
): VegaLiteSpec {
  const matrix: ReadonlyArray<ReadonlyArray<number>> = isBinaryConfusion(confusion)
    ? [[confusion.trueNegative, confusion.falsePositive], [confusion.falseNegative, confusion.truePositive]]
    : confusion;
  requireArray(matrix, "confusionMatrixChart", "matrix");
  if (classNames === undefined) classNames = isBinaryConfusion(confusion) ? ["background", "object"] : matrix.map((_, i) => String(i));
  requireArray(classNames, "confusionMatrixChart", "classNames");
  const names = classNames;
  const k = classNames.length;
  if (matrix.length !== k) throw new Error(`confusionMatrixChart: matrix has ${matrix.length} rows for ${k} class names`);
  const values: Row[] = [];
  matrix.forEach((row, t) => {
    if (!Array.isArray(row) || row.length !== k) throw new Error(`confusionMatrixChart: matrix[${t}] must have ${k} entries`);
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      finiteOrThrow(count, "confusionMatrixChart", `matrix[${t}][${p}]`);
      const fraction = total > 0 ? count / total : 0;
      values.push({ true: names[t], predicted: names[p], count, fraction, shown: opts.normalize ? fraction : count });
    });
  });
  const maxShown = Math.max(...values.map((v) => v.shown as number));
  const step = Math.max(18, Math.floor((opts.width ?? 300) / k));
  // Labels wider than a cell (Fashion-MNIST's "T-shirt/top", "Sneaker") are angled so they do not overlap.
  const longest = Math.max(...names.map((n) => n.length));
  const angled = longest * LABEL_CHAR_PX > step;
  const xAxis = angled ? { labelAngle: -45, labelAlign: "right", labelBaseline: "middle" } : { labelAngle: 0 };
  const axis = (field: string, title: string, options: Row) => ({ field, type: "ordinal", sort: names, title, axis: options });
  const title = opts.title
    ?? `${opts.dataset ? `${opts.dataset}: ` : ""}confusion matrix (${opts.normalize ? "fraction of each true class" : "counts"})`;
  return {
    ...base(title),
    width: { step },
    height: { step },
    data: { values },
    encoding: { x: axis("predicted", "predicted class", xAxis), y: axis("true", "true class", { labelAngle: 0 }) },
    layer: [
      { mark: "rect", encoding: { color: { field: "shown", type: "quantitative", scale: { scheme: "blues" }, title: opts.normalize ? "fraction" : "count" } } },
      {
        mark: { type: "text", fontSize: 9 },
        encoding: {
          text: { field: "shown", type: "quantitative", format: opts.normalize ? ".2f" : "d" },
          color: { condition: { test: `datum.shown > ${maxShown / 2}`, value: "white" }, value: "black" },
        },
      },
    ],
  };
}

/** An RGB image, row-major HWC, values in [0, 1]. */
export interface RgbImage {
  values: ArrayLike<number>;
  height: number;
  width: number;
  channels: 3;
}

/** Options of {@link imageGridChart}. */
export interface ImageGridOptions {
  /** A caption under each image (e.g. true and predicted class). */
  labels?: readonly string[];
  /** Images per row; default min(count, 8). */
  columns?: number;
  /** Chart title. */
  title?: string;
  /** Displayed size of each image in pixels; default 56. */
  imageSize?: number;
  /**
   * "auto" (default) shows values in [0, 1] as they are and min-max scales an image that leaves
   * [0, 1]; "image" always min-max scales each image; "none" clamps to [0, 1].
   */
  normalize?: "auto" | "image" | "none";
}

/** A grey or RGB image as the data previews return it (`imageTile`, `maskTile`): channels 1 or 3. */
export interface ImageLike extends Grid2D {
  /** 1 (grey, the default) or 3 (RGB, interleaved). */
  channels?: number;
}

function imagePixels(img: ImageLike, mode: "auto" | "image" | "none", i: number): { pixels: Float32Array; channels: 1 | 3 } {
  const channels = img.channels ?? 1;
  if (channels !== 1 && channels !== 3) throw new Error(`imageGridChart: images[${i}].channels must be 1 or 3, got ${String(channels)}`);
  const n = img.height * img.width * channels;
  if (!Number.isInteger(img.height) || !Number.isInteger(img.width) || img.height <= 0 || img.width <= 0) {
    throw new Error(`imageGridChart: images[${i}] must have positive integer height and width`);
  }
  if (!img.values || img.values.length !== n) {
    throw new Error(`imageGridChart: images[${i}].values must hold ${n} numbers (${img.height}x${img.width}x${channels}), got ${img.values?.length}`);
  }
  const pixels = Float32Array.from(img.values);
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = pixels[j]!;
    if (Number.isNaN(v)) throw new Error(`imageGridChart: images[${i}] has NaN at index ${j}`);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (mode === "image" || (mode === "auto" && (lo < 0 || hi > 1))) {
    const span = hi - lo || 1;
    for (let j = 0; j < n; j++) pixels[j] = (pixels[j]! - lo) / span;
  }
  return { pixels, channels };
}

/** A grid of grey (Grid2D) or RGB images, each embedded as a PNG, with optional captions. */
export function imageGridChart(images: ReadonlyArray<Grid2D | RgbImage | ImageLike>, opts: ImageGridOptions = {}): VegaLiteSpec {
  requireArray(images, "imageGridChart", "images");
  if (images.length === 0) throw new Error("imageGridChart: images must not be empty");
  if (opts.labels && opts.labels.length !== images.length) {
    throw new Error(`imageGridChart: opts.labels has ${opts.labels.length} entries for ${images.length} images`);
  }
  const columns = opts.columns ?? Math.min(images.length, 8);
  const size = opts.imageSize ?? 56;
  const captioned = opts.labels !== undefined;
  const values = images.map((img, i) => {
    const { pixels, channels } = imagePixels(img, opts.normalize ?? "auto", i);
    return {
      index: i,
      col: i % columns,
      row: Math.floor(i / columns),
      url: pngDataUrl(encodePng(pixels, img.width, img.height, channels)),
      label: opts.labels?.[i] ?? "",
    };
  });
  const cellHeight = size + (captioned ? 16 : 4);
  const x = { field: "col", type: "ordinal", axis: null };
  const y = { field: "row", type: "ordinal", axis: null };
  const layer: Row[] = [
    { mark: { type: "image", width: size, height: size, aria: false, align: "center", baseline: "top" }, encoding: { x, y, url: { field: "url", type: "nominal" } } },
  ];
  if (captioned) {
    layer.push({ mark: { type: "text", baseline: "top", dy: size / 2 + 2, fontSize: 10 }, encoding: { x, y, text: { field: "label", type: "nominal" } } });
  }
  return {
    ...base(opts.title),
    width: { step: size + 4 },
    height: { step: cellHeight },
    data: { values },
    layer,
    config: { view: { stroke: null } },
  };
}

/** A 2-D point with a class label (an embedding). */
export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
}

/** Options of {@link scatterChart}. */
export interface ScatterOptions extends ChartSizeOptions {
  xTitle?: string;
  yTitle?: string;
  /** Colour legend title; default "label". */
  colorTitle?: string;
}

/** A scatter plot coloured by label (e.g. 2-D embeddings of features). */
export function scatterChart(points: readonly ScatterPoint[], opts: ScatterOptions = {}): VegaLiteSpec {
  requireArray(points, "scatterChart", "points");
  points.forEach((p, i) => {
    finiteOrThrow(p.x, "scatterChart", `points[${i}].x`);
    finiteOrThrow(p.y, "scatterChart", `points[${i}].y`);
  });
  return {
    ...base(opts.title),
    width: opts.width ?? 320,
    height: opts.height ?? 320,
    data: { values: points.map((p) => ({ x: p.x, y: p.y, label: String(p.label) })) },
    mark: { type: "circle", size: 24, opacity: 0.8 },
    encoding: {
      x: { field: "x", type: "quantitative", title: opts.xTitle ?? "x", scale: { zero: false } },
      y: { field: "y", type: "quantitative", title: opts.yTitle ?? "y", scale: { zero: false } },
      color: { field: "label", type: "nominal", title: opts.colorTitle ?? "label" },
    },
  };
}

/** Options of {@link intervalChart}: which row fields hold what. */
export interface IntervalChartOptions extends ChartSizeOptions {
  /** Field on the x axis (quantitative). */
  x: string;
  /** Field of the estimate drawn as a point. */
  y: string;
  /** Fields of the interval's ends, drawn as a vertical bar through the point. */
  low: string;
  high: string;
  /** Field that splits the rows into coloured series (optional). */
  color?: string;
  /** Field shown beside the others in each point's tooltip, e.g. the setting of the point. */
  detail?: string;
  xTitle?: string;
  yTitle?: string;
  /** A horizontal reference line, e.g. 0 for differences (default 0; null for none). */
  reference?: number | null;
}

/**
 * Estimates with their intervals (paired differences with 95 % intervals, say) against a
 * quantitative x: a point per row, a bar from `low` to `high`, and a dashed reference line, so
 * that an interval that clears the line is visible at a glance.
 */
export function intervalChart(rows: readonly object[], opts: IntervalChartOptions): VegaLiteSpec {
  requireArray(rows, "intervalChart", "rows");
  const fields = [opts.x, opts.y, opts.low, opts.high];
  rows.forEach((r, i) => {
    for (const f of fields) finiteOrThrow(fieldValue(r, f), "intervalChart", `rows[${i}].${f}`);
    if ((fieldValue(r, opts.low) as number) > (fieldValue(r, opts.high) as number)) throw new Error(`intervalChart: rows[${i}]: ${opts.low} is above ${opts.high}`);
  });
  const x = { field: vegaField(rows, opts.x), type: "quantitative", title: opts.xTitle ?? opts.x, scale: { zero: false } };
  const yTitle = opts.yTitle ?? opts.y;
  const color = opts.color !== undefined ? { color: { field: vegaField(rows, opts.color), type: "nominal", title: null } } : {};
  const tooltip = [opts.detail, opts.color, opts.x, opts.y, opts.low, opts.high].filter((f): f is string => f !== undefined).map((f) => ({ field: vegaField(rows, f) }));
  const reference = opts.reference === undefined ? 0 : opts.reference;
  const layer: Row[] = [
    { mark: { type: "rule", strokeWidth: 2 }, encoding: { x, y: { field: vegaField(rows, opts.low), type: "quantitative", title: yTitle }, y2: { field: vegaField(rows, opts.high) }, ...color } },
    { mark: { type: "point", filled: true, size: 60 }, encoding: { x, y: { field: vegaField(rows, opts.y), type: "quantitative", title: yTitle }, ...color, tooltip } },
  ];
  if (reference !== null) layer.push({ data: { values: [{ reference }] }, mark: { type: "rule", strokeDash: [4, 4], color: "#888" }, encoding: { y: { field: "reference", type: "quantitative" } } });
  return {
    ...base(opts.title),
    width: opts.width ?? 360,
    height: opts.height ?? 240,
    data: { values: rows },
    layer,
  };
}

/** The fields of a frontend's `OpticalKernels` (models/frontends/optical-frontend.ts) this chart reads. */
export interface OpticalKernelArrays {
  /** Real parts, [kernelSize, kernelSize, inputChannels, count], optical orientation. */
  values: ArrayLike<number>;
  /** Imaginary parts of coherent kernels, same layout; null otherwise. */
  imag: ArrayLike<number> | null;
  kernelSize: number;
  inputChannels: number;
  count: number;
  /** "unit", "bounded", "signed" or "coherent-passive". */
  energyRule: string;
}

/** Options of {@link opticalKernelsChart}. */
export interface OpticalKernelsChartOptions extends HeatmapOptions {
  /** Colour channel shown (default 0). */
  channel?: number;
  /** Kernels shown, from the first (default all, at most 16). */
  kernels?: number;
  /** For coherent kernels: "amplitude" |h| (default) or "real"/"imag" parts. */
  part?: "amplitude" | "real" | "imag";
  /** The training method the kernels come from, for the title, e.g. "NTKD" -> "NTKD student: ...". */
  method?: string;
}

/** Readable names of the frontend kinds, by layer class name (models/frontends). */
const FRONTEND_KIND_NAMES: Readonly<Record<string, string>> = {
  PsfConvFrontend: "PSF-engineered optics",
  MetasurfaceFrontend: "metasurface optics",
  FourierFrontend: "Fourier-plane (4f) optics",
  IdealConvFrontend: "ideal optical convolution",
  Conv2dFrontend: "digital convolution",
};

/** The kind of optics a kernel source is, from its layer class name; "optical" when unknown. */
function frontendKind(source: object): string {
  const className = typeof (source as { getClassName?: unknown }).getClassName === "function" ? String((source as { getClassName(): string }).getClassName()) : "";
  return FRONTEND_KIND_NAMES[className] ?? (className || "optical frontend");
}

/**
 * Heatmaps of any optical frontend's kernels: anything with `opticalKernels()` (every
 * OpticalFrontend: `student.frontend`, a segmentation ONN's frontend) or the kernels themselves,
 * in their documented [k, k, C, n] optical-orientation layout. Signed kernels get a diverging scale.
 */
export function opticalKernelsChart(
  source: { opticalKernels(): OpticalKernelArrays } | OpticalKernelArrays,
  opts: OpticalKernelsChartOptions = {},
): VegaLiteSpec {
  const k = "opticalKernels" in source && typeof source.opticalKernels === "function" ? source.opticalKernels() : (source as OpticalKernelArrays);
  const { kernelSize: size, inputChannels: c, count: n } = k;
  const channel = opts.channel ?? 0;
  if (!Number.isInteger(channel) || channel < 0 || channel >= c) throw new Error(`opticalKernelsChart: channel must be an integer in 0..${c - 1}, got ${String(channel)}`);
  const shown = Math.min(opts.kernels ?? Math.min(n, 16), n);
  if (!Number.isInteger(shown) || shown < 1) throw new Error(`opticalKernelsChart: kernels must be a positive integer, got ${String(opts.kernels)}`);
  const part = opts.part ?? "amplitude";
  const grids: Grid2D[] = Array.from({ length: shown }, (_, j) => {
    const values = new Float64Array(size * size);
    for (let p = 0; p < size * size; p++) {
      const i = (p * c + channel) * n + j;
      const re = k.values[i];
      const im = k.imag === null ? 0 : k.imag[i];
      values[p] = k.imag === null || part === "real" ? re : part === "imag" ? im : Math.hypot(re, im);
    }
    return { values, height: size, width: size };
  });
  const signed = k.energyRule === "signed" || (k.imag !== null && part !== "amplitude");
  const intensity = k.imag === null && !signed;
  const what = intensity ? "PSFs" : "kernels";
  const { method, ...heatmapOpts } = opts;
  return heatmapChart(grids, {
    titles: grids.map((_, j) => `kernel ${j}`),
    diverging: signed,
    colorTitle: k.imag === null ? (signed ? "weight (signed)" : "intensity (fraction of light)") : `${part} (field)`,
    title: `${method ? `${method} student: ` : ""}${frontendKind(source)}, ${shown} of ${n} ${what} (${k.energyRule}, ${size}×${size} px${c > 1 ? `, colour ${channel}` : ""})`,
    ...heatmapOpts,
  });
}
