import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeGdsReal8, encodeGdsReal8 } from "../../src/export/gdsii-real";
import { GDS_RECORD, writeGdsii } from "../../src/export/gdsii";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("GDSII 8-byte reals equal hand-computed bytes", () => {
  // 1 = (1/16)·16^1: exponent 64 + 1 = 0x41, mantissa 2^56/16 = 0x10000000000000.
  assert.equal(hex(encodeGdsReal8(1)), "4110000000000000");
  assert.equal(hex(encodeGdsReal8(0.5)), "4080000000000000");
  assert.equal(hex(encodeGdsReal8(-2)), "c120000000000000");
  assert.equal(hex(encodeGdsReal8(0)), "0000000000000000");
  // float64(1e-3) = 0x10624DD2F1A9FC · 2^-62 = 0.256·16^-2: exponent 64 − 2 = 0x3e, mantissa
  // 0x10624DD2F1A9FC · 2^(-62 + 56 + 8) = 0x4189374BC6A7F0 (exact: 53 bits fit in 56).
  assert.equal(hex(encodeGdsReal8(1e-3)), "3e4189374bc6a7f0");
  // float64(1e-9) = 0x112E0BE826D695 · 2^-82 = 0.268…·16^-7: exponent 0x39, mantissa ·2^2.
  assert.equal(hex(encodeGdsReal8(1e-9)), "3944b82fa09b5a54");
  for (const v of [1e-3, 1e-9, 1e-6, 123.456, -7.25e-12, 2 ** 200]) assert.equal(decodeGdsReal8(encodeGdsReal8(v)), v);
  // The truncated 1e-3 many tools write (…EF) decodes to the same float64.
  assert.equal(decodeGdsReal8(Uint8Array.from(Buffer.from("3e4189374bc6a7ef", "hex"))), 1e-3);
  assert.throws(() => encodeGdsReal8(1e80), /outside the GDSII real range/);
});

/** Splits a stream into [type, dataType, data] records. */
function records(bytes: Uint8Array): [number, number, Uint8Array][] {
  const out: [number, number, Uint8Array][] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < bytes.length;) {
    const length = view.getUint16(i);
    assert.ok(length >= 4 && length % 2 === 0, `record length ${length}`);
    out.push([bytes[i + 2], bytes[i + 3], bytes.subarray(i + 4, i + length)]);
    i += length;
  }
  return out;
}

test("the stream is HEADER BGNLIB LIBNAME UNITS, structures, ENDLIB with closed boundaries and SREFs", () => {
  const bytes = writeGdsii({
    name: "LIB",
    timestamp: new Date(Date.UTC(2026, 11, 1, 12, 30, 5)),
    structures: [
      { name: "SQ", elements: [{ kind: "boundary", layer: 3, datatype: 0, points: [[0, 0], [10, 0], [10, 20], [0, 20]] }] },
      { name: "TOP", elements: [{ kind: "sref", structure: "SQ", origin: [-5, 7] }] },
    ],
  });
  const r = records(bytes);
  const R = GDS_RECORD;
  assert.deepEqual(r.map(([t]) => t), [R.HEADER, R.BGNLIB, R.LIBNAME, R.UNITS, R.BGNSTR, R.STRNAME, R.BOUNDARY, R.LAYER, R.DATATYPE, R.XY, R.ENDEL, R.ENDSTR,
    R.BGNSTR, R.STRNAME, R.SREF, R.SNAME, R.XY, R.ENDEL, R.ENDSTR, R.ENDLIB]);
  assert.equal(hex(r[0][2]), "0258"); // version 600
  assert.equal(hex(r[1][2]), "07ea000c0001000c001e0005".repeat(2)); // 2026-12-01 12:30:05 twice
  assert.equal(Buffer.from(r[2][2]).toString("latin1"), "LIB\0"); // padded to even length
  assert.equal(hex(r[3][2]), "3e4189374bc6a7f0" + "3944b82fa09b5a54");
  assert.equal(r[3][1], 5);
  const xy = r[9][2];
  const view = new DataView(xy.buffer, xy.byteOffset, xy.byteLength);
  assert.deepEqual(Array.from({ length: xy.length / 4 }, (_, i) => view.getInt32(4 * i)), [0, 0, 10, 0, 10, 20, 0, 20, 0, 0]);
  assert.equal(hex(r[7][2]), "0003");
  assert.equal(Buffer.from(r[15][2]).toString("latin1"), "SQ");
  assert.throws(() => writeGdsii({ name: "L", structures: [{ name: "A", elements: [{ kind: "sref", structure: "B", origin: [0, 0] }] }] }), /references structure "B"/);
  assert.throws(() => writeGdsii({ name: "bad name", structures: [] }), /must be 1–32 characters/);
  assert.throws(() => writeGdsii({ name: "L", structures: [{ name: "A", elements: [{ kind: "boundary", layer: 1, datatype: 0, points: [[0, 0.5], [1, 0], [1, 1]] }] }] }), /coordinate 0\.5 must be an int32/);
});
