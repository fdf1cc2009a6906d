/**
 * Data for image-grid previews: a few samples as tiles plus one mosaic, with their captions.
 * Pure data; `imageGridChart(grid.images, { labels: grid.labels, columns: grid.columns })` from
 * src/viz turns it into a figure.
 */
import type { Grid2D } from "../viz/types";
import type { AnyDataset } from "./splits";
import type { ImageDataset } from "./types";

/**
 * One image as a {@link Grid2D} with channels: values[(row * width + col) * channels + c], in [0, 1].
 * For channels = 1 it is a plain Grid2D.
 */
export interface ImageTile extends Grid2D {
  values: Float32Array;
  /** 1 (grey) or 3 (RGB, interleaved). */
  channels: number;
}

/** Options of {@link imageGrid}. */
export interface ImageGridDataOptions {
  /** Number of samples to show (ignored when `indices` is given). Default 16. */
  count?: number;
  /** Tiles per mosaic row. Default ceil(sqrt(number of tiles)). */
  columns?: number;
  /** Which samples to show; default the first `count`. */
  indices?: ArrayLike<number>;
  /** Background pixels between tiles in the mosaic. Default 1. */
  gap?: number;
  /** Gap colour in [0, 1]. Default 1 (white). */
  gapValue?: number;
}

/** Tiles, their captions and the assembled mosaic. */
export interface ImageGridData {
  /** One tile per shown sample. */
  images: ImageTile[];
  /** One caption per tile: the class name for labelled data, "#<index>" otherwise. */
  labels: string[];
  /** Indices of the shown samples. */
  indices: number[];
  /** Tiles per mosaic row. */
  columns: number;
  /** All tiles in one image, row by row, `gap` pixels apart. */
  mosaic: ImageTile;
}

/** Cuts sample `index` out of a data set as a tile. */
export function imageTile(ds: AnyDataset, index: number): ImageTile {
  if (!Number.isInteger(index) || index < 0 || index >= ds.count) {
    throw new Error(`index: got ${index}; expected an integer in 0..${ds.count - 1} (${ds.name})`);
  }
  const size = ds.height * ds.width * ds.channels;
  return { values: ds.images.slice(index * size, (index + 1) * size), height: ds.height, width: ds.width, channels: ds.channels };
}

/** The mask of sample `index` of a segmentation data set as a grey tile (object = 1). */
export function maskTile(ds: { masks: Uint8Array; height: number; width: number; count: number; name: string }, index: number): ImageTile {
  if (!Number.isInteger(index) || index < 0 || index >= ds.count) {
    throw new Error(`index: got ${index}; expected an integer in 0..${ds.count - 1} (${ds.name})`);
  }
  const size = ds.height * ds.width;
  return { values: Float32Array.from(ds.masks.subarray(index * size, (index + 1) * size)), height: ds.height, width: ds.width, channels: 1 };
}

/** Assembles equally sized tiles into one mosaic image. */
export function mosaicTiles(tiles: ImageTile[], columns: number, gap = 1, gapValue = 1): ImageTile {
  if (tiles.length === 0) throw new Error("tiles: empty; expected at least one tile");
  const { height, width, channels } = tiles[0]!;
  for (const t of tiles) {
    if (t.height !== height || t.width !== width || t.channels !== channels) {
      throw new Error(`tiles: mixed sizes ${t.height}x${t.width}x${t.channels} and ${height}x${width}x${channels}; expected equal sizes`);
    }
  }
  const rows = Math.ceil(tiles.length / columns);
  const outH = rows * height + (rows - 1) * gap;
  const outW = columns * width + (columns - 1) * gap;
  const values = new Float32Array(outH * outW * channels).fill(gapValue);
  tiles.forEach((tile, k) => {
    const top = Math.floor(k / columns) * (height + gap);
    const left = (k % columns) * (width + gap);
    for (let r = 0; r < height; r++) {
      values.set(tile.values.subarray(r * width * channels, (r + 1) * width * channels), ((top + r) * outW + left) * channels);
    }
  });
  return { values, height: outH, width: outW, channels };
}

/** Picks samples of a data set for an image-grid figure. */
export function imageGrid(ds: AnyDataset, opts: ImageGridDataOptions = {}): ImageGridData {
  const indices = opts.indices ? Array.from(opts.indices) : Array.from({ length: Math.min(opts.count ?? 16, ds.count) }, (_, i) => i);
  if (indices.length === 0) throw new Error(`imageGrid: no samples to show from ${ds.name}`);
  const columns = opts.columns ?? Math.ceil(Math.sqrt(indices.length));
  if (!Number.isInteger(columns) || columns <= 0) throw new Error(`columns: got ${columns}; expected a positive integer`);
  const images = indices.map((i) => imageTile(ds, i));
  const classNames = (ds as ImageDataset).classNames;
  const labels = indices.map((i) => ((ds as ImageDataset).labels && classNames ? classNames[(ds as ImageDataset).labels[i]!]! : `#${i}`));
  return { images, labels, indices, columns, mosaic: mosaicTiles(images, columns, opts.gap ?? 1, opts.gapValue ?? 1) };
}
