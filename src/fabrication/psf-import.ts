/**
 * Measured PSFs standing in for a real device: a folder of images (PNG, TIFF), NPY arrays or
 * JSON arrays, one kernel per file (sorted by file name), or one NPY/JSON file holding all
 * kernels as [n, k, k]. Every kernel is validated: square, the expected size, finite,
 * non-negative, and (unless normalised) of at most unit energy.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Options of {@link importPsfs}. */
export interface ImportPsfsOptions {
  /** Expected kernel side in pixels; any other size is an error (default: taken from the first kernel). */
  kernelSize?: number;
  /** Expected number of kernels (default: whatever is found). */
  count?: number;
  /**
   * "unit-energy" (default) scales each kernel to sum to `efficiency`: what a camera records
   * is in arbitrary units; "none" keeps values, which must then carry at most unit energy.
   */
  normalize?: "unit-energy" | "none";
  /** Transmission efficiency each normalised kernel sums to (default 1, in (0, 1]). */
  efficiency?: number;
}

/** Imported PSFs in the layout devices use. */
export interface ImportedPsfs {
  /** PSFs [k, k, 1, n] (optical orientation), row-major. */
  psfs: Float32Array;
  shape: [number, number, 1, number];
  /** The file each kernel came from. */
  sources: string[];
}

const IMAGE_EXTENSIONS = new Set([".png", ".tif", ".tiff"]);
const ARRAY_EXTENSIONS = new Set([".npy", ".json"]);

interface RawKernel {
  values: Float64Array;
  height: number;
  width: number;
  source: string;
}

const NPY_TYPES: Record<string, { bytes: number; read: (v: DataView, o: number, little: boolean) => number }> = {
  f4: { bytes: 4, read: (v, o, l) => v.getFloat32(o, l) },
  f8: { bytes: 8, read: (v, o, l) => v.getFloat64(o, l) },
  u1: { bytes: 1, read: (v, o) => v.getUint8(o) },
  u2: { bytes: 2, read: (v, o, l) => v.getUint16(o, l) },
  i2: { bytes: 2, read: (v, o, l) => v.getInt16(o, l) },
  i4: { bytes: 4, read: (v, o, l) => v.getInt32(o, l) },
  u4: { bytes: 4, read: (v, o, l) => v.getUint32(o, l) },
};

/** Parses a .npy file (format versions 1-3, C order, numeric dtypes). */
export function parseNpy(buf: Buffer, file: string): { data: Float64Array; shape: number[] } {
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString("latin1", 1, 6) !== "NUMPY") {
    throw new Error(`${file}: not a .npy file (expected the magic string \\x93NUMPY)`);
  }
  const major = buf.readUInt8(6);
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString("latin1", start, start + headerLen);
  const descr = /'descr':\s*'([<>|=])([a-z]\d)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeMatch = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeMatch) throw new Error(`${file}: unreadable .npy header ${JSON.stringify(header.trim())}`);
  const type = NPY_TYPES[descr[2]];
  if (!type) throw new Error(`${file}: .npy dtype ${descr[1]}${descr[2]} is not supported (expected one of ${Object.keys(NPY_TYPES).join(", ")})`);
  if (fortran[1] === "True") throw new Error(`${file}: Fortran-ordered .npy arrays are not supported; save with np.ascontiguousarray`);
  const shape = shapeMatch[1].split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  if (buf.length - offset < count * type.bytes) {
    throw new Error(`${file}: truncated .npy: shape (${shape.join(", ")}) needs ${count * type.bytes} data bytes, found ${buf.length - offset}`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset + offset, count * type.bytes);
  const little = descr[1] !== ">";
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = type.read(view, i * type.bytes, little);
  return { data, shape };
}

/**
 * A nested JSON array as flat data and shape. Every sub-array of a level must have the length
 * of the first (a ragged array would otherwise flatten into plausible-looking kernels).
 */
function fromNested(value: unknown, file: string): { data: Float64Array; shape: number[] } {
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const expected = "a rectangular array of numbers of shape [k, k] or [n, k, k]";
  const flat: number[] = [];
  const walk = (node: unknown, depth: number, where: string): void => {
    if (depth === shape.length) {
      if (typeof node !== "number") throw new Error(`${file}: ${where || "the value"} is ${JSON.stringify(node)}; expected ${expected}`);
      flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      const got = Array.isArray(node) ? `an array of length ${node.length}` : JSON.stringify(node);
      throw new Error(`${file}: ragged array: ${where || "the top level"} is ${got} where ${shape[depth]} entries were expected (from the first element of each level); expected ${expected}`);
    }
    node.forEach((child, i) => walk(child, depth + 1, `${where}[${i}]`));
  };
  walk(value, 0, "");
  return { data: Float64Array.from(flat), shape };
}

function splitKernels(data: Float64Array, shape: number[], file: string): RawKernel[] {
  if ((shape.length === 2 || shape.length === 3) && shape.some((d) => d === 0)) {
    throw new Error(`${file}: empty kernel stack of shape [${shape.join(", ")}]; expected at least one kernel, of shape [k, k] or [n, k, k] with n, k >= 1`);
  }
  if (shape.length === 2) return [{ values: data, height: shape[0], width: shape[1], source: file }];
  if (shape.length === 3) {
    const [n, h, w] = shape;
    return Array.from({ length: n }, (_, i) => ({ values: data.slice(i * h * w, (i + 1) * h * w), height: h, width: w, source: `${file}[${i}]` }));
  }
  throw new Error(`${file}: expected a kernel of shape [k, k] or kernels [n, k, k], got shape [${shape.join(", ")}]`);
}

async function readImage(file: string): Promise<RawKernel> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sharp = require("sharp") as typeof import("sharp");
  try {
    const { data, info } = await sharp(file).greyscale().raw({ depth: "float" }).toBuffer({ resolveWithObject: true });
    const floats = new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
    const values = new Float64Array(info.width * info.height);
    for (let i = 0; i < values.length; i++) values[i] = floats[i * info.channels];
    return { values, height: info.height, width: info.width, source: file };
  } catch (err) {
    throw new Error(`${file}: cannot decode image (${err instanceof Error ? err.message : String(err)})`);
  }
}

async function readFile(file: string): Promise<RawKernel[]> {
  const ext = path.extname(file).toLowerCase();
  if (IMAGE_EXTENSIONS.has(ext)) return [await readImage(file)];
  if (ext === ".npy") {
    const { data, shape } = parseNpy(fs.readFileSync(file), file);
    return splitKernels(data, shape, file);
  }
  if (ext === ".json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
      throw new Error(`${file}: invalid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const { data, shape } = fromNested(parsed, file);
    return splitKernels(data, shape, file);
  }
  throw new Error(`${file}: unsupported PSF file type "${ext}" (expected .png, .tif, .tiff, .npy or .json)`);
}

/** Reads and validates measured PSFs from a folder or a single file. */
export async function importPsfs(source: string, opts: ImportPsfsOptions = {}): Promise<ImportedPsfs> {
  if (!fs.existsSync(source)) throw new Error(`importPsfs: ${source} does not exist (expected a folder of PSF files or one .npy/.json file)`);
  const normalize = opts.normalize ?? "unit-energy";
  if (normalize !== "unit-energy" && normalize !== "none") throw new Error(`importPsfs: normalize must be "unit-energy" or "none", got ${String(normalize)}`);
  const efficiency = opts.efficiency ?? 1;
  if (!(efficiency > 0 && efficiency <= 1)) throw new Error(`importPsfs: efficiency must be in (0, 1], got ${efficiency}`);
  let files: string[];
  if (fs.statSync(source).isDirectory()) {
    files = fs
      .readdirSync(source)
      .filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase()) || ARRAY_EXTENSIONS.has(path.extname(f).toLowerCase()))
      .sort()
      .map((f) => path.join(source, f));
    if (files.length === 0) throw new Error(`importPsfs: ${source} holds no PSF files (.png, .tif, .tiff, .npy, .json)`);
  } else {
    files = [source];
  }
  const kernels: RawKernel[] = [];
  for (const f of files) kernels.push(...(await readFile(f)));
  if (kernels.length === 0) throw new Error(`importPsfs: ${source} holds no kernels; expected at least one k×k PSF`);
  const k = opts.kernelSize ?? kernels[0].height;
  for (const kern of kernels) {
    if (kern.height !== kern.width || kern.height !== k) {
      throw new Error(`${kern.source}: PSF is ${kern.height}x${kern.width}; expected a square ${k}x${k} kernel`);
    }
    for (let i = 0; i < kern.values.length; i++) {
      const v = kern.values[i];
      if (!Number.isFinite(v)) throw new Error(`${kern.source}: PSF value at pixel ${i} is ${v}; expected finite values`);
      if (v < 0) throw new Error(`${kern.source}: PSF value at pixel ${i} is ${v}; an incoherent PSF is an intensity and cannot be negative`);
    }
    const energy = kern.values.reduce((a, b) => a + b, 0);
    if (normalize === "none" && energy > 1 + 1e-6) {
      throw new Error(`${kern.source}: PSF carries energy ${energy.toPrecision(6)} > 1; a passive optic cannot amplify (normalize: "unit-energy" rescales it)`);
    }
    // A measured PSF always carries some light; all zeros is a dead capture or an export bug,
    // and as a kernel it would silently blank its output channel.
    if (!(energy > 0)) throw new Error(`${kern.source}: PSF is all zeros; expected a measured PSF with positive energy`);
  }
  if (opts.count !== undefined && kernels.length !== opts.count) {
    throw new Error(`importPsfs: ${source} holds ${kernels.length} kernels; expected ${opts.count}`);
  }
  const n = kernels.length;
  const psfs = new Float32Array(k * k * n);
  kernels.forEach((kern, j) => {
    const scale = normalize === "unit-energy" ? efficiency / kern.values.reduce((a, b) => a + b, 0) : 1;
    for (let p = 0; p < k * k; p++) psfs[p * n + j] = kern.values[p] * scale;
  });
  return { psfs, shape: [k, k, 1, n], sources: kernels.map((kern) => kern.source) };
}
