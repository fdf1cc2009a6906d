/** Tables, report fragments and embeddings the stage notebooks share. */
import type { ImageDataset } from "../data/types";
import type { OpticalStudent } from "../models/optical-student";
import { extractFeatures } from "../train/metrics";
import { subset } from "../data/splits";
import { nearestNeighbourAgreement, tsne2d } from "../viz/embedding";
import type { ScatterPoint } from "../viz/charts";
import type { DistillationStudyResult } from "./distillation";
import type { FabricationStudyResult } from "./fabrication";
import type { LayersModel } from "@tensorflow/tfjs";
import { PAPER, paperCell, paperPicojoulesPerMac } from "./paper";
import { hybridMacs, modelMacs, opticalMacs } from "../export/macs";
import { MAC_ENERGY_45NM, SENSOR_READOUT_CHOI_2020, energyPerImage, formatEnergy, formatMacs, picojoulesPerMac } from "../export/energy";
import { formatPercent } from "./stats";
import { STUDENT_METHODS, type StudentMethod } from "./presets";
import { describeReportedWeights, relativeLink, type ModelProvenance } from "./model-files";

export const METHOD_LABELS: Record<StudentMethod, string> = {
  none: "No transfer", kd: "KD", ntkd: "NTKD", "kd+ntkd": "KD + NTKD", sp: "Similarity-preserving KD", rkd: "Relational KD", gram: "Encoder Gram KD",
};

/** One model behind a reported number: its links, relative to the report's folder. */
export interface RowModelLink {
  seed: number;
  configHash: string;
  /** The model's own training log (one line per epoch it trained). */
  log: string;
  /** The model's metadata (config key, which epoch the weights are). */
  meta: string;
  /** "best val epoch N of M", "last epoch (M)" or "n/a". */
  weights: string;
}

/**
 * A row of a results table: ours beside the paper's, both in percent. `config` and `weights`
 * say which configuration and which epoch each seed's model is (per seed, in seed order); `links`
 * (only with a `linkFrom` folder) point at each seed's log and metadata.
 */
export type ComparisonRow = {
  method: string;
  ours: string;
  paper: string;
  seeds: number;
  /** Config hash of the models (one, or one per seed where they differ). */
  config?: string;
  /** Which epoch the weights are, per seed. */
  weights?: string;
  links?: RowModelLink[];
};

/** Options of the row builders. */
export interface RowOptions {
  /**
   * The folder the table's markdown lies in (a notebook's run folder for `run.writeReport`):
   * each row then carries links, relative to it, to each model's log and metadata.
   */
  linkFrom?: string;
}

/** The config, weights and link fields of a row from its models (in seed order). */
export function auditFields(models: (ModelProvenance | undefined)[], opts: RowOptions = {}): Pick<ComparisonRow, "config" | "weights" | "links"> {
  const known = models.filter((m): m is ModelProvenance => m !== undefined);
  if (known.length === 0) return {};
  const hashes = [...new Set(known.map((m) => m.configHash))];
  const fields: Pick<ComparisonRow, "config" | "weights" | "links"> = {
    config: hashes.join(", "),
    weights: known.map((m) => (known.length > 1 ? `seed ${m.seed}: ` : "") + describeReportedWeights(m.reported)).join("; "),
  };
  if (opts.linkFrom !== undefined) {
    const from = opts.linkFrom;
    fields.links = known.map((m) => ({ seed: m.seed, configHash: m.configHash, log: relativeLink(from, m.log), meta: relativeLink(from, m.meta), weights: describeReportedWeights(m.reported) }));
  }
  return fields;
}

/**
 * Table 3 rows (simulation) for one data set. Ours carry two decimals: the methods differ by
 * tenths of a point here, which one decimal (the paper's) would hide.
 */
export function distillationRows(r: DistillationStudyResult, opts: RowOptions = {}): ComparisonRow[] {
  const paper = (PAPER.table3 as Record<string, Record<string, { mean: number; std?: number }>>)[r.dataset];
  const rows: ComparisonRow[] = [{
    method: "Teacher",
    ours: (100 * r.teacher.accuracy).toFixed(2),
    paper: r.dataset === "mnist" ? paperCell({ mean: PAPER.teachers.mnist }) : r.dataset === "cifar10" ? paperCell({ mean: PAPER.teachers.cifar10 }) : "n/a",
    seeds: 1,
    ...auditFields([r.teacher.provenance], opts),
  }];
  for (const method of STUDENT_METHODS) {
    const s = r.students[method];
    // The paper has no SP or RKD row: its cell reads n/a.
    if (s) rows.push({ method: METHOD_LABELS[method], ours: formatPercent(s, 2), paper: paperCell(paper?.[method]), seeds: s.runs.length, ...auditFields(s.details.map((d) => d.provenance), opts) });
  }
  return rows;
}

/** Table 4 rows (fabricated system) for one data set. */
export function fabricationRows(dataset: string, r: FabricationStudyResult, opts: RowOptions = {}): ComparisonRow[] {
  const paper = (PAPER.table4 as Record<string, Record<string, { mean: number; std?: number }>>)[dataset];
  const n = r.details.length;
  // The simulated and uncompensated numbers come from the trained student itself; the others from its fine-tunes.
  const students = auditFields(r.details.map((d) => d.student), opts);
  return [
    { method: "Simulated (NTKD student, no errors)", ours: formatPercent(r.simulated), paper: dataset === "mnist" ? paperCell(PAPER.table3.mnist.ntkd) : "n/a", seeds: n, ...students },
    { method: "Fabricated, no compensation", ours: formatPercent(r.none), paper: paperCell(paper?.none), seeds: n, ...students },
    { method: "Compensation, end-to-end", ours: formatPercent(r.e2e), paper: paperCell(paper?.e2e), seeds: n, ...auditFields(r.details.map((d) => d.compensation?.e2e), opts) },
    { method: "Compensation, NTKD", ours: formatPercent(r.ntkd), paper: paperCell(paper?.ntkd), seeds: n, ...auditFields(r.details.map((d) => d.compensation?.ntkd), opts) },
  ];
}

/**
 * Markdown table of comparison rows. Rows that carry their models (see {@link auditFields}) get
 * torchdistill's columns: original work | ours | config | log, plus which epoch the weights are.
 * `unit` names the metric (default "accuracy %").
 */
export function comparisonMarkdown(rows: ComparisonRow[], title: string, unit = "accuracy %"): string {
  const audited = rows.some((r) => r.config !== undefined || r.links !== undefined);
  if (!audited) {
    const lines = [`**${title}** (${unit}, mean ± std over seeds)`, "", "| method | ours | paper | seeds |", "|---|---|---|---|"];
    for (const r of rows) lines.push(`| ${r.method} | ${r.ours} | ${r.paper} | ${r.seeds} |`);
    return lines.join("\n");
  }
  const lines = [
    `**${title}** (${unit}; ours: mean ± std over n seeds; config: hash of the model's configuration key, in full in its metadata; log: each seed's own training log, one line per epoch)`,
    "",
    "| method | original work (paper) | ours | n | config | weights | log |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const a = auditCells(r);
    lines.push(`| ${r.method} | ${r.paper} | ${r.ours} | ${r.seeds} | ${a.config} | ${a.weights} | ${a.log} |`);
  }
  return lines.join("\n");
}

/** The config, weights and log cells of an audited markdown row ("n/a" where a row has none). */
export function auditCells(r: Pick<ComparisonRow, "config" | "weights" | "links">): { config: string; weights: string; log: string } {
  return {
    config: r.config ? r.config.split(", ").map((h) => `\`${h}\``).join(", ") : "n/a",
    weights: r.weights ?? "n/a",
    log: r.links ? r.links.map((l) => `[seed ${l.seed}](${l.log}) ([meta](${l.meta}))`).join("<br>") : "n/a",
  };
}

/** A t-SNE of a student's backend features on `count` test images, and how well classes separate. */
export function featureEmbedding(student: OpticalStudent, ds: ImageDataset, opts: { count?: number; seed?: number; iterations?: number } = {}): { points: ScatterPoint[]; agreement: number } {
  const count = Math.min(opts.count ?? 500, ds.count);
  const sample = subset(ds, Array.from({ length: count }, (_, i) => i));
  const f = extractFeatures(student, sample);
  const y = tsne2d({ values: f.values, count: f.count, dims: f.dims }, { seed: opts.seed ?? 0, iterations: opts.iterations });
  const points = Array.from({ length: f.count }, (_, i) => ({ x: y[2 * i], y: y[2 * i + 1], label: ds.classNames[f.labels[i]] ?? String(f.labels[i]) }));
  return { points, agreement: nearestNeighbourAgreement(y, f.labels) };
}

/** A row of the MAC and energy table (paper §4.3): counts and energies per image, as text. */
export type MacEnergyRow = {
  system: string;
  opticalMacs: string;
  electronicMacs: string;
  /** Digital compute at 45 nm float32 (Horowitz 2014). */
  computeFloat32: string;
  /** Digital compute at 45 nm int8 (Horowitz 2014). */
  computeInt8: string;
  /** Digital compute at the paper's own energy per MAC (its U-Net row: compute J / MACs). */
  computePaperRate: string;
  /** Sensor readout (ours: Choi et al. 2020 per pixel; paper rows: its image capture). */
  readout: string;
  /** Float32 compute + readout (paper rows: the paper's total). */
  total: string;
  source: string;
};

/** The numbers behind {@link macEnergyRows}, for results.json. */
export interface MacEnergySummary {
  teacher: { electronicMacs: number; readoutPixels: number; totalJ: number };
  student: { opticalMacs: number; electronicMacs: number; readoutPixels: number; totalJ: number };
  allDigitalStudent: { electronicMacs: number; readoutPixels: number; totalJ: number };
  pjPerMacFloat32: number;
  pjPerReadoutPixel: number;
}

/**
 * MACs and energy per image of a data set's teacher, its optical student (the optics' MACs are
 * free, the sensor reads one pixel per kernel, colour channel and position), the same student
 * done all digitally, and the paper's Carvana figures (§4.3) below ours.
 */
export function macEnergyRows(opts: { dataset: string; teacher: LayersModel; student: OpticalStudent; height: number; width: number; channels: number }): { rows: MacEnergyRow[]; summary: MacEnergySummary } {
  const { height, width, channels } = opts;
  const fp32 = picojoulesPerMac(MAC_ENERGY_45NM.float32);
  const paperRate = paperPicojoulesPerMac();
  const teacher = { electronicMacs: modelMacs(opts.teacher).electronic, opticalMacs: 0, readoutPixels: height * width * channels };
  const hybrid = hybridMacs(opts.student, height, width);
  const f = opts.student.frontend;
  const crop = f.padding === "valid" ? f.kernelSize - 1 : 0;
  const student = { opticalMacs: hybrid.optical, electronicMacs: hybrid.electronic, readoutPixels: f.outputChannels * (height - crop) * (width - crop) };
  const allDigital = { opticalMacs: 0, electronicMacs: opticalMacs(f, height, width) + hybrid.electronic, readoutPixels: height * width * channels };
  const ours = (system: string, w: typeof student): MacEnergyRow => {
    const e = energyPerImage(w, MAC_ENERGY_45NM.float32);
    return {
      system: `${system} (ours, ${opts.dataset})`,
      opticalMacs: w.opticalMacs === 0 ? "0" : formatMacs(w.opticalMacs),
      electronicMacs: formatMacs(w.electronicMacs),
      computeFloat32: formatEnergy(e.computeJ),
      computeInt8: formatEnergy(energyPerImage(w, MAC_ENERGY_45NM.int8).computeJ),
      computePaperRate: formatEnergy(energyPerImage(w, paperRate).computeJ),
      readout: formatEnergy(e.readoutJ),
      total: formatEnergy(e.totalJ),
      source: "counted; Horowitz 2014, Choi et al. 2020",
    };
  };
  const rows: MacEnergyRow[] = [ours("Teacher", teacher), ours("Optical student", student), ours("Same student, all digital", allDigital)];
  for (const p of PAPER.energy.carvana) {
    rows.push({
      system: `${p.system} (paper, Carvana)`, opticalMacs: "n/a", electronicMacs: formatMacs(p.macs), computeFloat32: "n/a", computeInt8: "n/a",
      computePaperRate: formatEnergy(p.computeJ), readout: formatEnergy(p.captureJ), total: formatEnergy(p.totalJ), source: "paper §4.3",
    });
  }
  const total = (w: typeof student): number => energyPerImage(w, MAC_ENERGY_45NM.float32).totalJ;
  return {
    rows,
    summary: {
      teacher: { electronicMacs: teacher.electronicMacs, readoutPixels: teacher.readoutPixels, totalJ: total(teacher) },
      student: { ...student, totalJ: total(student) },
      allDigitalStudent: { electronicMacs: allDigital.electronicMacs, readoutPixels: allDigital.readoutPixels, totalJ: total(allDigital) },
      pjPerMacFloat32: fp32,
      pjPerReadoutPixel: SENSOR_READOUT_CHOI_2020.pjPerPixel,
    },
  };
}

/** Markdown table of {@link macEnergyRows}. */
export function macEnergyMarkdown(rows: MacEnergyRow[], title: string): string {
  const paperRate = paperPicojoulesPerMac().toFixed(1);
  const lines = [
    `**${title}** (per image; compute at 45 nm float32 4.6 pJ/MAC and int8 0.23 pJ/MAC after Horowitz, ISSCC 2014, and at the paper's own ${paperRate} pJ/MAC; readout ${SENSOR_READOUT_CHOI_2020.pjPerPixel.toFixed(0)} pJ/pixel after Choi et al., Sensors 2020; optical MACs cost no electrical energy)`,
    "",
    "| system | optical MACs | electronic MACs | compute fp32 | compute int8 | compute at paper's rate | readout | total (fp32) | source |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) lines.push(`| ${r.system} | ${r.opticalMacs} | ${r.electronicMacs} | ${r.computeFloat32} | ${r.computeInt8} | ${r.computePaperRate} | ${r.readout} | ${r.total} | ${r.source} |`);
  return lines.join("\n");
}
