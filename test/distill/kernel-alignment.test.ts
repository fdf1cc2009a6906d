import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { centreKernel, kernelAlignment } from "../../src/distill/kernel-alignment";

before(async () => {
  await initBackend({ backend: "cpu" });
});

const flat = (rows: number[][]) => Float64Array.from(rows.flat());

test("centring a 2×2 kernel leaves ((a + c − 2b)/4)·[[1, −1], [−1, 1]]", () => {
  const c = centreKernel([5, 1, 1, 3], 2);
  const s = (5 + 3 - 2) / 4;
  assert.deepEqual(Array.from(c), [s, -s, -s, s]);
});

test("two 2×2 kernels align at ±1, by the sign of a + c − 2b (hand-computed)", () => {
  assert.equal(kernelAlignment(flat([[2, 0], [0, 2]]), flat([[0, 1], [1, 0]]), { n: 2 }), -1);
  assert.equal(kernelAlignment(flat([[2, 0], [0, 2]]), flat([[1, 0.5], [0.5, 4]]), { n: 2 }), 1);
});

test("uncentred alignment of I₃ and the all-ones matrix is 1/√3; centred, the constant kernel has none", () => {
  const eye = flat([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  const ones = flat([[1, 1, 1], [1, 1, 1], [1, 1, 1]]);
  assert.ok(Math.abs(kernelAlignment(eye, ones, { n: 3, centred: false }) - 1 / Math.sqrt(3)) < 1e-15);
  assert.ok(Number.isNaN(kernelAlignment(eye, ones, { n: 3 })));
});

test("alignment ignores a positive scale and a constant offset, and falls for unrelated kernels", () => {
  const n = 40;
  const x = tf.randomNormal([n, 5], 0, 1, "float32", 3);
  const y = tf.randomNormal([n, 5], 0, 1, "float32", 4);
  const k = tf.matMul(x, x, false, true);
  const shifted = tf.add(tf.mul(k, 3), 5);
  const other = tf.matMul(y, y, false, true);
  assert.ok(Math.abs(kernelAlignment(k, shifted) - 1) < 1e-6);
  assert.ok(Math.abs(kernelAlignment(k, k) - 1) < 1e-12);
  const unrelated = kernelAlignment(k, other);
  // Linear kernels of independent features: related only through sampling noise.
  assert.ok(unrelated < 0.5, `unrelated kernels aligned at ${unrelated}`);
  tf.dispose([x, y, k, shifted, other]);
});

test("bad kernels are refused with what was expected", () => {
  const a = tf.zeros([3, 2]);
  assert.throws(() => kernelAlignment(a, a), /first kernel must be a square matrix \[n, n\], got shape \[3,2\]/);
  const b = tf.eye(3);
  const c = tf.eye(4);
  assert.throws(() => kernelAlignment(b, c), /kernels are 3×3 and 4×4/);
  assert.throws(() => kernelAlignment(new Float64Array(5), new Float64Array(5), { n: 2 }), /first kernel has 5 values, expected n×n with n = 2/);
  assert.throws(() => kernelAlignment(flat([[1, NaN], [NaN, 1]]), flat([[1, 0], [0, 1]]), { n: 2 }), /kernel entry \(0, 1\) is NaN/);
  tf.dispose([a, b, c]);
});
