/**
 * Tables and figures of the segmentation stage: ours beside the paper's Carvana numbers (a
 * different data set unless the study ran on Carvana), and images with masks overlaid.
 */
import type { LayersModel, Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import type { SegmentationDataset } from "../data/types";
import type { RgbImage } from "../viz/charts";
import { PAPER, paperCell } from "./paper";
import { formatPercent, type SeedSummary } from "./stats";
import type { SegmentationStudyResult } from "./segmentation-study";
import type { SegmentationFabricationStudyResult } from "./segmentation-fabrication";
import { auditCells, auditFields, comparisonMarkdown, distillationRows, type ComparisonRow, type RowOptions } from "./report";
import { modelAuditEntry, type ModelAuditEntry } from "./model-files";
import { studySummary, type DistillationStudyResult } from "./distillation";

/** One row of a segmentation table (percent strings). */
export interface SegmentationTableRow {
  method: string;
  /** Our test mIoU, mean ± std over seeds. */
  meanIoU: string;
  /** Our test Dice of the object class. */
  dice: string;
  /** The paper's Carvana mIoU. */
  paperCarvana: string;
  seeds: number;
  /** Config hash of the models behind the row (see `auditFields`). */
  config?: string;
  /** Which epoch the weights are, per seed. */
  weights?: string;
  /** Each seed's log and metadata, relative to `linkFrom` (only with that option). */
  links?: ComparisonRow["links"];
}

const LABELS = { none: "No transfer", kd: "KD", ntkd: "NTKD" } as const;

/** Label of the all-background row of {@link segmentationRows}. */
export const ALL_BACKGROUND_LABEL = "All background (trivial baseline)";

/**
 * Teacher and none/KD/NTKD students beside the paper's Table 3 Carvana column, preceded by the
 * all-background baseline when the study has one (the score every model must clear; the paper
 * reports none, and it depends on the test set, one value, not a seed mean).
 */
export function segmentationRows(r: SegmentationStudyResult, opts: RowOptions = {}): SegmentationTableRow[] {
  const rows: SegmentationTableRow[] = [];
  if (r.baseline) {
    rows.push({ method: ALL_BACKGROUND_LABEL, meanIoU: (100 * r.baseline.meanIoU).toFixed(1), dice: (100 * r.baseline.dice).toFixed(1), paperCarvana: paperCell(undefined), seeds: 1 });
  }
  rows.push({
    method: "Teacher (U-Net)", meanIoU: (100 * r.teacher.meanIoU).toFixed(1), dice: (100 * r.teacher.dice).toFixed(1), paperCarvana: paperCell({ mean: PAPER.teachers.carvanaMeanIoU }), seeds: 1,
    ...auditFields([r.teacher.provenance], opts),
  });
  for (const m of ["none", "kd", "ntkd"] as const) {
    const s = r.students[m];
    rows.push({ method: LABELS[m], meanIoU: formatPercent(s), dice: formatPercent(s.dice), paperCarvana: paperCell(PAPER.table3.carvana[m]), seeds: s.runs.length, ...auditFields((s.details ?? []).map((d) => d.provenance), opts) });
  }
  return rows;
}

/** Each model of a segmentation study by config key, log and metadata, for results.json (see `modelAuditEntry`). */
export function segmentationModelsSummary(r: SegmentationStudyResult): { teacher?: ModelAuditEntry; students: Record<string, (ModelAuditEntry & { meanIoU: number; dice: number })[]> } {
  const students: Record<string, (ModelAuditEntry & { meanIoU: number; dice: number })[]> = {};
  for (const m of ["none", "kd", "ntkd"] as const) {
    students[m] = r.students[m].details.filter((d) => d.provenance).map((d) => ({ meanIoU: d.meanIoU, dice: d.dice, ...modelAuditEntry(d.provenance) }));
  }
  return { ...(r.teacher.provenance ? { teacher: modelAuditEntry(r.teacher.provenance) } : {}), students };
}

/** Fabricated segmentation ONN beside the paper's Table 4 Carvana column. */
export function segmentationFabricationRows(r: SegmentationFabricationStudyResult): SegmentationTableRow[] {
  const n = r.details.length;
  const row = (method: string, s: SeedSummary, paper: string): SegmentationTableRow => ({ method, meanIoU: formatPercent(s), dice: "n/a", paperCarvana: paper, seeds: n });
  return [
    row("Simulated (NTKD student, designed PSFs)", r.simulated, paperCell(PAPER.table3.carvana.ntkd)),
    row("Fabricated, no compensation", r.none, paperCell(PAPER.table4.carvana.none)),
    row("Compensation, end-to-end", r.e2e, paperCell(PAPER.table4.carvana.e2e)),
    row("Compensation, NTKD", r.ntkd, paperCell(PAPER.table4.carvana.ntkd)),
  ];
}

/** A markdown table of segmentation rows; `dataset` names our data so nobody mistakes it for Carvana. */
export function segmentationMarkdown(rows: SegmentationTableRow[], title: string, dataset: string): string {
  if (rows.some((r) => r.config !== undefined || r.links !== undefined)) {
    const lines = [
      `**${title}** (test mIoU and Dice %; ours on ${dataset}: mean ± std over n seeds; original work on Carvana; config: hash of the model's configuration key, in full in its metadata; log: each seed's own training log, one line per epoch)`,
      "",
      `| method | original work (paper, Carvana mIoU) | ours (mIoU, ${dataset}) | Dice (ours) | n | config | weights | log |`,
      "|---|---|---|---|---|---|---|---|",
    ];
    for (const r of rows) {
      const a = auditCells(r);
      lines.push(`| ${r.method} | ${r.paperCarvana} | ${r.meanIoU} | ${r.dice} | ${r.seeds} | ${a.config} | ${a.weights} | ${a.log} |`);
    }
    return lines.join("\n");
  }
  const lines = [
    `**${title}** (test mIoU and Dice %, mean ± std over seeds; ours on ${dataset}, paper on Carvana)`,
    "",
    `| method | mIoU (ours, ${dataset}) | Dice (ours) | paper mIoU (Carvana) | seeds |`,
    "|---|---|---|---|---|",
  ];
  for (const r of rows) lines.push(`| ${r.method} | ${r.meanIoU} | ${r.dice} | ${r.paperCarvana} | ${r.seeds} |`);
  return lines.join("\n");
}

/** One bar of the segmentation mIoU chart (percent): ours on `group`'s data set or the paper's on Carvana. */
export interface SegmentationBar {
  label: string;
  group: string;
  mean: number;
  /** Over seeds; absent for the teacher (one model) and for the paper's figures the chart shows without. */
  std?: number;
}

/**
 * Teacher and students, ours beside the paper's Table 3 Carvana mIoU, as bars for `barChart`.
 * The paper's bars carry no std so the chart draws error bars only on ours, the runs we can vouch for.
 */
export function segmentationMiouBars(r: SegmentationStudyResult, dataset: string): SegmentationBar[] {
  const ours = `ours (${dataset})`;
  const paper = "paper (Carvana)";
  const bars: SegmentationBar[] = [
    { label: "Teacher", group: ours, mean: 100 * r.teacher.meanIoU },
    { label: "Teacher", group: paper, mean: 100 * PAPER.teachers.carvanaMeanIoU },
  ];
  for (const m of ["none", "kd", "ntkd"] as const) {
    const s = r.students[m];
    bars.push({ label: LABELS[m], group: ours, mean: 100 * s.mean, std: 100 * s.std });
    bars.push({ label: LABELS[m], group: paper, mean: 100 * PAPER.table3.carvana[m].mean });
  }
  return bars;
}

/** One point of a segmentation training curve. */
export interface SegmentationCurveRow {
  /** 1-based epoch. */
  epoch: number;
  /** Training mIoU of that epoch, percent. */
  mIoU: number;
  /** "Teacher" or the student's method label. */
  model: string;
}

/**
 * Training mIoU per epoch of the teacher and of each method's first-seed student, for `lineChart`.
 * Empty when every model came from the run store without a history.
 */
export function segmentationCurveRows(r: SegmentationStudyResult): SegmentationCurveRow[] {
  const rows: SegmentationCurveRow[] = r.teacher.history.map((h) => ({ epoch: h.epoch + 1, mIoU: 100 * h.trainMeanIoU, model: "Teacher" }));
  for (const m of ["none", "kd", "ntkd"] as const) {
    const first = r.students[m].details[0];
    if (first) rows.push(...first.history.map((h) => ({ epoch: h.epoch + 1, mIoU: 100 * h.trainMeanIoU, model: LABELS[m] })));
  }
  return rows;
}

function seedSummary(s: SeedSummary): SeedSummary {
  return { mean: s.mean, std: s.std, runs: s.runs };
}

/** Inputs of {@link segmentationResults} and {@link segmentationReport}. */
export interface SegmentationStageInput {
  /** Our data set's name (results are keyed by it). */
  dataset: string;
  study: SegmentationStudyResult;
  fabrication: SegmentationFabricationStudyResult;
  /** The CIFAR-10 distillation study, when CIFAR-10 was on disk. */
  cifar?: DistillationStudyResult | null;
  /** Figure file names (without extension) in the run's figures/ folder that the report embeds. */
  figures?: string[];
}

/**
 * The segmentation stage's `datasets` for results.json (fractions): teacher, the all-background baseline, students (mIoU over
 * seeds with Dice), the fabricated system with its error model, the preset, and CIFAR-10 when run.
 * Per-seed histories and splits stay out: summary.json holds numbers, the run store holds logs.
 */
export function segmentationResults(r: SegmentationStageInput): Record<string, Record<string, unknown>> {
  const { study, fabrication: fab } = r;
  const students = Object.fromEntries((["none", "kd", "ntkd"] as const).map((m) => [
    m, { ...seedSummary(study.students[m]), dice: seedSummary(study.students[m].dice) },
  ]));
  const out: Record<string, Record<string, unknown>> = {
    [r.dataset]: {
      teacher: { meanIoU: study.teacher.meanIoU, dice: study.teacher.dice },
      ...(study.baseline ? { baseline: { meanIoU: study.baseline.meanIoU, dice: study.baseline.dice, objectFraction: study.baseline.objectFraction } } : {}),
      students,
      fabrication: {
        simulated: seedSummary(fab.simulated), none: seedSummary(fab.none), e2e: seedSummary(fab.e2e), ntkd: seedSummary(fab.ntkd),
        errors: fab.errors, settings: fab.settings,
      },
      preset: study.preset,
    },
  };
  if (r.cifar) out.cifar10 = studySummary(r.cifar);
  return out;
}

/** The stage's report fragment: Tables 3 and 4 beside the paper's Carvana column, figures, and CIFAR-10 or how to add it. */
export function segmentationReport(r: SegmentationStageInput): string {
  return [
    segmentationMarkdown(segmentationRows(r.study), "Segmentation: teacher and students (paper Table 3, Carvana column)", r.dataset),
    segmentationMarkdown(segmentationFabricationRows(r.fabrication), "Fabricated segmentation ONN (paper Table 4, Carvana column)", r.dataset),
    ...(r.figures ?? []).map((f) => `![${f}](figures/${f}.svg)`),
    r.cifar
      ? comparisonMarkdown(distillationRows(r.cifar), "CIFAR-10: teacher and polychromatic students (paper Table 3)")
      : "CIFAR-10 was not on disk; run `npm run data:cifar10` to add its results.",
  ].join("\n\n");
}

/** Options of {@link maskOverlayGrid}. */
export interface MaskOverlayOptions {
  /** Which test images (default the first 4). */
  indices?: number[];
  /** Overlay colour, RGB in [0, 1] (default red). */
  color?: [number, number, number];
  /** Opacity of the overlay (default 0.5). */
  opacity?: number;
}

/** An image with a binary mask blended in `color`. */
export function overlayMask(image: ArrayLike<number>, mask: ArrayLike<number>, height: number, width: number, channels: number, color: [number, number, number] = [1, 0, 0], opacity = 0.5): RgbImage {
  if (channels !== 1 && channels !== 3) throw new Error(`overlayMask: channels must be 1 or 3, got ${channels}`);
  if (image.length !== height * width * channels || mask.length !== height * width) {
    throw new Error(`overlayMask: a ${height}x${width}x${channels} image needs ${height * width * channels} values and ${height * width} mask values, got ${image.length} and ${mask.length}`);
  }
  if (!(opacity >= 0 && opacity <= 1)) throw new Error(`overlayMask: opacity must be in [0, 1], got ${opacity}`);
  const values = new Float32Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    const on = mask[p] > 0.5;
    for (let c = 0; c < 3; c++) {
      const v = image[p * channels + (channels === 3 ? c : 0)];
      values[p * 3 + c] = on ? (1 - opacity) * v + opacity * color[c] : v;
    }
  }
  return { values, height, width, channels: 3 };
}

/**
 * One row per test image: the image, the true mask overlaid, then each network's predicted
 * mask (sigmoid > 0.5) overlaid. Feed to `imageGridChart(g.images, { labels: g.labels, columns: g.columns })`.
 */
export function maskOverlayGrid(
  nets: { label: string; model: LayersModel }[],
  ds: SegmentationDataset,
  opts: MaskOverlayOptions = {},
): { images: RgbImage[]; labels: string[]; columns: number } {
  const indices = opts.indices ?? Array.from({ length: Math.min(4, ds.count) }, (_, i) => i);
  indices.forEach((i) => {
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) throw new Error(`maskOverlayGrid: index ${i} is outside 0..${ds.count - 1} of ${ds.name}`);
  });
  const { height: h, width: w, channels: c } = ds;
  const pix = h * w;
  const batch = new Float32Array(indices.length * pix * c);
  indices.forEach((i, j) => batch.set(ds.images.subarray(i * pix * c, (i + 1) * pix * c), j * pix * c));
  const predictions = nets.map((n) =>
    tf.tidy(() => {
      const logits = n.model.apply(tf.tensor4d(batch, [indices.length, h, w, c]), { training: false }) as Tensor;
      const values = tf.greater(logits, 0).dataSync();
      if (values.length !== indices.length * pix) throw new Error(`maskOverlayGrid: "${n.label}" outputs ${JSON.stringify(logits.shape)}, expected [${indices.length}, ${h}, ${w}, 1]`);
      return Uint8Array.from(values);
    }),
  );
  const images: RgbImage[] = [];
  const labels: string[] = [];
  indices.forEach((i, j) => {
    const image = ds.images.subarray(i * pix * c, (i + 1) * pix * c);
    images.push(overlayMask(image, new Uint8Array(pix), h, w, c), overlayMask(image, ds.masks.subarray(i * pix, (i + 1) * pix), h, w, c, opts.color, opts.opacity));
    labels.push(`#${i}`, "truth");
    nets.forEach((n, k) => {
      images.push(overlayMask(image, predictions[k].subarray(j * pix, (j + 1) * pix), h, w, c, opts.color, opts.opacity));
      labels.push(n.label);
    });
  });
  return { images, labels, columns: 2 + nets.length };
}
