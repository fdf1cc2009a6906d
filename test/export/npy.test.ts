import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { decodeNpy, encodeNpy } from "../../src/export/npy";
import { PYTHON, pythonModuleMissing, runPython } from "./helpers";

test("NPY v1.0 header: magic, version, 64-byte aligned data, the dict numpy writes", () => {
  const bytes = encodeNpy({ data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const headerLength = bytes[8] | (bytes[9] << 8);
  assert.equal((10 + headerLength) % 64, 0);
  const header = Buffer.from(bytes.subarray(10, 10 + headerLength)).toString("latin1");
  assert.equal(header.trimEnd(), "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }");
  assert.ok(header.endsWith("\n"));
  assert.equal(bytes.length, 10 + headerLength + 6 * 8);
  // Little-endian float64 of 1.0 is 00 00 00 00 00 00 f0 3f.
  assert.deepEqual(Array.from(bytes.subarray(10 + headerLength, 18 + headerLength)), [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  const oneD = Buffer.from(encodeNpy({ data: new Float32Array([1.5]), shape: [1] })).toString("latin1");
  assert.match(oneD, /'descr': '<f4', 'fortran_order': False, 'shape': \(1,\), }/);
});

test("NPY round trip keeps float64 and float32 values, shapes and dtype", () => {
  const f64 = new Float64Array([Math.PI, -1e-300, 1.0000000000000002, 0, 5e-7, 123456789.125]);
  const back = decodeNpy(encodeNpy({ data: f64, shape: [3, 1, 2] }));
  assert.equal(back.dtype, "float64");
  assert.deepEqual(back.shape, [3, 1, 2]);
  assert.deepEqual(Array.from(back.data), Array.from(f64));
  const f32 = Float32Array.from([0.1, -2.5, 3e-8]);
  const back32 = decodeNpy(encodeNpy({ data: f32, shape: [3] }));
  assert.equal(back32.dtype, "float32");
  assert.deepEqual(Array.from(back32.data), Array.from(f32));
  assert.throws(() => encodeNpy({ data: new Float64Array(5), shape: [2, 3] }), /shape \[2,3\] holds 6 values, data has 5/);
  assert.throws(() => decodeNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), "x.npy"), /x\.npy: not an NPY file/);
});

const noNumpy = pythonModuleMissing("numpy");
test("numpy reads our NPY files and we read numpy's", { skip: noNumpy }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-npy-"));
  const ours = path.join(dir, "ours.npy");
  const data = new Float64Array(12).map((_, i) => (i - 5) * 1.25e-7);
  fs.writeFileSync(ours, encodeNpy({ data, shape: [3, 4] }));
  const theirs = path.join(dir, "theirs.npy");
  const out = runPython(
    "import sys, json, numpy as np\n" +
    "a = np.load(sys.argv[1])\n" +
    "np.save(sys.argv[2], (np.arange(6, dtype=np.float32).reshape(2, 3) / 3))\n" +
    "print(json.dumps({'shape': list(a.shape), 'dtype': str(a.dtype), 'c': bool(a.flags['C_CONTIGUOUS']), 'values': a.ravel().tolist()}))",
    [ours, theirs],
  );
  const seen = JSON.parse(out);
  assert.deepEqual(seen.shape, [3, 4]);
  assert.equal(seen.dtype, "float64");
  assert.equal(seen.c, true);
  assert.deepEqual(seen.values, Array.from(data));
  const back = decodeNpy(fs.readFileSync(theirs), theirs);
  assert.equal(back.dtype, "float32");
  assert.deepEqual(back.shape, [2, 3]);
  assert.deepEqual(Array.from(back.data), Array.from(Float32Array.from([0, 1, 2, 3, 4, 5].map((v) => Math.fround(v / 3)))));
  assert.ok(PYTHON.length > 0);
});
