/**
 * Reader for the IDX file format used by MNIST and Fashion-MNIST
 * (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number (two zero bytes, a data-type byte,
 * the number of dimensions), one big-endian uint32 per dimension, then the values row-major.
 * We only need unsigned bytes (type 0x08), which is what every MNIST-family file uses.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { ImageDataset } from "./types";

/** Data-type byte for unsigned 8-bit values. */
const IDX_UBYTE = 0x08;
/** Magic number of a label file: ubyte, 1 dimension. */
export const IDX_LABELS_MAGIC = 0x00000801;
/** Magic number of an image file: ubyte, 3 dimensions (count, rows, columns). */
export const IDX_IMAGES_MAGIC = 0x00000803;

/** A parsed IDX array of unsigned bytes. */
export interface IdxArray {
  /** Size of each dimension, outermost first (e.g. [count, rows, columns]). */
  dims: number[];
  /** The values, row-major; a view into the file's buffer. */
  data: Uint8Array;
}

/** Reads a file, gunzipping it when it starts with the gzip signature (0x1f 0x8b). */
export function readMaybeGzip(file: string): Buffer {
  if (!fs.existsSync(file)) {
    throw new Error(`${file}: file not found`);
  }
  const raw = fs.readFileSync(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib.gunzipSync(raw);
    } catch (err) {
      throw new Error(`${file}: corrupt or truncated gzip data (${(err as Error).message})`);
    }
  }
  return raw;
}

/**
 * Parses an IDX buffer and checks its magic number and that its length is exactly the header
 * plus the product of its dimensions.
 * @param buffer the (already decompressed) file contents
 * @param file the file name, used in error messages
 * @param expectedMagic IDX_LABELS_MAGIC or IDX_IMAGES_MAGIC
 */
export function parseIdx(buffer: Uint8Array, file: string, expectedMagic: number): IdxArray {
  const expectedRank = expectedMagic & 0xff;
  const hex = (v: number) => "0x" + v.toString(16).padStart(8, "0");
  if (buffer.length < 4) {
    throw new Error(`${file}: truncated IDX file (${buffer.length} bytes; expected at least a 4-byte magic number)`);
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    const kind = expectedMagic === IDX_LABELS_MAGIC ? "a label file" : "an image file";
    throw new Error(`${file}: wrong magic number ${hex(magic)}; expected ${hex(expectedMagic)} for ${kind} (unsigned bytes, ${expectedRank} dimension(s))`);
  }
  if ((magic >>> 8) !== IDX_UBYTE) {
    throw new Error(`${file}: unsupported IDX data type; expected unsigned bytes (0x08)`);
  }
  const headerBytes = 4 + 4 * expectedRank;
  if (buffer.length < headerBytes) {
    throw new Error(`${file}: truncated IDX header (${buffer.length} bytes; expected ${headerBytes})`);
  }
  const dims: number[] = [];
  for (let d = 0; d < expectedRank; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const payload = dims.reduce((a, b) => a * b, 1);
  const expectedLength = headerBytes + payload;
  if (buffer.length < expectedLength) {
    throw new Error(`${file}: truncated IDX file (${buffer.length} bytes; dimensions [${dims.join(", ")}] need ${expectedLength})`);
  }
  if (buffer.length > expectedLength) {
    throw new Error(`${file}: IDX file has ${buffer.length - expectedLength} trailing bytes after dimensions [${dims.join(", ")}] (expected exactly ${expectedLength} bytes)`);
  }
  return { dims, data: buffer.subarray(headerBytes, expectedLength) };
}

/** Reads an IDX image file (plain or gzipped): `count` images of `height` x `width` bytes. */
export function readIdxImages(file: string): { count: number; height: number; width: number; pixels: Uint8Array } {
  const { dims, data } = parseIdx(readMaybeGzip(file), file, IDX_IMAGES_MAGIC);
  const [count, height, width] = dims as [number, number, number];
  if (height === 0 || width === 0) {
    throw new Error(`${file}: images of size ${height}x${width}; expected positive dimensions`);
  }
  return { count, height, width, pixels: data };
}

/** Reads an IDX label file (plain or gzipped). */
export function readIdxLabels(file: string): Uint8Array {
  return parseIdx(readMaybeGzip(file), file, IDX_LABELS_MAGIC).data;
}

/** Options of {@link loadIdxDataset}. */
export interface IdxDatasetFiles {
  /** Dataset identifier stored in {@link ImageDataset.name}. */
  name: string;
  /** Path of the IDX image file (plain or gzipped). */
  imagesFile: string;
  /** Path of the IDX label file (plain or gzipped). */
  labelsFile: string;
  /** Class names; every label must be a valid index into it. */
  classNames: readonly string[];
  /** Keep only the first `limit` samples (all when omitted). */
  limit?: number;
}

/** Loads an image/label pair of IDX files into an {@link ImageDataset} (pixels scaled to [0, 1]). */
export function loadIdxDataset(files: IdxDatasetFiles): ImageDataset {
  const { imagesFile, labelsFile, classNames } = files;
  const images = readIdxImages(imagesFile);
  const labels = readIdxLabels(labelsFile);
  if (labels.length !== images.count) {
    throw new Error(`${labelsFile}: ${labels.length} labels but ${imagesFile} holds ${images.count} images; expected one label per image`);
  }
  const count = resolveLimit(files.limit, images.count, "limit");
  const pixelsPerImage = images.height * images.width;
  const out = new Float32Array(count * pixelsPerImage);
  for (let i = 0; i < out.length; i++) out[i] = images.pixels[i]! / 255;
  const outLabels = labels.slice(0, count);
  for (let i = 0; i < count; i++) {
    if (outLabels[i]! >= classNames.length) {
      throw new Error(`${labelsFile}: label ${outLabels[i]} at index ${i}; expected 0..${classNames.length - 1}`);
    }
  }
  return {
    name: files.name,
    images: out,
    labels: outLabels,
    count,
    height: images.height,
    width: images.width,
    channels: 1,
    classNames,
  };
}

/** Validates an optional `limit` option and returns the number of samples to keep. */
export function resolveLimit(limit: number | undefined, available: number, argName: string): number {
  if (limit === undefined) return available;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new Error(`${argName}: got ${limit}; expected a non-negative integer`);
  }
  return Math.min(limit, available);
}

/** Throws a clear error when a dataset folder is missing. */
export function requireDir(dir: string, what: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`${path.resolve(dir)}: ${what} folder not found`);
  }
}
