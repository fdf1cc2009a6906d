/** Loads a classification data set by name, with the splits every stage shares. */
import type { ImageDataset } from "../data/types";
import { loadMnist } from "../data/mnist";
import { loadFashionMnist } from "../data/fashion-mnist";
import { loadCifar10 } from "../data/cifar10";
import { trainValidationSplit } from "../data/splits";
import { subset } from "../data/splits";

/** Classification data sets the stages know. */
export type ClassificationDatasetName = "mnist" | "fashion-mnist" | "cifar10";

export const CLASSIFICATION_DATASETS: readonly ClassificationDatasetName[] = ["mnist", "fashion-mnist", "cifar10"];

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
