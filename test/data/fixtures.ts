/** Writers of the real file formats, for test fixtures; independent of the loaders under test. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import sharp = require("sharp");
import { generateSegmentationSet } from "../../src/data/generated-segmentation";

/** A fresh temporary folder, removed when the process exits. */
export function tempDir(prefix = "ntkd-data-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** IDX bytes: magic (0, 0, 0x08, rank), big-endian dims, payload. */
export function idxBytes(dims: number[], payload: Uint8Array, magic = 0x0800 + dims.length): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(payload)]);
}

/** Writes a pair of MNIST-layout files for `prefix` ("train" or "t10k"); returns the pixels and labels written. */
export function writeIdxPair(dir: string, prefix: string, count: number, height: number, width: number, gz: boolean, labelCount = count): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(count * height * width);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37 + 11) % 256;
  const labels = new Uint8Array(labelCount);
  for (let i = 0; i < labelCount; i++) labels[i] = (i * 3) % 10;
  const write = (name: string, bytes: Buffer) =>
    fs.writeFileSync(path.join(dir, gz ? name + ".gz" : name), gz ? zlib.gzipSync(bytes) : bytes);
  write(`${prefix}-images-idx3-ubyte`, idxBytes([count, height, width], pixels));
  write(`${prefix}-labels-idx1-ubyte`, idxBytes([labelCount], labels));
  return { pixels, labels };
}

/** Writes a CIFAR-10 binary batch: per record a label byte, then the R, G and B planes (32x32 each). */
export function writeCifarBatch(file: string, labels: number[], pixel: (record: number, channel: number, row: number, col: number) => number): void {
  const record = 1 + 3 * 1024;
  const bytes = Buffer.alloc(labels.length * record);
  labels.forEach((label, r) => {
    bytes[r * record] = label;
    for (let c = 0; c < 3; c++) {
      for (let row = 0; row < 32; row++) {
        for (let col = 0; col < 32; col++) bytes[r * record + 1 + c * 1024 + row * 32 + col] = pixel(r, c, row, col);
      }
    }
  });
  fs.writeFileSync(file, bytes);
}

/** Pixel pattern used by the CIFAR fixtures: distinct per record, channel and position. */
export function cifarPixel(record: number, channel: number, row: number, col: number): number {
  return (record * 7 + channel * 50 + row * 3 + col) % 256;
}

/** Cuts `file` down to the first `keepFraction` of its bytes, as an interrupted download leaves it. */
export function truncateFile(file: string, keepFraction: number): void {
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * keepFraction)));
}

/** A pixel rectangle, right and bottom exclusive. */
export interface PixelRect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Options of {@link writeCarvanaFolder}. */
export interface CarvanaFolderOptions {
  /** Number of car ids. */
  cars: number;
  /** Views per car (`<car>_01` ...). */
  views: number;
  /** Photo size; default the Kaggle originals' 1918 x 1280. */
  width?: number;
  height?: number;
  /**
   * Draws every view: a grey photo with a white `rect` and the mask 1 exactly on `rect`. When
   * omitted, every view of car k is generated car k (drawn at a tenth of the size, upscaled; mask
   * by nearest neighbour so it stays two-coloured): identical views let a test see a car that
   * straddles two parts of a split.
   */
  rect?: PixelRect;
  /** Seed of the generated cars. Default 0. */
  seed?: number;
}

/** Kaggle-like 12-hex-digit car id number `car`. */
export function carvanaFixtureCarId(car: number): string {
  return (0x00087a6bd4dc + car * 0x1f3b7).toString(16).padStart(12, "0");
}

/**
 * Writes Carvana's Kaggle layout under `root`: `train/<car>_<NN>.jpg` (sharp JPEG) and
 * `train_masks/<car>_<NN>_mask.gif` (sharp GIF, two colours 0/255). Returns ids in sorted order.
 */
export async function writeCarvanaFolder(root: string, opts: CarvanaFolderOptions): Promise<string[]> {
  const width = opts.width ?? 1918;
  const height = opts.height ?? 1280;
  fs.mkdirSync(path.join(root, "train"), { recursive: true });
  fs.mkdirSync(path.join(root, "train_masks"), { recursive: true });
  const smallW = Math.max(8, Math.round(width / 10));
  const smallH = Math.max(8, Math.round(height / 10));
  const generated = opts.rect ? null : generateSegmentationSet({ count: opts.cars, height: smallH, width: smallW, seed: opts.seed ?? 0 });
  const ids: string[] = [];
  for (let car = 0; car < opts.cars; car++) {
    for (let view = 1; view <= opts.views; view++) {
      const id = `${carvanaFixtureCarId(car)}_${String(view).padStart(2, "0")}`;
      ids.push(id);
      let photo: sharp.Sharp;
      let mask: Buffer;
      if (opts.rect) {
        const { left, top, right, bottom } = opts.rect;
        const rgb = Buffer.alloc(width * height * 3, 90);
        mask = Buffer.alloc(width * height, 0);
        for (let y = top; y < bottom; y++) {
          rgb.fill(250, (y * width + left) * 3, (y * width + right) * 3);
          mask.fill(255, y * width + left, y * width + right);
        }
        photo = sharp(rgb, { raw: { width, height, channels: 3 } });
      } else {
        const i = car;
        const pixels = smallW * smallH;
        const rgb = Buffer.from(Array.from(generated!.images.subarray(i * pixels * 3, (i + 1) * pixels * 3), (v) => Math.round(v * 255)));
        const small = Buffer.from(Array.from(generated!.masks.subarray(i * pixels, (i + 1) * pixels), (m) => m * 255));
        photo = sharp(rgb, { raw: { width: smallW, height: smallH, channels: 3 } }).resize(width, height, { fit: "fill" });
        mask = await sharp(small, { raw: { width: smallW, height: smallH, channels: 1 } }).resize(width, height, { fit: "fill", kernel: "nearest" }).extractChannel(0).raw().toBuffer();
      }
      await photo.jpeg({ quality: 90 }).toFile(path.join(root, "train", `${id}.jpg`));
      await sharp(mask, { raw: { width, height, channels: 1 } }).gif({ colours: 2 }).toFile(path.join(root, "train_masks", `${id}_mask.gif`));
    }
  }
  return ids.sort();
}

/** Whether a `tar` command is on PATH (the archive routes need it). */
export function hasTar(): boolean {
  try {
    execFileSync("tar", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
