import { test, before } from "node:test";
import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { trainTeacher } from "../../src/train/api";
import type { ImageDataset } from "../../src/data/types";
import type { EpochRecord, SegmentationEpochRecord, SweepPoint, EstimatedTrainedPoint, ImageTile, Evaluation, TrainResult } from "../../src/index";
import {
  lineChart, trainingCurves, barChart, heatmapChart, confusionMatrixChart, imageGridChart, scatterChart, opticalKernelsChart,
  intervalChart,
} from "../../src/viz/charts";
import { renderSvg, renderPng } from "../../src/viz/render";
import type { Grid2D } from "../../src/viz/types";
import { parseXml, marksOf, descendants } from "./xml";

before(async () => {
  await initBackend({ backend: "cpu" });
});

const grid = (h: number, w: number, f: (r: number, c: number) => number): Grid2D => ({
  height: h, width: w, values: Array.from({ length: h * w }, (_, i) => f(Math.floor(i / w), i % w)),
});

async function svgOf(spec: Parameters<typeof renderSvg>[0]) {
  const svg = await renderSvg(spec);
  return parseXml(svg);
}

test("lineChart draws one line per colour series", async () => {
  const rows = [0, 1, 2].flatMap((e) => [{ epoch: e, loss: 1 / (e + 1), method: "KD" }, { epoch: e, loss: 2 / (e + 1), method: "NTKD" }]);
  const svg = await svgOf(lineChart(rows, { x: "epoch", y: "loss", color: "method", title: "loss" }));
  assert.equal(marksOf(svg, "line").length, 2);
  assert.ok(descendants(svg).some((e) => e.name === "text" && e.text === "loss"));
});

test("lineChart rejects missing fields and NaN", () => {
  assert.throws(() => lineChart([{ a: 1 }], { x: "a", y: "b" }), /rows\[0\] lacks field/);
  assert.throws(() => lineChart([{ a: 1, b: NaN }], { x: "a", y: "b" }), /NaN/);
});

test("trainingCurves: a panel per metric, train and validation lines per run", async () => {
  const history = {
    KD: [{ epoch: 0, loss: 1, acc: 0.5, val_loss: 1.1, val_acc: 0.4 }, { epoch: 1, loss: 0.5, acc: 0.7, val_loss: 0.6, val_acc: 0.6 }],
    NTKD: { history: { loss: [1, 0.4], acc: [0.5, 0.8] } },
  };
  const spec = trainingCurves(history);
  const values = (spec.data as { values: { metric: string; split: string; run: string }[] }).values;
  assert.deepEqual([...new Set(values.map((v) => v.metric))].sort(), ["acc", "loss"]);
  assert.equal(values.filter((v) => v.split === "validation").length, 4);
  const svg = await svgOf(spec);
  // acc and loss panels, each with KD train, KD validation and NTKD train lines.
  assert.equal(marksOf(svg, "line").length, 6);
  assert.throws(() => trainingCurves({ loss: [1, NaN] }), /NaN at epoch 1/);
});

test("barChart draws bars and error bars spanning mean +- std", async () => {
  const rows = [
    { label: "MNIST", mean: 91.4, std: 1, group: "none" }, { label: "MNIST", mean: 97.3, std: 0.5, group: "NTKD" },
    { label: "CIFAR-10", mean: 56.4, std: 2, group: "none" }, { label: "CIFAR-10", mean: 75.6, std: 1, group: "NTKD" },
  ];
  const spec = barChart(rows, { yDomain: [0, 100], yTitle: "accuracy (%)" });
  const svg = await svgOf(spec);
  const bars = marksOf(svg, "rect");
  assert.equal(bars.length, 4);
  const rules = marksOf(svg, "rule");
  assert.equal(rules.length, 4);
  // Pixel heights are proportional to value: the rule for std 2 is 4x as long as the one for std 0.5.
  const len = (r: { attrs: Record<string, string> }) => Math.abs(Number(/v(-?[\d.]+)/.exec(r.attrs.d ?? "")?.[1] ?? r.attrs.y2 ?? NaN));
  const lengths = rules.map(len);
  assert.ok(lengths.every(Number.isFinite), `rule lengths ${lengths}`);
  assert.ok(Math.abs(Math.max(...lengths) / Math.min(...lengths) - 4) < 0.05, `rule lengths ${lengths}`);
  assert.throws(() => barChart([{ label: "a", mean: NaN }]), /rows\[0\]\.mean must be a finite number/);
  assert.throws(() => barChart([{ label: "a", mean: 1, std: -1 }]), /std must be >= 0/);
});

test("intervalChart draws a point and an interval bar per row, and a reference line at zero", async () => {
  const rows = [
    { acc: 82, gain: 2, low: 1, high: 3, comparison: "ntkd − kd" },
    { acc: 93, gain: 0.5, low: -1.5, high: 2.5, comparison: "ntkd − kd" },
    { acc: 97, gain: -0.1, low: -0.2, high: 0, comparison: "ntkd − none" },
  ];
  const svg = await svgOf(intervalChart(rows, { x: "acc", y: "gain", low: "low", high: "high", color: "comparison" }));
  assert.equal(marksOf(svg, "symbol").length, 3);
  const rules = marksOf(svg, "rule");
  // Three interval bars and the dashed zero line; bar lengths follow high − low (2, 4, 0.2).
  assert.equal(rules.length, 4);
  const len = (r: { attrs: Record<string, string> }) => Math.abs(Number(r.attrs.y2 ?? NaN));
  const bars = rules.map(len).filter((l) => Number.isFinite(l) && l > 0).sort((a, b) => a - b);
  assert.equal(bars.length, 3, `rule lengths ${rules.map(len)}`);
  assert.ok(Math.abs(bars[2]! / bars[1]! - 2) < 0.05 && Math.abs(bars[1]! / bars[0]! - 10) < 0.5, `bar lengths ${bars}`);
  assert.equal(marksOf(await svgOf(intervalChart(rows, { x: "acc", y: "gain", low: "low", high: "high", reference: null })), "rule").length, 3);
  assert.throws(() => intervalChart([{ acc: 1, gain: NaN, low: 0, high: 1 }], { x: "acc", y: "gain", low: "low", high: "high" }), /rows\[0\]\.gain must be a finite number/);
  assert.throws(() => intervalChart([{ acc: 1, gain: 0, low: 1, high: 0 }], { x: "acc", y: "gain", low: "low", high: "high" }), /rows\[0\]: low is above high/);
});

test("heatmapChart draws one rect per cell per panel, row 0 on top", async () => {
  const a = grid(7, 7, (r, c) => Math.exp(-((r - 3) ** 2 + (c - 3) ** 2) / 4));
  const b = grid(7, 7, (r, c) => r - c);
  const svg = await svgOf(heatmapChart([a, b], { titles: ["psf", "phase"], independentColor: true }));
  assert.equal(marksOf(svg, "rect").length, 98);
  const single = heatmapChart(grid(3, 2, (r) => r), { diverging: true });
  const values = (single.data as { values: { row: number; col: number; value: number }[] }).values;
  assert.deepEqual(values.map((v) => v.value), [0, 0, 1, 1, 2, 2]);
  const one = await svgOf(single);
  const ys = marksOf(one, "rect").map((r) => Number(/translate\([\d.-]+,([\d.-]+)\)|M[\d.-]+,([\d.-]+)/.exec(r.attrs.transform ?? r.attrs.d ?? "")?.slice(1).find((x) => x !== undefined)));
  assert.equal(ys.length, 6);
  // Cells are drawn in data order: row 0 first, and it must be the topmost.
  assert.ok(ys[0]! < ys[5]!, `row 0 y=${ys[0]} should be above row 2 y=${ys[5]}`);
  assert.throws(() => heatmapChart({ height: 2, width: 2, values: [1, 2, 3] }), /height\*width = 4/);
  assert.throws(() => heatmapChart([a], { titles: ["x", "y"] }), /titles has 2 entries for 1 grids/);
});

test("confusionMatrixChart annotates hand-computed row fractions", async () => {
  const svg = await svgOf(confusionMatrixChart([[5, 1], [2, 7]], ["cat", "dog"], { normalize: true }));
  assert.equal(marksOf(svg, "rect").length, 4);
  const labels = marksOf(svg, "text").map((t) => t.text).sort();
  assert.deepEqual(labels, ["0.17", "0.22", "0.78", "0.83"]);
  assert.throws(() => confusionMatrixChart([[1, 2]], ["a", "b"]), /1 rows for 2 class names/);
});

function decodePng(dataUrl: string): { width: number; height: number; colourType: number; pixels: Uint8Array } {
  const buf = Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ""), "base64");
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  const colourType = buf[25]!;
  const idat: Buffer[] = [];
  for (let off = 8; off < buf.length;) {
    const len = buf.readUInt32BE(off);
    if (buf.toString("ascii", off + 4, off + 8) === "IDAT") idat.push(buf.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const channels = colourType === 2 ? 3 : 1;
  const pixels = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width * channels + 1)], 0, "filter type none");
    pixels.set(raw.subarray(y * (width * channels + 1) + 1, (y + 1) * (width * channels + 1)), y * width * channels);
  }
  return { width, height, colourType, pixels };
}

test("imageGridChart embeds each image as a PNG holding its pixels", async () => {
  const ramp = grid(4, 5, (r, c) => (r * 5 + c) / 19);
  const signed = grid(2, 2, (r, c) => (r === c ? -1 : 3)); // leaves [0, 1]: min-max scaled
  const rgb = { height: 1, width: 2, channels: 3 as const, values: [1, 0, 0, 0, 0.5, 1] };
  const spec = imageGridChart([ramp, signed, rgb], { labels: ["ramp", "signed", "rgb"], columns: 2 });
  const svg = await svgOf(spec);
  const images = marksOf(svg, "image");
  assert.equal(images.length, 3);
  const decoded = images.map((im) => decodePng(im.attrs["xlink:href"] ?? im.attrs.href ?? ""));
  assert.deepEqual([decoded[0]!.width, decoded[0]!.height, decoded[0]!.colourType], [5, 4, 0]);
  assert.deepEqual([...decoded[0]!.pixels], Array.from(ramp.values, (v) => Math.round(v * 255)));
  assert.deepEqual([...decoded[1]!.pixels], [0, 255, 255, 0]);
  assert.deepEqual([...decoded[2]!.pixels], [255, 0, 0, 0, 128, 255]);
  assert.deepEqual(marksOf(svg, "text").map((t) => t.text), ["ramp", "signed", "rgb"]);
  assert.throws(() => imageGridChart([grid(2, 2, () => NaN)]), /images\[0\] has NaN/);
});

test("scatterChart draws a symbol per point, coloured by label", async () => {
  const points = [{ x: 1, y: 2, label: "0" }, { x: 2, y: 1, label: "1" }, { x: 3, y: 3, label: "1" }];
  const svg = await svgOf(scatterChart(points));
  const symbols = marksOf(svg, "symbol");
  assert.equal(symbols.length, 3);
  assert.equal(new Set(symbols.map((s) => s.attrs.fill)).size, 2);
  assert.throws(() => scatterChart([{ x: Infinity, y: 0, label: "a" }]), /points\[0\]\.x must be a finite number/);
});

test("renderPng rasterises to a PNG of twice the SVG size by default", async () => {
  const spec = scatterChart([{ x: 0, y: 0, label: "a" }], { width: 100, height: 80 });
  const svg = parseXml(await renderSvg(spec));
  const png = await renderPng(spec);
  assert.equal(png.readUInt32BE(16), 2 * Number(svg.attrs.width));
  assert.equal(png.readUInt32BE(20), 2 * Number(svg.attrs.height));
});

test("renderSvg reports bad specs with the function name", async () => {
  await assert.rejects(renderSvg(null as never), /renderSvg: spec must be a vega-lite object/);
  await assert.rejects(renderSvg({ mark: "nonsense-mark" }), /renderSvg: vega-lite could not compile/);
});

// ---- The library's own records go into the chart builders as they are returned. ----

type Point = { run: string; epoch: number; metric: string; split: string; value: number };
const pointsOf = (spec: ReturnType<typeof trainingCurves>) => (spec.data as { values: Point[] }).values;

/** 4x4 two-class images whose class is the brightness of the left half (learnable in 2 epochs). */
function toyDataset(count: number, offset: number): ImageDataset {
  const labels = Uint8Array.from({ length: count }, (_, i) => (i + offset) % 2);
  const images = Float32Array.from({ length: count * 16 }, (_, p) => {
    const n = Math.floor(p / 16), col = p % 4;
    return col < 2 ? 0.2 + 0.6 * labels[n]! : ((p * 7 + offset) % 11) / 11;
  });
  return { name: "toy", images, labels, count, height: 4, width: 4, channels: 1, classNames: ["dark", "bright"] };
}

async function trainTinyTeacher(): Promise<TrainResult> {
  const model = tf.sequential({ layers: [
    tf.layers.flatten({ inputShape: [4, 4, 1] }),
    tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
  ] });
  try {
    return await trainTeacher({ model, train: toyDataset(16, 0), validation: toyDataset(8, 1), epochs: 2, batchSize: 8, seed: 1, learningRate: 0.05 });
  } finally {
    model.dispose();
  }
}

test("trainingCurves(result.history) of a real run plots each train/validation metric with the record's values", async () => {
  const result = await trainTinyTeacher();
  assert.equal(result.history.length, 2);
  const points = pointsOf(trainingCurves(result.history));
  const expected: Point[] = result.history.flatMap((r) => [
    // Epochs counted from 1; accuracy in percent, as the tables give it.
    { run: "run", epoch: r.epoch + 1, metric: "loss", split: "training", value: r.trainLoss },
    { run: "run", epoch: r.epoch + 1, metric: "accuracy", split: "training", value: 100 * r.trainAccuracy },
    { run: "run", epoch: r.epoch + 1, metric: "accuracy", split: "validation", value: 100 * r.validationAccuracy! },
    { run: "run", epoch: r.epoch + 1, metric: "loss", split: "validation", value: r.validationLoss! },
  ]);
  const key = (p: Point) => `${p.epoch} ${p.metric} ${p.split}`;
  // learningRate, seconds and parts are no metric: exactly these points, no more.
  assert.deepEqual([...points].sort((a, b) => key(a).localeCompare(key(b))), expected.sort((a, b) => key(a).localeCompare(key(b))));
  // The TrainResult itself is accepted too, and draws 2 panels x (train, validation) lines.
  assert.deepEqual(pointsOf(trainingCurves(result)), points);
  const svg = await svgOf(trainingCurves(result.history));
  assert.equal(marksOf(svg, "line").length, 4);
});

test("trainingCurves takes segmentation records and compares runs of both kinds of records", () => {
  const segmentation: SegmentationEpochRecord[] = [
    { epoch: 0, learningRate: 1e-3, trainLoss: 0.6, trainMeanIoU: 0.5, validationMeanIoU: 0.55, validationDice: 0.6, validationLoss: 0.58, parts: { task: 0.6 }, seconds: 1 },
    { epoch: 1, learningRate: 1e-3, trainLoss: 0.4, trainMeanIoU: 0.7, validationMeanIoU: 0.72, validationDice: 0.8, validationLoss: 0.41, parts: { task: 0.4 }, seconds: 1 },
  ];
  const points = pointsOf(trainingCurves(segmentation));
  const series = (metric: string, split: string) => points.filter((p) => p.metric === metric && p.split === split).map((p) => [p.epoch, Math.round(p.value * 1e9) / 1e9]);
  assert.deepEqual(series("meanIoU", "training"), [[1, 50], [2, 70]]);
  assert.deepEqual(series("meanIoU", "validation"), [[1, 55], [2, 72]]);
  assert.deepEqual(series("dice", "validation"), [[1, 60], [2, 80]]);
  assert.deepEqual(series("loss", "training"), [[1, 0.6], [2, 0.4]]);
  assert.deepEqual(series("loss", "validation"), [[1, 0.58], [2, 0.41]]);
  assert.equal(points.length, 10);
  const classification: EpochRecord[] = [{ epoch: 0, learningRate: 1e-3, trainLoss: 2.3, trainAccuracy: 0.1, parts: { task: 2.3, ntk: 0.4 }, seconds: 2 }];
  const both = pointsOf(trainingCurves({ student: classification, unet: segmentation }, { metrics: ["loss"] }));
  assert.deepEqual(both.filter((p) => p.run === "student").map((p) => [p.split, p.value]), [["training", 2.3]]);
  assert.equal(both.filter((p) => p.run === "unet").length, 4);
});

test("lineChart takes interface-typed library rows, nested fields and several y fields", () => {
  const history: EpochRecord[] = [
    { epoch: 0, learningRate: 1e-3, trainLoss: 1, trainAccuracy: 0.5, validationAccuracy: 0.4, parts: {}, seconds: 1 },
    { epoch: 1, learningRate: 1e-3, trainLoss: 0.5, trainAccuracy: 0.7, validationAccuracy: 0.6, parts: {}, seconds: 1 },
  ];
  const single = lineChart(history, { x: "epoch", y: "validationAccuracy" });
  assert.deepEqual((single.data as { values: EpochRecord[] }).values, history);
  assert.deepEqual((single.encoding as { y: { field: string } }).y.field, "validationAccuracy");
  // Fabrication sweep points: accuracy per method is nested.
  const sweep: SweepPoint[] = [{ value: 0, accuracy: { none: 0.9, ntkd: 0.95 } }, { value: 0.5, accuracy: { none: 0.6, ntkd: 0.85 } }];
  const folded = lineChart(sweep, { x: "value", y: ["accuracy.none", "accuracy.ntkd"], seriesLabels: ["none", "NTKD"] });
  assert.deepEqual((folded.data as { values: unknown[] }).values, [
    { x: 0, y: 0.9, series: "none" }, { x: 0, y: 0.95, series: "NTKD" },
    { x: 0.5, y: 0.6, series: "none" }, { x: 0.5, y: 0.85, series: "NTKD" },
  ]);
  const pairs: EstimatedTrainedPoint[] = [{ kernels: 4, estimated: 0.8, trained: 0.85 }];
  const pairSpec = lineChart(pairs, { x: "kernels", y: ["estimated", "trained"] });
  assert.deepEqual((pairSpec.data as { values: unknown[] }).values, [{ x: 4, y: 0.8, series: "estimated" }, { x: 4, y: 0.85, series: "trained" }]);
  assert.throws(() => lineChart(sweep, { x: "value", y: "accuracy.kd" }), /rows\[0\] lacks field "accuracy.kd"/);
  assert.throws(() => lineChart(sweep, { x: "value", y: ["accuracy.none"], seriesLabels: ["a", "b"] }), /seriesLabels has 2 entries for 1 y fields/);
});

test("lineChart escapes a flat key holding a dot, which vega-lite would read as a path", async () => {
  const spec = lineChart([{ "t.s": 0, y: 1 }, { "t.s": 1, y: 2 }], { x: "t.s", y: "y" });
  assert.equal((spec.encoding as { x: { field: string } }).x.field, "t\\.s");
  assert.equal(marksOf(await svgOf(spec), "line").length, 1);
});

test("confusionMatrixChart takes an Evaluation's matrix with readonly class names, and a segmentation's binary confusion", async () => {
  const evaluation: Evaluation = { accuracy: 0.8, loss: 0.5, confusion: [[5, 1], [2, 7]], count: 15 };
  const classNames: readonly string[] = ["cat", "dog"];
  const labels = marksOf(await svgOf(confusionMatrixChart(evaluation.confusion, classNames, { normalize: true })), "text").map((t) => t.text).sort();
  assert.deepEqual(labels, ["0.17", "0.22", "0.78", "0.83"]);
  const binary = confusionMatrixChart({ truePositive: 30, falsePositive: 10, falseNegative: 5, trueNegative: 55 }, undefined, { normalize: true });
  const cells = (binary.data as { values: { true: string; predicted: string; count: number; fraction: number }[] }).values;
  // rows: true background [TN, FP], true object [FN, TP]
  assert.deepEqual(cells.map((c) => [c.true, c.predicted, c.count]), [
    ["background", "background", 55], ["background", "object", 10], ["object", "background", 5], ["object", "object", 30],
  ]);
  assert.ok(Math.abs(cells[3]!.fraction - 30 / 35) < 1e-12);
  const indexed = confusionMatrixChart([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  assert.deepEqual([...new Set((indexed.data as { values: { true: string }[] }).values.map((v) => v.true))], ["0", "1", "2"]);
});

test("imageGridChart takes the data previews' tiles (channels 1 or 3) without a cast", async () => {
  const grey: ImageTile = { values: Float32Array.from([0, 1, 1, 0]), height: 2, width: 2, channels: 1 };
  const colour: ImageTile = { values: Float32Array.from([1, 0, 0, 0, 0, 1]), height: 1, width: 2, channels: 3 };
  const images = marksOf(await svgOf(imageGridChart([grey, colour])), "image");
  const decoded = images.map((im) => decodePng(im.attrs["xlink:href"] ?? im.attrs.href ?? ""));
  assert.deepEqual([decoded[0]!.colourType, ...decoded[0]!.pixels], [0, 0, 255, 255, 0]);
  assert.deepEqual([decoded[1]!.colourType, ...decoded[1]!.pixels], [2, 255, 0, 0, 0, 0, 255]);
  const bad: ImageTile = { values: Float32Array.from([0, 0]), height: 1, width: 1, channels: 2 };
  assert.throws(() => imageGridChart([bad]), /images\[0\]\.channels must be 1 or 3, got 2/);
});

test("trainingCurves: a y-axis title with units per panel, whole 1-based epochs, a legend telling dashed validation from training", () => {
  const history: EpochRecord[] = [0, 1, 2].map((epoch) => ({
    epoch, learningRate: 1e-3, trainLoss: 1 / (epoch + 1), trainAccuracy: 0.5 + 0.1 * epoch, validationAccuracy: 0.45 + 0.1 * epoch, parts: { task: 1 }, seconds: 1,
  }));
  const spec = trainingCurves(history, { title: "mnist: LeNet-5 teacher" });
  type Panel = { transform: { filter: { equal: string } }[]; encoding: Record<string, { title?: unknown; axis?: { values?: number[]; format?: string }; scale?: { domain?: unknown; range?: unknown }; legend?: unknown }> };
  const panels = spec.concat as Panel[];
  const byMetric = new Map(panels.map((p) => [p.transform[0]!.filter.equal, p.encoding]));
  assert.equal(byMetric.get("accuracy")!.y!.title, "accuracy (%)");
  assert.equal(byMetric.get("loss")!.y!.title, "loss");
  for (const enc of byMetric.values()) {
    assert.equal(enc.x!.title, "epoch");
    assert.deepEqual(enc.x!.axis, { format: "d", values: [1, 2, 3] });
    assert.deepEqual(enc.strokeDash!.scale, { domain: ["training", "validation"], range: [[1, 0], [6, 4]] }, "training solid, validation dashed");
    assert.notEqual(enc.strokeDash!.legend, null);
  }
  const accuracy = pointsOf(spec).filter((p) => p.metric === "accuracy" && p.split === "validation").map((p) => [p.epoch, p.value]);
  assert.deepEqual(accuracy.map(([e, v]) => [e, Math.round(v! * 1e6) / 1e6]), [[1, 45], [2, 55], [3, 65]]);
  // Already in percent (values above 1): left as they are; 1-based epochs stay 1-based.
  const percent = pointsOf(trainingCurves([{ epoch: 1, acc: 91 }, { epoch: 2, acc: 95 }]));
  assert.deepEqual(percent.map((p) => [p.epoch, p.value]), [[1, 91], [2, 95]]);
});

test("confusionMatrixChart: a title naming the data set and what the cells hold; long class names angled, short ones upright", () => {
  const fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
  const identity = fashion.map((_, i) => fashion.map((_, j) => (i === j ? 10 : 0)));
  type Enc = { x: { title: string; axis: { labelAngle: number } }; y: { title: string; axis: { labelAngle: number } } };
  const spec = confusionMatrixChart(identity, fashion, { normalize: true, dataset: "Fashion-MNIST" });
  assert.equal(spec.title, "Fashion-MNIST: confusion matrix (fraction of each true class)");
  const enc = spec.encoding as Enc;
  assert.deepEqual([enc.x.title, enc.y.title], ["predicted class", "true class"]);
  assert.equal(enc.x.axis.labelAngle, -45, "10 cells of 30 px cannot hold 'T-shirt/top' upright");
  assert.equal(enc.y.axis.labelAngle, 0);
  const digits = confusionMatrixChart(identity, fashion.map((_, i) => String(i)));
  assert.equal(digits.title, "confusion matrix (counts)");
  assert.equal((digits.encoding as Enc).x.axis.labelAngle, 0);
  assert.equal(confusionMatrixChart(identity, fashion, { title: "mine" }).title, "mine");
});

test("barChart: paper ticks per method, a y axis zoomed to where the methods differ, a titled x axis", async () => {
  const rows = [
    { label: "no transfer", group: "mnist", mean: 90, std: 1 },
    { label: "NTKD", group: "mnist", mean: 96, std: 0.5 },
  ];
  const reference = [{ label: "no transfer", group: "mnist", value: 91.4 }, { label: "NTKD", group: "mnist", value: 97.3 }];
  const spec = barChart(rows, { title: "Students", yTitle: "accuracy (%)", xTitle: "distillation method", zoom: true, reference });
  type Layer = { mark: { type: string }; data?: { values: { label: string; reference: number }[] }; encoding: { x: { title: string }; y: { scale?: { domain: number[] } } } };
  const layers = spec.layer as Layer[];
  assert.equal(layers[0]!.encoding.x.title, "distillation method");
  // Span 89 (90 - 1) .. 97.3, margin 15 % of it (1.245): [87.755, 98.545], not [0, ...].
  const [lo, hi] = layers[0]!.encoding.y.scale!.domain;
  assert.ok(Math.abs(lo! - 87.755) < 1e-9 && Math.abs(hi! - 98.545) < 1e-9, `domain ${lo}..${hi}`);
  const ticks = layers.find((l) => l.mark.type === "tick")!;
  assert.deepEqual(ticks.data!.values.map((v) => [v.label, v.reference]), [["no transfer", 91.4], ["NTKD", 97.3]]);
  assert.deepEqual(spec.title, { text: "Students", subtitle: "black ticks: the paper's value" });
  const svg = await svgOf(spec);
  assert.equal(marksOf(svg, "rect").filter((r) => r.attrs.fill !== "white").length >= 2, true);
  // Without zoom the axis starts at 0 as before; a reference to no bar is refused.
  assert.equal(barChart(rows).layer && (barChart(rows).layer as Layer[])[0]!.encoding.y.scale, undefined);
  assert.throws(() => barChart(rows, { reference: [{ label: "KD", group: "mnist", value: 95 }] }), /opts\.reference\[0\] \(label "KD", group "mnist"\) matches no bar/);
});

test("opticalKernelsChart names the method and the kind of optics, gives pixel (or µm) axes and a colour title with units", async () => {
  // Two 3x3 unit-energy PSFs, one colour: layout [k, k, C, n], index (r*3 + c)*2 + j.
  const values = Float32Array.from({ length: 18 }, (_, i) => (i % 2 === 0 ? (i === 8 ? 1 : 0) : 1 / 9));
  const kernels = { values, imag: null, kernelSize: 3, inputChannels: 1, count: 2, energyRule: "unit" };
  const frontend = { opticalKernels: () => kernels, getClassName: () => "PsfConvFrontend" };
  const spec = opticalKernelsChart(frontend, { method: "NTKD" });
  assert.equal(spec.title, "NTKD student: PSF-engineered optics, 2 of 2 PSFs (unit, 3×3 px)");
  type Enc = { x: { axis: { title: string; values: number[]; labelExpr?: string } }; y: { axis: { title: string } }; color: { title: string } };
  const enc = (spec.spec as { encoding: Enc }).encoding;
  assert.equal(enc.color.title, "intensity (fraction of light)");
  assert.deepEqual([enc.x.axis.title, enc.y.axis.title], ["x (px)", "y (px)"]);
  assert.deepEqual(enc.x.axis.values, [0, 1, 2]);
  // Without a method or a class name: the kind falls back, the title still says what is shown.
  assert.equal(opticalKernelsChart(kernels).title, "optical frontend, 2 of 2 PSFs (unit, 3×3 px)");
  // With a pixel pitch the axes read µm from the centre: pixel 0 of 3 at 4 µm pitch is -4 µm.
  const microns = heatmapChart(grid(3, 3, (r, c) => r + c), { pixelPitchM: 4e-6 });
  const axis = (microns.encoding as Enc).x.axis;
  assert.equal(axis.title, "x (µm)");
  const labels = [...(await renderSvg(microns)).matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
  for (const label of ["−4", "0", "4"]) assert.ok(labels.some((l) => l.replace("-", "−") === label), `axis label ${label} in ${labels.join(",")}`);
  assert.equal((heatmapChart(grid(2, 2, () => 1), { axes: "none" }).encoding as { x: { axis: unknown } }).x.axis, null);
});
