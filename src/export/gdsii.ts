/**
 * A small GDSII stream writer. A GDSII file is a sequence of records, each a big-endian uint16
 * byte length (header included), a record type byte, a data type byte and the data:
 *
 *     HEADER BGNLIB LIBNAME UNITS { BGNSTR STRNAME { element } ENDSTR } ENDLIB
 *     element = BOUNDARY LAYER DATATYPE XY ENDEL | SREF SNAME XY ENDEL
 *
 * Coordinates are int32 multiples of the database unit. Written here: boundaries (closed
 * polygons, at most 8190 vertices so that one XY record stays under 64 KiB) and structure
 * references (SREF, no rotation or magnification), which is what a layout of kernels needs.
 */
import { encodeGdsReal8 } from "./gdsii-real";

/** A closed polygon on one layer. */
export interface GdsBoundary {
  kind: "boundary";
  /** Layer number, 0–255. */
  layer: number;
  /** Datatype number, 0–255. */
  datatype: number;
  /** Vertices in database units (integers), not repeated at the end: the writer closes the polygon. */
  points: ReadonlyArray<readonly [number, number]>;
}

/** A placement of another structure, its origin at `origin` (database units). */
export interface GdsStructureRef {
  kind: "sref";
  /** Name of the structure placed. */
  structure: string;
  origin: readonly [number, number];
}

/** One structure (cell). */
export interface GdsStructure {
  /** Cell name: 1–32 characters of A–Z, a–z, 0–9, "_", "?", "$". */
  name: string;
  elements: ReadonlyArray<GdsBoundary | GdsStructureRef>;
}

/** A GDSII library (one file). */
export interface GdsLibrary {
  /** Library name (same rules as cell names). */
  name: string;
  /** Size of the database unit in metres (default 1e-9: 1 nm). */
  databaseUnitM?: number;
  /** Database units per user unit (default 1000: user unit 1 µm with a 1 nm database unit). */
  databaseUnitsPerUserUnit?: number;
  /** Modification and access time written in BGNLIB and BGNSTR (default now). */
  timestamp?: Date;
  structures: ReadonlyArray<GdsStructure>;
}

/** GDSII record types used here. */
export const GDS_RECORD = {
  HEADER: 0x00, BGNLIB: 0x01, LIBNAME: 0x02, UNITS: 0x03, ENDLIB: 0x04, BGNSTR: 0x05, STRNAME: 0x06, ENDSTR: 0x07,
  BOUNDARY: 0x08, SREF: 0x0a, LAYER: 0x0d, DATATYPE: 0x0e, XY: 0x10, ENDEL: 0x11, SNAME: 0x12,
} as const;

/** GDSII data types. */
const DATA = { NONE: 0, INT16: 2, INT32: 3, REAL8: 5, ASCII: 6 } as const;

const NAME = /^[A-Za-z0-9_?$]{1,32}$/;
const MAX_VERTICES = 8190;
const STREAM_VERSION = 600;

class RecordStream {
  private chunks: Uint8Array[] = [];
  private size = 0;

  record(type: number, dataType: number, data: Uint8Array = new Uint8Array(0)): void {
    const length = 4 + data.length;
    if (length > 0xffff) throw new Error(`writeGdsii: record of type 0x${type.toString(16)} would be ${length} bytes (limit 65535)`);
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint16(0, length);
    head[2] = type;
    head[3] = dataType;
    this.chunks.push(head, data);
    this.size += length;
  }

  int16(type: number, values: readonly number[]): void {
    const data = new Uint8Array(2 * values.length);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setInt16(2 * i, v));
    this.record(type, DATA.INT16, data);
  }

  int32(type: number, values: readonly number[]): void {
    const data = new Uint8Array(4 * values.length);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setInt32(4 * i, v));
    this.record(type, DATA.INT32, data);
  }

  real8(type: number, values: readonly number[]): void {
    const data = new Uint8Array(8 * values.length);
    values.forEach((v, i) => data.set(encodeGdsReal8(v), 8 * i));
    this.record(type, DATA.REAL8, data);
  }

  /** ASCII strings are padded with a NUL to an even length. */
  ascii(type: number, text: string): void {
    const data = new Uint8Array(text.length + (text.length % 2));
    for (let i = 0; i < text.length; i++) data[i] = text.charCodeAt(i);
    this.record(type, DATA.ASCII, data);
  }

  none(type: number): void {
    this.record(type, DATA.NONE);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

function checkName(where: string, name: string): void {
  if (typeof name !== "string" || !NAME.test(name)) throw new Error(`${where}: name ${JSON.stringify(name)} must be 1–32 characters of A–Z, a–z, 0–9, "_", "?", "$"`);
}

function checkCoordinate(where: string, v: number): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`${where}: coordinate ${v} must be an int32 number of database units`);
  return v;
}

function checkLayerNumber(where: string, what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new Error(`${where}: ${what} must be an integer 0–255, got ${v}`);
  return v;
}

function timeFields(t: Date): number[] {
  const fields = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()];
  return [...fields, ...fields];
}

/** The bytes of a GDSII stream file holding `library`. */
export function writeGdsii(library: GdsLibrary): Uint8Array {
  checkName("writeGdsii library", library.name);
  const dbuM = library.databaseUnitM ?? 1e-9;
  const perUser = library.databaseUnitsPerUserUnit ?? 1000;
  if (!(dbuM > 0) || !Number.isFinite(dbuM)) throw new Error(`writeGdsii: databaseUnitM must be a finite number > 0, got ${dbuM}`);
  if (!(perUser > 0) || !Number.isFinite(perUser)) throw new Error(`writeGdsii: databaseUnitsPerUserUnit must be a finite number > 0, got ${perUser}`);
  const names = new Set<string>();
  for (const s of library.structures) {
    checkName("writeGdsii structure", s.name);
    if (names.has(s.name)) throw new Error(`writeGdsii: structure name ${s.name} is used twice`);
    names.add(s.name);
  }
  const time = timeFields(library.timestamp ?? new Date());
  const out = new RecordStream();
  out.int16(GDS_RECORD.HEADER, [STREAM_VERSION]);
  out.int16(GDS_RECORD.BGNLIB, time);
  out.ascii(GDS_RECORD.LIBNAME, library.name);
  // UNITS: the database unit in user units, then in metres.
  out.real8(GDS_RECORD.UNITS, [1 / perUser, dbuM]);
  for (const s of library.structures) {
    const where = `writeGdsii structure ${s.name}`;
    out.int16(GDS_RECORD.BGNSTR, time);
    out.ascii(GDS_RECORD.STRNAME, s.name);
    for (const el of s.elements) {
      if (el.kind === "boundary") {
        const n = el.points.length;
        if (n < 3 || n > MAX_VERTICES) throw new Error(`${where}: a boundary needs 3 to ${MAX_VERTICES} vertices, got ${n}`);
        out.none(GDS_RECORD.BOUNDARY);
        out.int16(GDS_RECORD.LAYER, [checkLayerNumber(where, "layer", el.layer)]);
        out.int16(GDS_RECORD.DATATYPE, [checkLayerNumber(where, "datatype", el.datatype)]);
        const xy: number[] = [];
        for (const [x, y] of [...el.points, el.points[0]]) xy.push(checkCoordinate(where, x), checkCoordinate(where, y));
        out.int32(GDS_RECORD.XY, xy);
        out.none(GDS_RECORD.ENDEL);
      } else if (el.kind === "sref") {
        if (!names.has(el.structure)) throw new Error(`${where}: references structure ${JSON.stringify(el.structure)}, which the library does not hold`);
        out.none(GDS_RECORD.SREF);
        out.ascii(GDS_RECORD.SNAME, el.structure);
        out.int32(GDS_RECORD.XY, [checkCoordinate(where, el.origin[0]), checkCoordinate(where, el.origin[1])]);
        out.none(GDS_RECORD.ENDEL);
      } else {
        throw new Error(`${where}: element kind must be "boundary" or "sref", got ${JSON.stringify((el as { kind: unknown }).kind)}`);
      }
    }
    out.none(GDS_RECORD.ENDSTR);
  }
  out.none(GDS_RECORD.ENDLIB);
  return out.bytes();
}
