/** Writers of the real file formats, for test fixtures; independent of the loaders under test. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";

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
