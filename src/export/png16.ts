/**
 * 16-bit greyscale PNG through sharp: a Uint16Array input is taken by sharp as raw "ushort"
 * pixels, and the grey16 colour space keeps one 16-bit channel in the file (colour type 0, bit
 * depth 16). Reading converts back to grey16 so that no sRGB conversion touches the values.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import sharp = require("sharp");

/** A single-channel 16-bit image, row-major. */
export interface Grey16Image {
  width: number;
  height: number;
  /** Grey values 0–65535, row 0 first. */
  values: Uint16Array;
}

/** Writes `image` to `file` as a 16-bit greyscale PNG. */
export async function writePng16(file: string, image: Grey16Image): Promise<void> {
  const { width, height, values } = image;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) throw new Error(`writePng16 ${file}: width and height must be positive integers, got ${width}×${height}`);
  if (!(values instanceof Uint16Array) || values.length !== width * height) throw new Error(`writePng16 ${file}: values must be a Uint16Array of width·height = ${width * height} values`);
  const png = await sharp(values, { raw: { width, height, channels: 1 } }).toColourspace("grey16").png().toBuffer();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, png);
}

/** Reads a 16-bit greyscale PNG written by {@link writePng16}. */
export async function readPng16(file: string): Promise<Grey16Image> {
  const { data, info } = await sharp(file).toColourspace("grey16").raw({ depth: "ushort" }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`readPng16 ${file}: expected one grey channel, found ${info.channels}`);
  const values = new Uint16Array(info.width * info.height);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // sharp returns ushort samples in the machine's byte order (little-endian on every platform Node runs on).
  for (let i = 0; i < values.length; i++) values[i] = view.getUint16(2 * i, true);
  return { width: info.width, height: info.height, values };
}
