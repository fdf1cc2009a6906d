/**
 * Saving and loading model weights in a run store (atomic checkpoint files), and each trained
 * model's own training log and metadata beside its weights, so that a report can link every
 * number to the epochs of the model behind it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { LayerVariable } from "@tensorflow/tfjs";
import { readCheckpoint, writeCheckpoint } from "../train/checkpoint";
import { loadStoredWeights } from "../train/loop";
import { readJsonLines, strictJson, writeFileAtomic } from "../notebook/run-store";

/** Writes the weights (trainable and not) to `file`, with JSON metadata. */
export function saveWeights(file: string, weights: LayerVariable[], meta: Record<string, unknown> = {}): void {
  writeCheckpoint(file, {
    meta,
    tensors: { weights: weights.map((w) => ({ shape: (w.shape as number[]).slice(), data: Float32Array.from(w.read().dataSync() as Float32Array) })) },
  });
}

/** Loads weights saved by {@link saveWeights} into `weights` (same architecture); returns the metadata. */
export function loadWeights(file: string, weights: LayerVariable[]): Record<string, unknown> {
  const ck = readCheckpoint(file);
  if (!ck.tensors.weights) throw new Error(`${file}: holds no "weights" tensors`);
  loadStoredWeights(weights, ck.tensors.weights, file);
  return ck.meta;
}

/** The weights file without its ".weights" ending: the stem its log and metadata files share. */
function stemOf(weightsFile: string): string {
  return weightsFile.endsWith(".weights") ? weightsFile.slice(0, -".weights".length) : weightsFile;
}

/** The training log beside a weights file: `teacher.weights` -> `teacher.metrics.jsonl` (one epoch record a line). */
export function trainingLogPath(weightsFile: string): string {
  return `${stemOf(weightsFile)}.metrics.jsonl`;
}

/** The readable metadata beside a weights file: `teacher.weights` -> `teacher.meta.json` (the checkpoint header's metadata). */
export function modelMetaPath(weightsFile: string): string {
  return `${stemOf(weightsFile)}.meta.json`;
}

/**
 * Which epoch's weights a model reports: the best validation epoch (the loop restores it when
 * it validates) or the last epoch trained. `epoch` is 0-based, as the log records' `epoch` field.
 */
export interface ReportedWeights {
  selection: "best-validation" | "last";
  epoch: number;
  /** Epochs trained in all (resumed ones included): the log's line count. */
  epochsTrained: number;
}

/** "best val epoch 3 of 5" / "last epoch (5)": 1-based, for tables. */
export function describeReportedWeights(w: ReportedWeights | undefined): string {
  if (!w) return "n/a";
  return w.selection === "best-validation" ? `best val epoch ${w.epoch + 1} of ${w.epochsTrained}` : `last epoch (${w.epochsTrained})`;
}

/**
 * What a reported number needs to be audited: the configuration, the weights file, its own
 * training log and its metadata. Paths are absolute; report builders make them relative.
 */
export interface ModelProvenance {
  /** "teacher", a student method, "seg-teacher", "compensation-ntkd"... (the log lines' `phase`). */
  phase: string;
  /** Seed of the model (the log lines' `seed`; 0 for teachers). */
  seed: number;
  /** The configuration key the weights were trained with (JSON). */
  configKey: string;
  /** A short hash of {@link configKey} (FNV-1a), the name a table shows. */
  configHash: string;
  weights: string;
  log: string;
  meta: string;
  /** Absent for a model saved before the selection was recorded. */
  reported?: ReportedWeights;
  /** Whether this session loaded the model instead of training it. */
  loaded: boolean;
}

/**
 * A short hash of a config key (FNV-1a, 32 bit). It names training-checkpoint folders, so a run
 * resumes only from checkpoints of the same configuration, and identifies a configuration in tables.
 */
export function configHash(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

function writeLog(file: string, lines: Record<string, unknown>[]): void {
  writeFileAtomic(file, lines.map((l) => JSON.stringify(l) + "\n").join(""));
}

/** Identity of one model's log lines. */
export interface TrainingLogIdentity {
  phase: string;
  seed: number;
  configHash: string;
}

/**
 * A model's own training log, written while it trains: every epoch rewrites the whole file
 * (temp file + rename), so a reader never sees half a line and a retrain from scratch replaces
 * the previous run's log at its first epoch. On a resume the epochs before it come from the
 * loop's resume checkpoint (`last.ckpt` of `checkpointDir`), the same history the loop
 * continues, so the log never mixes configurations (the checkpoint folder is per configuration).
 */
export class TrainingLog {
  private readonly lines: Record<string, unknown>[] = [];

  constructor(
    readonly file: string,
    private readonly identity: TrainingLogIdentity,
    checkpointDir?: string,
  ) {
    const resumeFrom = checkpointDir ? path.join(checkpointDir, "last.ckpt") : undefined;
    if (resumeFrom && fs.existsSync(resumeFrom)) {
      try {
        const history = readCheckpoint(resumeFrom).meta.history;
        if (Array.isArray(history)) for (const r of history) this.lines.push(this.line(r as Record<string, unknown>));
      } catch {
        // An unreadable checkpoint makes the loop start afresh (or fail), and the log with it.
      }
    }
    writeLog(file, this.lines);
  }

  private line(record: Record<string, unknown>): Record<string, unknown> {
    return { phase: this.identity.phase, seed: this.identity.seed, configHash: this.identity.configHash, ...record };
  }

  /** The loop's `onEpochEnd`: appends one epoch and rewrites the file. */
  readonly append = (record: object): void => {
    this.lines.push(this.line(record as Record<string, unknown>));
    writeLog(this.file, this.lines);
  };

  /** Rewrites the log from the loop's final history (the authoritative record, resumed epochs included). */
  finish(history: object[]): void {
    this.lines.length = 0;
    for (const r of history) this.lines.push(this.line(r as Record<string, unknown>));
    writeLog(this.file, this.lines);
  }
}

/**
 * Saves a trained model: its weights (checkpoint metadata: config key, history, which epoch the
 * weights are), its readable metadata file, and its log rewritten from `history`.
 */
export function saveTrainedModel(
  weightsFile: string,
  weights: LayerVariable[],
  opts: { phase: string; seed: number; configKey: string; history: object[]; reported: ReportedWeights; extra?: Record<string, unknown> },
): ModelProvenance {
  const hash = configHash(opts.configKey);
  const log = trainingLogPath(weightsFile);
  const metaFile = modelMetaPath(weightsFile);
  const meta = { ...opts.extra, configKey: opts.configKey, configHash: hash, phase: opts.phase, seed: opts.seed, reported: opts.reported, log: path.basename(log), history: opts.history };
  saveWeights(weightsFile, weights, meta);
  new TrainingLog(log, { phase: opts.phase, seed: opts.seed, configHash: hash }).finish(opts.history);
  writeModelMeta(metaFile, weightsFile, meta);
  return { phase: opts.phase, seed: opts.seed, configKey: opts.configKey, configHash: hash, weights: weightsFile, log, meta: metaFile, reported: opts.reported, loaded: false };
}

function writeModelMeta(metaFile: string, weightsFile: string, meta: Record<string, unknown>): void {
  const { history, ...rest } = meta;
  writeFileAtomic(metaFile, strictJson({ ...rest, weights: path.basename(weightsFile), epochs: Array.isArray(history) ? history.length : 0 }, metaFile) + "\n");
}

/**
 * The provenance of a model loaded from `weightsFile` (metadata `meta` as {@link loadWeights}
 * returned it). A model saved before logs were kept beside weights gets its log and metadata
 * file written now from the history its checkpoint holds, which is that model's own.
 */
export function loadedModelProvenance(weightsFile: string, meta: Record<string, unknown>, identity: { phase: string; seed: number }): ModelProvenance {
  const configKey = String(meta.configKey);
  const hash = configHash(configKey);
  const log = trainingLogPath(weightsFile);
  const metaFile = modelMetaPath(weightsFile);
  const history = Array.isArray(meta.history) ? (meta.history as object[]) : [];
  // A retrain of another configuration that was interrupted leaves its own partial log under this
  // name while these weights stay; the log must be this model's again.
  if (!logMatches(log, hash, history.length)) new TrainingLog(log, { ...identity, configHash: hash }).finish(history);
  if (readJsonOrUndefined(metaFile)?.configHash !== hash) writeModelMeta(metaFile, weightsFile, { ...meta, configHash: hash, phase: identity.phase, seed: identity.seed, log: path.basename(log) });
  const reported = meta.reported as ReportedWeights | undefined;
  return { ...identity, configKey, configHash: hash, weights: weightsFile, log, meta: metaFile, reported, loaded: true };
}

function readJsonOrUndefined(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Reads a training log written by {@link TrainingLog}: one record a line. */
export function readTrainingLog(file: string): Record<string, unknown>[] {
  return readJsonLines(file);
}

/** Whether `file` is a complete log of `epochs` epochs of the configuration `hash`. */
function logMatches(file: string, hash: string, epochs: number): boolean {
  if (!fs.existsSync(file)) return false;
  try {
    const lines = readTrainingLog(file);
    return lines.length === epochs && lines.every((l) => l.configHash === hash);
  } catch {
    return false;
  }
}

/** Which weights a finished loop run left in the model: the restored best validation epoch, or the last. */
export function reportedWeightsOf(result: { bestEpoch: number; epochsCompleted: number; history: unknown[] }, restoredBest: boolean): ReportedWeights {
  return restoredBest ? { selection: "best-validation", epoch: result.bestEpoch, epochsTrained: result.history.length } : { selection: "last", epoch: result.history.length - 1, epochsTrained: result.history.length };
}

/**
 * The runs root a weights file of a run store sits under: a store's checkpoints are
 * `<root>/<experiment>/<run>/checkpoints/<name>`.
 */
export function runsRootOf(weightsFile: string): string {
  return path.resolve(path.dirname(weightsFile), "..", "..", "..");
}

/** A path as a link from folder `from`: relative, with forward slashes. */
export function relativeLink(from: string, file: string): string {
  return path.relative(from, file).split(path.sep).join("/");
}

/** One model's entry in results.json / summary.json: what to audit it by. */
export interface ModelAuditEntry {
  phase: string;
  seed: number;
  configKey: string;
  configHash: string;
  /**
   * The log, metadata and weights files, relative to the folder holding the runs root
   * (`results/<mode>/` in a reproduction, where summary.json lies; the repository for `runs/`).
   */
  log: string;
  meta: string;
  weights: string;
  /** Which epoch the weights are (absent for a model saved before this was recorded). */
  reported?: ReportedWeights;
}

/** {@link ModelAuditEntry} of a model. */
export function modelAuditEntry(p: ModelProvenance): ModelAuditEntry {
  const base = path.dirname(runsRootOf(p.weights));
  return {
    phase: p.phase,
    seed: p.seed,
    configKey: p.configKey,
    configHash: p.configHash,
    log: relativeLink(base, p.log),
    meta: relativeLink(base, p.meta),
    weights: relativeLink(base, p.weights),
    ...(p.reported ? { reported: p.reported } : {}),
  };
}
