/**
 * CIFAR-10 (Krizhevsky 2009) from the official binary batches
 * (https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 binary version"): each record is one
 * label byte followed by 3072 pixel bytes, the 1024 red values of the 32x32 image row-major, then
 * the 1024 green, then the 1024 blue. Each batch file holds 10,000 records.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { requireDir, resolveLimit } from "./idx";
import { checkSplit, type IdxSplit } from "./mnist";
import { dataCacheDir } from "./paths";
import type { ImageDataset } from "./types";

export const CIFAR10_SIZE = 32;
/** Bytes per record: 1 label + 3 x 32 x 32 pixels. */
export const CIFAR10_RECORD_BYTES = 1 + 3 * CIFAR10_SIZE * CIFAR10_SIZE;
/** Batch files of each split, in the order their records are concatenated. */
export const CIFAR10_FILES: Readonly<Record<IdxSplit, readonly string[]>> = {
  train: ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"],
  test: ["test_batch.bin"],
};
/** The ten classes, in label order (as in batches.meta.txt). */
export const CIFAR10_CLASS_NAMES: readonly string[] = [
  "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
];
/** Name of the folder the official archive extracts to. */
export const CIFAR10_ARCHIVE_FOLDER = "cifar-10-batches-bin";

/** Options of {@link loadCifar10}. */
export interface Cifar10Options {
  /** "train" (data_batch_1..5, 50,000 images) or "test" (test_batch, 10,000 images). Default "train". */
  split?: IdxSplit;
  /** Keep only the first `limit` images of the split (all when omitted); later batch files are then not read. */
  limit?: number;
  /**
   * Folder holding the .bin batch files, or the folder that contains the extracted
   * `cifar-10-batches-bin/`. Default: env NTKD_CIFAR10_DIR, else `data/cache/cifar10` in the package.
   */
  dir?: string;
}

/** The folder {@link loadCifar10} reads when no `dir` is given. */
export function cifar10Dir(): string {
  return process.env.NTKD_CIFAR10_DIR || dataCacheDir("cifar10");
}

/** The folder that actually holds the batch files: `dir` itself or `dir/cifar-10-batches-bin`. */
function batchFolder(dir: string): string {
  const nested = path.join(dir, CIFAR10_ARCHIVE_FOLDER);
  if (!fs.existsSync(path.join(dir, CIFAR10_FILES.test[0]!)) && fs.existsSync(nested)) return nested;
  return dir;
}

/** True when all six batch files are present in `dir` (or its `cifar-10-batches-bin/`). */
export function cifar10Available(dir: string = cifar10Dir()): boolean {
  if (!fs.existsSync(dir)) return false;
  const folder = batchFolder(dir);
  return [...CIFAR10_FILES.train, ...CIFAR10_FILES.test].every((f) => fs.existsSync(path.join(folder, f)));
}

/** Loads CIFAR-10 as 32x32x3 NHWC images in [0, 1] with labels 0-9. */
export function loadCifar10(opts: Cifar10Options = {}): ImageDataset {
  const split = checkSplit(opts.split ?? "train");
  const dir = opts.dir ?? cifar10Dir();
  requireDir(dir, "CIFAR-10 (run `npm run data:cifar10` to download it)");
  const folder = batchFolder(dir);
  const files = CIFAR10_FILES[split].map((f) => path.join(folder, f));
  for (const file of files) {
    if (!fs.existsSync(file)) {
      throw new Error(`${file}: CIFAR-10 batch file not found; expected ${CIFAR10_FILES[split].join(", ")} in ${folder}`);
    }
  }
  const recordsPerFile: number[] = files.map((file) => {
    const bytes = fs.statSync(file).size;
    if (bytes === 0 || bytes % CIFAR10_RECORD_BYTES !== 0) {
      throw new Error(`${file}: ${bytes} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte records (truncated or not a CIFAR-10 binary batch)`);
    }
    return bytes / CIFAR10_RECORD_BYTES;
  });
  const total = recordsPerFile.reduce((a, b) => a + b, 0);
  const count = resolveLimit(opts.limit, total, "limit");
  const plane = CIFAR10_SIZE * CIFAR10_SIZE;
  const images = new Float32Array(count * 3 * plane);
  const labels = new Uint8Array(count);
  let n = 0;
  for (let f = 0; f < files.length && n < count; f++) {
    const buffer = fs.readFileSync(files[f]!);
    const take = Math.min(recordsPerFile[f]!, count - n);
    for (let r = 0; r < take; r++, n++) {
      const base = r * CIFAR10_RECORD_BYTES;
      const label = buffer[base]!;
      if (label >= CIFAR10_CLASS_NAMES.length) {
        throw new Error(`${files[f]}: label ${label} in record ${r}; expected 0..9 (not a CIFAR-10 batch? CIFAR-100 records have 2 label bytes)`);
      }
      labels[n] = label;
      // planar RGB in the file -> interleaved NHWC in memory
      const out = n * 3 * plane;
      for (let p = 0; p < plane; p++) {
        images[out + 3 * p] = buffer[base + 1 + p]! / 255;
        images[out + 3 * p + 1] = buffer[base + 1 + plane + p]! / 255;
        images[out + 3 * p + 2] = buffer[base + 1 + 2 * plane + p]! / 255;
      }
    }
  }
  return { name: "cifar10", images, labels, count, height: CIFAR10_SIZE, width: CIFAR10_SIZE, channels: 3, classNames: CIFAR10_CLASS_NAMES };
}
