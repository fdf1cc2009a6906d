/**
 * Checkpoint files: "NTKDCKPT", a little-endian uint32 header length, a JSON header (metadata
 * and, per tensor, its shape and offset), padding to 4 bytes, then the float32 data.
 *
 * Writes are atomic: the bytes go to a temporary file in the same folder, are fsync'ed, and the
 * file is renamed over the old one. A process killed mid-write leaves at worst a stray temporary
 * file; the checkpoint under the real name is always the last complete one.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const MAGIC = "NTKDCKPT";

/** A named float32 array with its shape. */
export interface StoredTensor {
  shape: number[];
  data: Float32Array;
}

/** What a checkpoint holds: JSON-serialisable metadata and ordered tensor groups. */
export interface CheckpointContents {
  /** Any JSON-serialisable metadata (epoch, history, loss state...). */
  meta: Record<string, unknown>;
  /** Tensor groups by name (e.g. "weights", "optimizer"), each an ordered list. */
  tensors: Record<string, StoredTensor[]>;
}

/** Options of {@link writeCheckpoint}. */
export interface WriteCheckpointOptions {
  /**
   * Fault injection for tests: write only this many bytes of the temporary file, then throw as a
   * crash would. Lets a test check that an interrupted write leaves the previous checkpoint intact.
   */
  crashAfterBytes?: number;
  /**
   * The function that writes bytes to the temporary file; default `fs.writeSync`. A test passes one
   * that writes less than asked (as a full disk does) to check that short writes are completed or
   * reported, never renamed over the previous checkpoint.
   */
  writeSync?: (fd: number, buffer: Uint8Array, offset: number, length: number) => number;
}

let tempCounter = 0;

/** Writes `contents` to `file` atomically (temporary file + fsync + rename). */
export function writeCheckpoint(file: string, contents: CheckpointContents, opts: WriteCheckpointOptions = {}): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const descriptors: Record<string, { shape: number[]; offset: number; length: number }[]> = {};
  let offset = 0;
  for (const [group, list] of Object.entries(contents.tensors)) {
    descriptors[group] = list.map((t) => {
      const expected = t.shape.reduce((a, b) => a * b, 1);
      if (expected !== t.data.length) throw new Error(`writeCheckpoint ${file}: tensor of group "${group}" has shape ${JSON.stringify(t.shape)} but ${t.data.length} values`);
      const d = { shape: t.shape, offset, length: t.data.length };
      offset += t.data.length;
      return d;
    });
  }
  const header = Buffer.from(JSON.stringify({ version: 1, meta: contents.meta, tensors: descriptors }), "utf8");
  const headerPadded = Math.ceil((MAGIC.length + 4 + header.length) / 4) * 4;
  const buffer = Buffer.alloc(headerPadded + offset * 4);
  buffer.write(MAGIC, 0, "latin1");
  buffer.writeUInt32LE(header.length, MAGIC.length);
  header.copy(buffer, MAGIC.length + 4);
  const floats = new Float32Array(buffer.buffer, buffer.byteOffset + headerPadded, offset);
  for (const [group, list] of Object.entries(contents.tensors)) {
    list.forEach((t, i) => floats.set(t.data, descriptors[group][i].offset));
  }
  const temp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${tempCounter++}`);
  const writeSync = opts.writeSync ?? ((fd: number, b: Uint8Array, o: number, l: number) => fs.writeSync(fd, b, o, l));
  try {
    const fd = fs.openSync(temp, "w");
    try {
      const end = opts.crashAfterBytes === undefined ? buffer.length : Math.min(opts.crashAfterBytes, buffer.length);
      writeFully(writeSync, fd, buffer, end);
      if (opts.crashAfterBytes !== undefined) throw new Error(`simulated crash after ${opts.crashAfterBytes} bytes`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (err) {
    // The previous checkpoint under the real name is untouched; only the torn temporary goes.
    fs.rmSync(temp, { force: true });
    throw new Error(`writeCheckpoint ${file}: ${(err as Error).message}; the previous checkpoint (if any) is kept`, { cause: err });
  }
  // Make the rename itself durable; not every platform can open a directory, hence the guard.
  try {
    const dfd = fs.openSync(dir, "r");
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    /* directory fsync unsupported: the rename is still atomic */
  }
}

/** Reads a checkpoint written by {@link writeCheckpoint}, checking its structure. */
export function readCheckpoint(file: string): CheckpointContents {
  if (!fs.existsSync(file)) throw new Error(`readCheckpoint: ${file} does not exist`);
  const buffer = fs.readFileSync(file);
  if (buffer.length < MAGIC.length + 4 || buffer.toString("latin1", 0, MAGIC.length) !== MAGIC) {
    throw new Error(`readCheckpoint: ${file} is not an ntkd-lab checkpoint (bad magic)`);
  }
  const headerLength = buffer.readUInt32LE(MAGIC.length);
  const headerEnd = MAGIC.length + 4 + headerLength;
  if (headerEnd > buffer.length) throw new Error(`readCheckpoint: ${file} is truncated (header)`);
  const header = parseHeader(file, buffer.toString("utf8", MAGIC.length + 4, headerEnd));
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const total = Object.values(header.tensors).reduce((s, l) => s + l.reduce((a, d) => a + d.length, 0), 0);
  if (buffer.length !== dataStart + total * 4) throw new Error(`readCheckpoint: ${file} is truncated (expected ${dataStart + total * 4} bytes, found ${buffer.length})`);
  const aligned = new Uint8Array(buffer.length - dataStart);
  aligned.set(buffer.subarray(dataStart));
  const floats = new Float32Array(aligned.buffer);
  const tensors: Record<string, StoredTensor[]> = {};
  for (const [group, list] of Object.entries(header.tensors)) {
    tensors[group] = list.map((d) => ({ shape: d.shape, data: floats.slice(d.offset, d.offset + d.length) }));
  }
  return { meta: header.meta, tensors };
}

/**
 * Writes `buffer[0, end)` to `fd`, repeating after partial writes (a nearly full disk accepts part
 * of a write and reports the rest only on the next call); a write that makes no progress fails.
 */
function writeFully(writeSync: NonNullable<WriteCheckpointOptions["writeSync"]>, fd: number, buffer: Uint8Array, end: number): void {
  let written = 0;
  while (written < end) {
    const n = writeSync(fd, buffer, written, end - written);
    if (!(n > 0)) throw new Error(`short write: ${written} of ${end} bytes written, then the write made no progress (disk full?)`);
    written += n;
  }
}

type TensorDescriptor = { shape: number[]; offset: number; length: number };

function isDescriptor(d: unknown): d is TensorDescriptor {
  if (d === null || typeof d !== "object") return false;
  const { shape, offset, length } = d as Record<string, unknown>;
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  return Array.isArray(shape) && shape.every(count) && count(offset) && count(length) && shape.reduce((a: number, b: number) => a * b, 1) === length;
}

/** Parses and checks the JSON header; every failure names the file and what the header should hold. */
function parseHeader(file: string, text: string): { version: number; meta: Record<string, unknown>; tensors: Record<string, TensorDescriptor[]> } {
  const expected = "a JSON header {version: 1, meta: {...}, tensors: {group: [{shape, offset, length}]}}";
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw new Error(`readCheckpoint: ${file} has a corrupt header (expected ${expected}): ${(err as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new Error(`readCheckpoint: ${file} has a corrupt header (expected ${expected}, found ${JSON.stringify(header)})`);
  const h = header as Record<string, unknown>;
  if (h.version !== 1) throw new Error(`readCheckpoint: ${file} has version ${JSON.stringify(h.version)}, expected 1`);
  const meta = h.meta;
  const tensors = h.tensors;
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isObject(meta)) throw new Error(`readCheckpoint: ${file} has a corrupt header: "meta" must be an object (expected ${expected})`);
  if (!isObject(tensors)) throw new Error(`readCheckpoint: ${file} has a corrupt header: "tensors" must be an object (expected ${expected})`);
  for (const [group, list] of Object.entries(tensors)) {
    if (!Array.isArray(list) || !list.every(isDescriptor)) {
      throw new Error(`readCheckpoint: ${file} has a corrupt header: tensor group "${group}" must be a list of {shape, offset, length} with length = product of shape`);
    }
  }
  return { version: 1, meta, tensors: tensors as Record<string, TensorDescriptor[]> };
}

/** Removes temporary files left in `dir` by interrupted writes of this naming scheme. */
export function removeStaleTemporaries(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    if (/^\..+\.tmp-\d+-\d+$/.test(name)) {
      const pid = Number(name.split(".tmp-")[1].split("-")[0]);
      if (pid !== process.pid) fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}
