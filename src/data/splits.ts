/**
 * Seeded splits and subsets of data sets. Every function is a pure function of its inputs and
 * seed, so a run that records its seed can rebuild exactly the same split.
 */
import { deriveSeed, makeRng, seededPermutation, shuffleIndices, shuffleInPlace } from "../runtime/seed";
import { checkDataset } from "./batches";
import type { ImageDataset, SegmentationDataset } from "./types";

/** Either kind of in-memory data set; splitting and subsetting work the same for both. */
export type AnyDataset = ImageDataset | SegmentationDataset;

/** Sample indices of a split, each ascending. */
export interface SplitIndices {
  train: Int32Array;
  validation: Int32Array;
  /** Empty unless a `testFraction` was requested. */
  test: Int32Array;
}

/** Options of {@link splitIndices}. */
export interface SplitOptions {
  /** Fraction of the samples for validation, in [0, 1). */
  validationFraction: number;
  /** Fraction of the samples for test, in [0, 1); default 0 (data sets with an official test split). */
  testFraction?: number;
  /** Integer seed of the shuffle. */
  seed: number;
  /**
   * Keep class proportions in every part (default true when the data set has labels): each class
   * is split separately, so part sizes can differ from the rounded totals by up to one per class.
   */
  stratify?: boolean;
}

function checkFraction(value: number, arg: string, allowOne = false): void {
  if (!Number.isFinite(value) || value < 0 || value > 1 || (!allowOne && value === 1)) {
    throw new Error(`${arg}: got ${value}; expected a number in [0, 1${allowOne ? "]" : ")"}`);
  }
}

function isLabelled(ds: AnyDataset): ds is ImageDataset {
  return (ds as ImageDataset).labels !== undefined;
}

/** Groups sample indices by class (one group when there are no labels or stratification is off). */
function groups(ds: AnyDataset, stratify: boolean): number[][] {
  if (!stratify || !isLabelled(ds)) return [Array.from({ length: ds.count }, (_, i) => i)];
  const byClass: number[][] = [];
  for (let i = 0; i < ds.count; i++) (byClass[ds.labels[i]!] ??= []).push(i);
  return byClass.filter((g) => g !== undefined);
}

const ascending = (values: number[]) => Int32Array.from(values).sort();

/** Seeded, disjoint train/validation/test indices covering every sample exactly once. */
export function splitIndices(ds: AnyDataset, opts: SplitOptions): SplitIndices {
  const testFraction = opts.testFraction ?? 0;
  checkFraction(opts.validationFraction, "validationFraction");
  checkFraction(testFraction, "testFraction");
  if (opts.validationFraction + testFraction >= 1) {
    throw new Error(`validationFraction + testFraction: got ${opts.validationFraction + testFraction}; expected less than 1 so that training data remains`);
  }
  const rand = makeRng(opts.seed);
  const train: number[] = [];
  const validation: number[] = [];
  const test: number[] = [];
  for (const group of groups(ds, opts.stratify ?? true)) {
    shuffleInPlace(group, rand);
    const nValidation = Math.round(group.length * opts.validationFraction);
    const nTest = Math.min(Math.round(group.length * testFraction), group.length - nValidation);
    validation.push(...group.slice(0, nValidation));
    test.push(...group.slice(nValidation, nValidation + nTest));
    train.push(...group.slice(nValidation + nTest));
  }
  return { train: ascending(train), validation: ascending(validation), test: ascending(test) };
}

/** A copy of the samples at `indices` (in that order), with the same metadata. */
export function subset<T extends AnyDataset>(ds: T, indices: ArrayLike<number>): T {
  const pixels = ds.height * ds.width * ds.channels;
  const maskPixels = ds.height * ds.width;
  const images = new Float32Array(indices.length * pixels);
  const labelled = isLabelled(ds);
  const labels = labelled ? new Uint8Array(indices.length) : undefined;
  const masks = labelled ? undefined : new Uint8Array(indices.length * maskPixels);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) {
      throw new Error(`indices[${k}]: got ${i}; expected an integer in 0..${ds.count - 1} (${ds.name})`);
    }
    images.set(ds.images.subarray(i * pixels, (i + 1) * pixels), k * pixels);
    if (labels) labels[k] = (ds as ImageDataset).labels[i]!;
    if (masks) masks.set((ds as SegmentationDataset).masks.subarray(i * maskPixels, (i + 1) * maskPixels), k * maskPixels);
  }
  return labelled ? { ...ds, images, labels, count: indices.length } : { ...ds, images, masks, count: indices.length };
}

/** Seeded train/validation split of one data set (stratified by class when labelled). */
export function trainValidationSplit<T extends AnyDataset>(
  ds: T,
  opts: { validationFraction: number; seed: number; stratify?: boolean },
): { train: T; validation: T; indices: SplitIndices } {
  const indices = splitIndices(ds, opts);
  return { train: subset(ds, indices.train), validation: subset(ds, indices.validation), indices };
}

/** Seeded train/validation/test split, for data sets without an official test split (Carvana, generated). */
export function trainValidationTestSplit<T extends AnyDataset>(
  ds: T,
  opts: { validationFraction: number; testFraction: number; seed: number; stratify?: boolean },
): { train: T; validation: T; test: T; indices: SplitIndices } {
  const indices = splitIndices(ds, opts);
  return { train: subset(ds, indices.train), validation: subset(ds, indices.validation), test: subset(ds, indices.test), indices };
}

/**
 * Indices of a seeded sample of `fraction` of the data set, stratified by class when labelled
 * (each class contributes round(fraction x its size), at least one sample when fraction > 0).
 * This is the "10% of the real data" used for fabrication compensation.
 */
export function sampleFractionIndices(ds: AnyDataset, fraction: number, seed: number): Int32Array {
  checkFraction(fraction, "fraction", true);
  const rand = makeRng(seed);
  const chosen: number[] = [];
  for (const group of groups(ds, true)) {
    shuffleInPlace(group, rand);
    const n = fraction === 0 ? 0 : Math.max(1, Math.round(group.length * fraction));
    chosen.push(...group.slice(0, n));
  }
  return ascending(chosen);
}

/** A seeded, class-stratified sample of `fraction` of the data set (see {@link sampleFractionIndices}). */
export function sampleFraction<T extends AnyDataset>(ds: T, fraction: number, seed: number): T {
  return subset(ds, sampleFractionIndices(ds, fraction, seed));
}

/**
 * Splits a classification dataset into training and validation parts: a seeded shuffle (not
 * stratified), the first `validationFraction` of it for validation.
 */
export function holdOut(ds: ImageDataset, validationFraction: number, seed: number): { train: ImageDataset; validation: ImageDataset } {
  checkDataset(ds, "holdOut dataset");
  if (!(validationFraction > 0 && validationFraction < 1)) throw new Error(`holdOut: validationFraction must be in (0, 1), got ${validationFraction}`);
  const nVal = Math.max(1, Math.round(ds.count * validationFraction));
  if (nVal >= ds.count) throw new Error(`holdOut: ${ds.count} images are too few to hold out ${validationFraction}`);
  const order = seededPermutation(ds.count, deriveSeed(seed, 0x0a11d));
  return {
    validation: { ...subset(ds, order.subarray(0, nVal)), name: `${ds.name}-validation` },
    train: { ...subset(ds, order.subarray(nVal)), name: `${ds.name}-train` },
  };
}

/** Requested sizes, in samples, of a train/validation/test split by group. */
export interface GroupSplitCounts {
  train: number;
  validation: number;
  test: number;
}

/** Options of {@link splitIndicesByGroup}. */
export interface GroupSplitOptions {
  /** Group key of every sample (e.g. the car id of each Carvana view); samples sharing a key land in one part. */
  groups: readonly string[];
  /** Requested part sizes in samples (validation may be 0). */
  counts: GroupSplitCounts;
  /** Integer seed of the group shuffle. */
  seed: number;
  /** Smallest test part accepted (in samples). Default 4, so the test set is never one or two images. */
  minTestSamples?: number;
  /** Names the data in errors, e.g. the folder. */
  what: string;
  /** Words for samples and groups in errors. Default `{ samples: "samples", groups: "groups" }`. */
  nouns?: { samples: string; groups: string };
}

/** Result of {@link splitIndicesByGroup}. */
export interface GroupSplit extends SplitIndices {
  /** Number of groups in each part. */
  groupCounts: GroupSplitCounts;
  /** True when the data held fewer samples than requested and every part was scaled down in proportion. */
  scaled: boolean;
}

/**
 * Seeded train/validation/test indices in which no group straddles two parts. The sorted group
 * keys are shuffled with `seed`; test then validation take whole groups until each holds at least
 * its requested count (so a part may exceed it by less than one group), and train takes groups
 * until it holds `counts.train`. When the data hold fewer samples than the three counts together,
 * every target is scaled by (samples / requested) and train takes all remaining groups. Throws
 * when a requested part would get no group, or the test part fewer than `minTestSamples`.
 */
export function splitIndicesByGroup(opts: GroupSplitOptions): GroupSplit {
  const { groups, counts, seed, what } = opts;
  const minTest = opts.minTestSamples ?? 4;
  const nouns = opts.nouns ?? { samples: "samples", groups: "groups" };
  for (const part of ["train", "validation", "test"] as const) {
    const v = counts[part];
    if (!Number.isInteger(v) || v < 0 || (part !== "validation" && v === 0)) {
      throw new Error(`${what}: ${part} count ${v}; expected a ${part === "validation" ? "non-negative" : "positive"} integer`);
    }
  }
  const members = new Map<string, number[]>();
  groups.forEach((key, i) => {
    const list = members.get(key);
    if (list) list.push(i);
    else members.set(key, [i]);
  });
  const sortedKeys = [...members.keys()].sort();
  const order = Array.from(shuffleIndices(sortedKeys.length, makeRng(seed)), (i) => sortedKeys[i]!);
  const requested = counts.train + counts.validation + counts.test;
  const scaled = groups.length < requested;
  const factor = scaled ? groups.length / requested : 1;
  const parts: Record<keyof GroupSplitCounts, number[]> = { train: [], validation: [], test: [] };
  const groupCounts: GroupSplitCounts = { train: 0, validation: 0, test: 0 };
  let next = 0;
  for (const part of ["test", "validation", "train"] as const) {
    const target = counts[part] * factor;
    const takeAll = part === "train" && scaled;
    while (next < order.length && counts[part] > 0 && (takeAll || parts[part].length < target)) {
      parts[part].push(...members.get(order[next++]!)!);
      groupCounts[part]++;
    }
  }
  const missing = (["train", "validation", "test"] as const).filter((p) => counts[p] > 0 && groupCounts[p] === 0);
  if (missing.length > 0 || parts.test.length < minTest) {
    const needGroups = (["train", "validation", "test"] as const).filter((p) => counts[p] > 0).length;
    throw new Error(
      `${what}: ${groups.length} ${nouns.samples} of ${order.length} ${nouns.groups} are too few to split by ${nouns.groups.replace(/s$/, "")} ` +
        `(requested ${counts.train} train, ${counts.validation} validation, ${counts.test} test); ` +
        `need at least ${needGroups} ${nouns.groups} (one per part) and ${minTest} test ${nouns.samples}`,
    );
  }
  return { train: ascending(parts.train), validation: ascending(parts.validation), test: ascending(parts.test), groupCounts, scaled };
}
