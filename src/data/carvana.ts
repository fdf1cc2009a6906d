/**
 * Loader for the Carvana Image Masking Challenge layout (Kaggle): a folder of car photos
 * `<id>.jpg` and a folder of binary masks `<id>_mask.gif` (or `.png`), matched by id and
 * letterboxed to a chosen resolution. Decoding and resizing use sharp (libvips).
 *
 * Aspect rule: letterbox, not centre crop. The Kaggle photos are 1918x1280 (3:2) and the car
 * spans nearly their full width, so a square centre crop would cut off bumpers and leave masks
 * touching the frame; squashing (the former `fit: "fill"`) distorts every car by 1.5x. The photo
 * is scaled by min(width / W, height / H), centred, and the margins are black (no light reaches
 * the optics there) and background in the mask.
 *
 * Decoded pairs are cached in one file per (pairs, file sizes and mtimes, resolution, aspect rule)
 * beside the images (see {@link CarvanaOptions.cacheDir}), so a second load skips decoding.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import sharp = require("sharp");
import { requireDir, resolveLimit } from "./idx";
import { dataCacheDir } from "./paths";
import { splitIndicesByGroup, type GroupSplitCounts } from "./splits";
import type { SegmentationDataset } from "./types";
import { writeFileAtomic } from "../runtime/atomic-file";

/** Options of {@link loadCarvana} and {@link listCarvanaPairs}. */
export interface CarvanaOptions {
  /** Root folder of the Kaggle layout. Default: env NTKD_CARVANA_DIR, else `data/cache/carvana` in the package. */
  dir?: string;
  /** Folder of the `<id>.jpg` images. Default `<dir>/train`. */
  imagesDir?: string;
  /** Folder of the `<id>_mask.gif` / `<id>_mask.png` masks. Default `<dir>/train_masks`. */
  masksDir?: string;
  /** Output height in pixels (images and masks are letterboxed into height x width). Default 64. */
  height?: number;
  /** Output width in pixels. Default 64. */
  width?: number;
  /** Load only the first `limit` ids in sorted order (all when omitted). */
  limit?: number;
  /** Load only these ids (in this order). */
  ids?: readonly string[];
  /** Image pairs decoded at the same time (sharp decodes on libuv's thread pool). Default 4. */
  concurrency?: number;
  /**
   * Folder of decoded-pair caches, or false for none. Default `<dir>/decoded-cache` (beside the
   * images folder when only `imagesDir` is given). A folder that cannot be written is skipped.
   */
  cacheDir?: string | false;
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

function folders(opts: CarvanaOptions): { imagesDir: string; masksDir: string; cacheDir: string | false } {
  const dir = opts.dir ?? carvanaDir();
  const imagesDir = opts.imagesDir ?? path.join(dir, "train");
  const defaultCache = path.join(opts.dir === undefined && opts.imagesDir !== undefined ? path.dirname(imagesDir) : dir, "decoded-cache");
  return { imagesDir, masksDir: opts.masksDir ?? path.join(dir, "train_masks"), cacheDir: opts.cacheDir ?? defaultCache };
}

/** The images folder {@link listCarvanaPairs} reads, for messages. */
export function carvanaImagesDir(opts: CarvanaOptions = {}): string {
  return path.resolve(folders(opts).imagesDir);
}

/** The car of a Carvana id: the part before the view suffix `_NN` (`00087a6bd4dc_04` -> `00087a6bd4dc`). */
export function carvanaCarId(id: string): string {
  return id.replace(/_\d+$/, "");
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

/** Ids of a Carvana split by car ({@link splitCarvanaByCar}). */
export interface CarvanaSplitIds {
  train: string[];
  validation: string[];
  test: string[];
  /** Cars in each part. */
  cars: GroupSplitCounts;
  /** True when the folder held fewer images than requested and every part was scaled down in proportion. */
  scaled: boolean;
}

/**
 * Splits the folder's ids by car (all views of a car land in one part), seeded, with the
 * sizes and the smaller-folder rule of {@link splitIndicesByGroup}; a folder too small for
 * three parts and a test set of at least 4 images fails naming the folder and the counts.
 */
export function splitCarvanaByCar(opts: CarvanaOptions, counts: GroupSplitCounts, seed: number): CarvanaSplitIds {
  const ids = listCarvanaPairs({ ...opts, limit: undefined, ids: undefined }).map((p) => p.id);
  const split = splitIndicesByGroup({
    groups: ids.map(carvanaCarId), counts, seed, what: carvanaImagesDir(opts), nouns: { samples: "images", groups: "cars" },
  });
  const pick = (indices: Int32Array) => Array.from(indices, (i) => ids[i]!);
  return { train: pick(split.train), validation: pick(split.validation), test: pick(split.test), cars: split.groupCounts, scaled: split.scaled };
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

/** Where a source of `sourceWidth` x `sourceHeight` lands in a `width` x `height` letterbox. */
export interface Letterbox {
  /** Size of the scaled photo inside the frame. */
  contentWidth: number;
  contentHeight: number;
  /** Black columns left of it and rows above it (the remainder goes right and below). */
  left: number;
  top: number;
}

/** Scale by min(width / W, height / H), round the scaled size, centre it (odd margins put the extra pixel right/below). */
export function letterbox(sourceWidth: number, sourceHeight: number, width: number, height: number): Letterbox {
  const scale = Math.min(width / sourceWidth, height / sourceHeight);
  const contentWidth = Math.max(1, Math.min(width, Math.round(sourceWidth * scale)));
  const contentHeight = Math.max(1, Math.min(height, Math.round(sourceHeight * scale)));
  return { contentWidth, contentHeight, left: Math.floor((width - contentWidth) / 2), top: Math.floor((height - contentHeight) / 2) };
}

/** Decodes an RGB image letterboxed into width x height, as 8-bit HWC values (margins 0). */
function loadImage(file: string, box: Letterbox, width: number, height: number, out: Uint8Array): Promise<void> {
  return decoding(file, IMAGE_EXPECTED, () => decodeImage(file, box, width, height, out));
}

async function decodeImage(file: string, box: Letterbox, width: number, height: number, out: Uint8Array): Promise<void> {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace("srgb")
    .resize(box.contentWidth, box.contentHeight, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== box.contentWidth * box.contentHeight * 3) {
    throw new Error(`${file}: decoded ${info.width}x${info.height}x${info.channels}; expected ${box.contentWidth}x${box.contentHeight}x3`);
  }
  placeInFrame(data, box, width, height, 3, out);
}

/** Copies a content-sized HWC buffer into the frame at the letterbox offset, zeroing the margins. */
function placeInFrame(content: Uint8Array, box: Letterbox, width: number, height: number, channels: number, out: Uint8Array): void {
  out.fill(0, 0, width * height * channels);
  const rowBytes = box.contentWidth * channels;
  for (let r = 0; r < box.contentHeight; r++) {
    const from = r * rowBytes;
    out.set(content.subarray(from, from + rowBytes), ((box.top + r) * width + box.left) * channels);
  }
}

/**
 * Decodes a mask, binarises it at half its maximum (Carvana GIFs are 0/255 palettes; PNG masks
 * may store 0/1), then resizes the binary mask to the letterbox content with linear
 * interpolation and thresholds at 0.5. The mask stays binary like nearest-neighbour would keep
 * it, but each edge lands where the majority of the output pixel's footprint lies (nearest
 * would sample one source pixel of the ~60x60 that a 1918-wide photo puts in each of 32 columns).
 * The margins are background, as in the image.
 */
function loadMask(file: string, box: Letterbox, width: number, height: number, out: Uint8Array): Promise<void> {
  return decoding(file, MASK_EXPECTED, () => decodeMask(file, box, width, height, out));
}

async function decodeMask(file: string, box: Letterbox, width: number, height: number, out: Uint8Array): Promise<void> {
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
    .resize(box.contentWidth, box.contentHeight, { fit: "fill", kernel: "linear" })
    .extractChannel(0) // raw single-channel input would otherwise come back as sRGB
    .raw()
    .toBuffer();
  const contentPixels = box.contentWidth * box.contentHeight;
  if (resized.length !== contentPixels) throw new Error(`${file}: resized mask has ${resized.length} pixels; expected ${contentPixels}`);
  for (let p = 0; p < resized.length; p++) resized[p] = resized[p]! >= 128 ? 1 : 0;
  placeInFrame(resized, box, width, height, 1, out);
}

/** Version of the decoded-cache format and of the decoding rules it stores (bump when either changes). */
const CACHE_FORMAT = "ntkd-carvana-decoded-v1 letterbox black margins, masks linear+0.5";

/** Cache file of these pairs at this resolution: keyed by names, sizes and mtimes of both files of every pair. */
function cacheFile(cacheDir: string, pairs: CarvanaPair[], height: number, width: number): string {
  const hash = createHash("sha256").update(JSON.stringify({ format: CACHE_FORMAT, height, width }));
  for (const { image, mask } of pairs) {
    for (const file of [image, mask]) {
      const st = fs.statSync(file);
      hash.update(`${path.basename(file)}\0${st.size}\0${st.mtimeMs}\n`);
    }
  }
  return path.join(cacheDir, `carvana-${height}x${width}-${pairs.length}-${hash.digest("hex").slice(0, 20)}.bin`);
}

interface CacheHeader {
  format: string;
  ids: string[];
  height: number;
  width: number;
}

/** Layout: 4-byte little-endian header length, JSON header, 8-bit images (HWC), 0/1 masks. */
function readCache(file: string, ids: string[], height: number, width: number): { images: Uint8Array; masks: Uint8Array } | null {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return null;
  }
  if (bytes.length < 4) return null;
  const headerLength = bytes.readUInt32LE(0);
  const pixels = ids.length * height * width;
  if (bytes.length !== 4 + headerLength + pixels * 4) return null;
  let header: CacheHeader;
  try {
    header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString("utf8")) as CacheHeader;
  } catch {
    return null;
  }
  if (header.format !== CACHE_FORMAT || header.height !== height || header.width !== width || JSON.stringify(header.ids) !== JSON.stringify(ids)) return null;
  const start = 4 + headerLength;
  return { images: bytes.subarray(start, start + pixels * 3), masks: bytes.subarray(start + pixels * 3) };
}

/** Writes the whole cache file under a temporary name, then renames it, so no reader sees half a file. */
function writeCache(file: string, ids: string[], height: number, width: number, images: Uint8Array, masks: Uint8Array): void {
  const header = Buffer.from(JSON.stringify({ format: CACHE_FORMAT, ids, height, width } satisfies CacheHeader), "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length, 0);
  try {
    writeFileAtomic(file, [length, header, images, masks]);
  } catch {
    // a read-only data folder only costs the next load its speed
  }
}

/**
 * Loads Carvana-layout images and masks letterboxed into `height` x `width` (RGB in [0, 1],
 * masks 0/1), from the decoded cache when it holds these exact files at this resolution.
 */
export async function loadCarvana(opts: CarvanaOptions = {}): Promise<SegmentationDataset> {
  const height = opts.height ?? 64;
  const width = opts.width ?? 64;
  for (const [arg, v] of [["height", height], ["width", width]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${arg}: got ${v}; expected a positive integer`);
  }
  const concurrency = opts.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency <= 0) throw new Error(`concurrency: got ${concurrency}; expected a positive integer`);
  const pairs = listCarvanaPairs(opts);
  const ids = pairs.map((p) => p.id);
  const pixels = height * width;
  const { cacheDir } = folders(opts);
  const cache = cacheDir === false ? null : cacheFile(cacheDir, pairs, height, width);
  let decoded = cache === null ? null : readCache(cache, ids, height, width);
  if (decoded === null) {
    const images = new Uint8Array(pairs.length * pixels * 3);
    const masks = new Uint8Array(pairs.length * pixels);
    const loadPair = async (i: number) => {
      const { image, mask } = pairs[i]!;
      const [imageSize, maskSize] = await Promise.all([decodeSize(image, IMAGE_EXPECTED), decodeSize(mask, MASK_EXPECTED)]);
      if (imageSize.width !== maskSize.width || imageSize.height !== maskSize.height) {
        throw new Error(`${mask}: mask is ${maskSize.width}x${maskSize.height} but ${image} is ${imageSize.width}x${imageSize.height}; expected equal sizes`);
      }
      const box = letterbox(imageSize.width, imageSize.height, width, height);
      await loadImage(image, box, width, height, images.subarray(i * pixels * 3, (i + 1) * pixels * 3));
      await loadMask(mask, box, width, height, masks.subarray(i * pixels, (i + 1) * pixels));
    };
    let next = 0;
    const worker = async () => {
      while (next < pairs.length) await loadPair(next++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pairs.length) }, worker));
    if (cache !== null) writeCache(cache, ids, height, width, images, masks);
    decoded = { images, masks };
  }
  const images = new Float32Array(decoded.images.length);
  for (let i = 0; i < images.length; i++) images[i] = decoded.images[i]! / 255;
  return { name: "carvana", images, masks: Uint8Array.from(decoded.masks), count: pairs.length, height, width, channels: 3 };
}
