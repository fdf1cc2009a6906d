/**
 * Loader for the Carvana Image Masking Challenge layout (Kaggle): a folder of car photos
 * `<id>.jpg` and a folder of binary masks `<id>_mask.gif` (or `.png`), matched by id and resized
 * to a chosen resolution. Decoding and resizing use sharp (libvips).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import sharp = require("sharp");
import { requireDir, resolveLimit } from "./idx";
import { dataCacheDir } from "./paths";
import type { SegmentationDataset } from "./types";

/** Options of {@link loadCarvana} and {@link listCarvanaPairs}. */
export interface CarvanaOptions {
  /** Root folder of the Kaggle layout. Default: env NTKD_CARVANA_DIR, else `data/cache/carvana` in the package. */
  dir?: string;
  /** Folder of the `<id>.jpg` images. Default `<dir>/train`. */
  imagesDir?: string;
  /** Folder of the `<id>_mask.gif` / `<id>_mask.png` masks. Default `<dir>/train_masks`. */
  masksDir?: string;
  /** Output height in pixels (images and masks are resized to it, ignoring aspect ratio). Default 64. */
  height?: number;
  /** Output width in pixels. Default 64. */
  width?: number;
  /** Load only the first `limit` ids in sorted order (all when omitted). */
  limit?: number;
  /** Load only these ids (in this order). */
  ids?: readonly string[];
  /** Image pairs decoded at the same time (sharp decodes on libuv's thread pool). Default 4. */
  concurrency?: number;
}

/** One image and its mask file. */
export interface CarvanaPair {
  id: string;
  image: string;
  mask: string;
}

const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png"];
const MASK_SUFFIXES = ["_mask.gif", "_mask.png"];

/** The root folder {@link loadCarvana} reads when no `dir` is given. */
export function carvanaDir(): string {
  return process.env.NTKD_CARVANA_DIR || dataCacheDir("carvana");
}

function folders(opts: CarvanaOptions): { imagesDir: string; masksDir: string } {
  const dir = opts.dir ?? carvanaDir();
  return { imagesDir: opts.imagesDir ?? path.join(dir, "train"), masksDir: opts.masksDir ?? path.join(dir, "train_masks") };
}

/** True when the images and masks folders exist and the images folder holds at least one image. */
export function carvanaAvailable(opts: CarvanaOptions = {}): boolean {
  const { imagesDir, masksDir } = folders(opts);
  if (!fs.existsSync(imagesDir) || !fs.existsSync(masksDir)) return false;
  return fs.readdirSync(imagesDir).some((f) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase()));
}

/** Lists image/mask pairs, sorted by id; every image must have a mask. */
export function listCarvanaPairs(opts: CarvanaOptions = {}): CarvanaPair[] {
  const { imagesDir, masksDir } = folders(opts);
  requireDir(imagesDir, "Carvana images");
  requireDir(masksDir, "Carvana masks");
  const images = new Map<string, string>();
  for (const file of fs.readdirSync(imagesDir).sort()) {
    const ext = path.extname(file);
    if (IMAGE_EXTENSIONS.includes(ext.toLowerCase())) images.set(path.basename(file, ext), path.join(imagesDir, file));
  }
  if (images.size === 0) {
    throw new Error(`${path.resolve(imagesDir)}: no images; expected <id>.jpg files (Carvana layout)`);
  }
  const ids = opts.ids ?? [...images.keys()].slice(0, resolveLimit(opts.limit, images.size, "limit"));
  return ids.map((id) => {
    const image = images.get(id);
    if (!image) throw new Error(`${path.resolve(imagesDir)}: no image for id ${JSON.stringify(id)}; expected ${id}.jpg`);
    const mask = MASK_SUFFIXES.map((s) => path.join(masksDir, id + s)).find((m) => fs.existsSync(m));
    if (!mask) {
      throw new Error(`${image}: mask missing; expected ${MASK_SUFFIXES.map((s) => path.join(masksDir, id + s)).join(" or ")}`);
    }
    return { id, image, mask };
  });
}

const IMAGE_EXPECTED = "JPEG or PNG car photo";
const MASK_EXPECTED = "GIF or PNG mask (0/255 or 0/1)";

function decodeSize(file: string, expected: string): Promise<{ width: number; height: number }> {
  return decoding(file, expected, async () => {
    const meta = await sharp(file).metadata();
    if (!meta.width || !meta.height) throw new Error("no dimensions");
    return { width: meta.width, height: meta.height };
  });
}

/**
 * Runs a decode of `file`, turning libvips' bare messages ("Warning treated as error due to
 * failOn setting", "vipspng: libpng read error") into one naming the file and what it should be.
 */
async function decoding<T>(file: string, expected: string, decode: () => Promise<T>): Promise<T> {
  try {
    return await decode();
  } catch (err) {
    const message = (err as Error).message;
    if (message.startsWith(file)) throw err; // already names the file
    throw new Error(`${file}: cannot decode (${message}); expected a complete ${expected} (is the file truncated or corrupt? re-download it)`);
  }
}

/** Decodes an RGB image resized to width x height, as float32 HWC values in [0, 1]. */
function loadImage(file: string, width: number, height: number, out: Float32Array): Promise<void> {
  return decoding(file, IMAGE_EXPECTED, () => decodeImage(file, width, height, out));
}

async function decodeImage(file: string, width: number, height: number, out: Float32Array): Promise<void> {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace("srgb")
    .resize(width, height, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== width * height * 3) {
    throw new Error(`${file}: decoded ${info.width}x${info.height}x${info.channels}; expected ${width}x${height}x3`);
  }
  for (let i = 0; i < data.length; i++) out[i] = data[i]! / 255;
}

/**
 * Decodes a mask, binarises it at half its maximum (Carvana GIFs are 0/255 palettes; PNG masks
 * may store 0/1), then resizes the binary mask with linear interpolation and thresholds at 0.5,
 * which keeps edges where the majority of each output pixel's footprint lies.
 */
function loadMask(file: string, width: number, height: number, out: Uint8Array): Promise<void> {
  return decoding(file, MASK_EXPECTED, () => decodeMask(file, width, height, out));
}

async function decodeMask(file: string, width: number, height: number, out: Uint8Array): Promise<void> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  const colourChannels = info.channels === 2 || info.channels === 4 ? info.channels - 1 : info.channels;
  const pixels = info.width * info.height;
  const level = new Uint8Array(pixels);
  let max = 0;
  for (let p = 0; p < pixels; p++) {
    let v = 0;
    for (let c = 0; c < colourChannels; c++) v = Math.max(v, data[p * info.channels + c]!);
    level[p] = v;
    if (v > max) max = v;
  }
  const binary = Buffer.alloc(pixels);
  if (max > 0) for (let p = 0; p < pixels; p++) binary[p] = level[p]! * 2 >= max ? 255 : 0;
  const resized = await sharp(binary, { raw: { width: info.width, height: info.height, channels: 1 } })
    .resize(width, height, { fit: "fill", kernel: "linear" })
    .extractChannel(0) // raw single-channel input would otherwise come back as sRGB
    .raw()
    .toBuffer();
  if (resized.length !== width * height) throw new Error(`${file}: resized mask has ${resized.length} pixels; expected ${width * height}`);
  for (let p = 0; p < resized.length; p++) out[p] = resized[p]! >= 128 ? 1 : 0;
}

/** Loads Carvana-layout images and masks, resized to `height` x `width` (RGB in [0, 1], masks 0/1). */
export async function loadCarvana(opts: CarvanaOptions = {}): Promise<SegmentationDataset> {
  const height = opts.height ?? 64;
  const width = opts.width ?? 64;
  for (const [arg, v] of [["height", height], ["width", width]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${arg}: got ${v}; expected a positive integer`);
  }
  const pairs = listCarvanaPairs(opts);
  const pixels = height * width;
  const images = new Float32Array(pairs.length * pixels * 3);
  const masks = new Uint8Array(pairs.length * pixels);
  const loadPair = async (i: number) => {
    const { image, mask } = pairs[i]!;
    const [imageSize, maskSize] = await Promise.all([decodeSize(image, IMAGE_EXPECTED), decodeSize(mask, MASK_EXPECTED)]);
    if (imageSize.width !== maskSize.width || imageSize.height !== maskSize.height) {
      throw new Error(`${mask}: mask is ${maskSize.width}x${maskSize.height} but ${image} is ${imageSize.width}x${imageSize.height}; expected equal sizes`);
    }
    await loadImage(image, width, height, images.subarray(i * pixels * 3, (i + 1) * pixels * 3));
    await loadMask(mask, width, height, masks.subarray(i * pixels, (i + 1) * pixels));
  };
  const concurrency = opts.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency <= 0) throw new Error(`concurrency: got ${concurrency}; expected a positive integer`);
  let next = 0;
  const worker = async () => {
    while (next < pairs.length) await loadPair(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, pairs.length) }, worker));
  return { name: "carvana", images, masks, count: pairs.length, height, width, channels: 3 };
}
