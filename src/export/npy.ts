/**
 * NPY files (NumPy format version 1.0): the magic "\x93NUMPY", version bytes 1 0, a little-endian
 * uint16 header length, a Python-literal header dict padded with spaces and a final newline so
 * that the data starts at a multiple of 64 bytes, then the values in C (row-major) order.
 * Only little-endian float64 ("<f8") and float32 ("<f4") are written and read: that is what a
 * height map or a PSF stack needs, and what `numpy.load` reads on every platform.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGNMENT = 64;
const DESCR = { float64: "<f8", float32: "<f4" } as const;

/** The element types an NPY file here may hold. */
export type NpyDtype = keyof typeof DESCR;

/** An n-dimensional array as NPY holds it. */
export interface NpyArray {
  /** Values in C order; Float64Array for "float64", Float32Array for "float32". */
  data: Float64Array | Float32Array;
  /** Dimensions, outermost first; [] for a scalar. */
  shape: number[];
}

function checkShape(where: string, shape: readonly number[], length: number): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== length) throw new Error(`${where}: shape ${JSON.stringify(shape)} holds ${count} values, data has ${length}`);
}

/** The bytes of an NPY v1.0 file holding `array` (its dtype follows the typed array). */
export function encodeNpy(array: NpyArray): Uint8Array {
  const { data, shape } = array;
  const dtype: NpyDtype = data instanceof Float64Array ? "float64" : data instanceof Float32Array ? "float32" : (() => {
    throw new Error(`encodeNpy: data must be a Float64Array or a Float32Array, got ${Object.prototype.toString.call(data)}`);
  })();
  checkShape("encodeNpy", shape, data.length);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const preamble = MAGIC.length + 2 + 2;
  const padded = Math.ceil((preamble + header.length + 1) / ALIGNMENT) * ALIGNMENT;
  header = header.padEnd(padded - preamble - 1, " ") + "\n";
  if (header.length > 0xffff) throw new Error(`encodeNpy: header of ${header.length} bytes exceeds format 1.0's 65535 (too many dimensions)`);
  const out = new Uint8Array(padded + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[preamble + i] = header.charCodeAt(i);
  const view = new DataView(out.buffer, padded);
  const width = dtype === "float64" ? 8 : 4;
  for (let i = 0; i < data.length; i++) {
    if (dtype === "float64") view.setFloat64(i * width, data[i], true);
    else view.setFloat32(i * width, data[i], true);
  }
  return out;
}

/** Parses an NPY v1.0/2.0 file of little-endian float64 or float32 in C order; `source` names it in errors. */
export function decodeNpy(bytes: Uint8Array, source = "NPY data"): NpyArray & { dtype: NpyDtype } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error(`${source}: not an NPY file (bad magic, expected "\\x93NUMPY")`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major !== 1 && major !== 2) throw new Error(`${source}: NPY format version ${major}.${bytes[7]} is not supported (expected 1.0 or 2.0)`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLength > bytes.length) throw new Error(`${source}: truncated NPY header`);
  const header = String.fromCharCode(...bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new Error(`${source}: NPY header lacks descr, fortran_order or shape: ${header.trim()}`);
  const dtype = (Object.keys(DESCR) as NpyDtype[]).find((k) => DESCR[k] === descr);
  if (!dtype) throw new Error(`${source}: dtype ${descr} is not supported (expected <f8 or <f4)`);
  if (fortran !== "False") throw new Error(`${source}: Fortran-ordered arrays are not supported (expected C order)`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const width = dtype === "float64" ? 8 : 4;
  const dataStart = start + headerLength;
  if (bytes.length - dataStart !== count * width) throw new Error(`${source}: expected ${count * width} data bytes for shape (${shape.join(", ")}), found ${bytes.length - dataStart}`);
  const data = dtype === "float64" ? new Float64Array(count) : new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = dtype === "float64" ? view.getFloat64(dataStart + i * 8, true) : view.getFloat32(dataStart + i * 4, true);
  return { data, shape, dtype };
}
