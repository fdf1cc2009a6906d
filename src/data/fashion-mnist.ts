/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, Zalando Research), read from gzipped IDX files.
 * Debian's `dataset-fashion-mnist` package installs them in /usr/share/datasets/fashion-mnist.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkSplit, loadIdxFolder, type IdxSplit } from "./mnist";
import type { ImageDataset } from "./types";

/** Default folder: Debian's `dataset-fashion-mnist` package. */
export const FASHION_MNIST_DEFAULT_DIR = "/usr/share/datasets/fashion-mnist";

/** Options of {@link loadFashionMnist}. */
export interface FashionMnistOptions {
  /** "train" (60,000 images) or "test" (10,000 images). Default "train". */
  split?: IdxSplit;
  /** Keep only the first `limit` images of the split (all when omitted). */
  limit?: number;
  /** Folder holding the four IDX files. Default: env NTKD_FASHION_MNIST_DIR, else {@link FASHION_MNIST_DEFAULT_DIR}. */
  dir?: string;
}

/** The ten Fashion-MNIST classes, in label order. */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
];

/** The folder {@link loadFashionMnist} reads when no `dir` is given. */
export function fashionMnistDir(): string {
  return process.env.NTKD_FASHION_MNIST_DIR || FASHION_MNIST_DEFAULT_DIR;
}

/** True when the Fashion-MNIST folder exists (the files are checked when loading). */
export function fashionMnistAvailable(dir: string = fashionMnistDir()): boolean {
  return fs.existsSync(dir);
}

/** Why Fashion-MNIST is not in `dir`, and the two ways to get it, in one line. */
export function fashionMnistMissingMessage(dir: string = fashionMnistDir()): string {
  const from = process.env.NTKD_FASHION_MNIST_DIR ? " (from NTKD_FASHION_MNIST_DIR)" : "";
  return `Fashion-MNIST not found: ${path.resolve(dir)}${from} is not a folder; install it with ` +
    `\`apt-get install dataset-fashion-mnist\` (into ${FASHION_MNIST_DEFAULT_DIR}) or set NTKD_FASHION_MNIST_DIR to a folder holding the four IDX files`;
}

/** Loads Fashion-MNIST as 28x28x1 images in [0, 1] with labels 0-9. */
export function loadFashionMnist(opts: FashionMnistOptions = {}): ImageDataset {
  const split = checkSplit(opts.split ?? "train");
  const dir = opts.dir ?? fashionMnistDir();
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(fashionMnistMissingMessage(dir));
  return loadIdxFolder("fashion-mnist", dir, split, FASHION_MNIST_CLASS_NAMES, opts.limit);
}
