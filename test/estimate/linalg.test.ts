import { test } from "node:test";
import assert from "node:assert/strict";
import { gaussJordanSolve } from "./reference-solvers";
import { choleskyFactor, choleskySolve, gramProduct, matMul, matrix64, meanDiagonal, type Matrix64 } from "../../src/estimate/linalg";

function randomSpd(n: number, seed: number): Matrix64 {
  let s = seed;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
  const x = matrix64(n, n + 2, Array.from({ length: n * (n + 2) }, rand));
  const a = gramProduct(x);
  for (let i = 0; i < n; i++) a.data[i * n + i]! += 0.1;
  return a;
}

test("Cholesky of the hand-computed 3x3 example", () => {
  const a = matrix64(3, 3, [4, 12, -16, 12, 37, -43, -16, -43, 98]);
  const l = choleskyFactor(a);
  assert.deepEqual(Array.from(l.data), [2, 0, 0, 6, 1, 0, -8, 5, 3]);
  // A shift of λ on the diagonal factors A + λI: here 4 + 5 = 9 gives L[0,0] = 3.
  assert.equal(choleskyFactor(a, 5).data[0], 3);
});

test("Cholesky reconstructs random SPD matrices (odd and even sizes) and solves like Gauss-Jordan", () => {
  for (const n of [1, 2, 7, 8, 33]) {
    const a = randomSpd(n, 11 + n);
    const l = choleskyFactor(a);
    const lt = matrix64(n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) lt.data[j * n + i] = l.data[i * n + j]!;
    const back = matMul(l, lt);
    for (let i = 0; i < n * n; i++) assert.ok(Math.abs(back.data[i]! - a.data[i]!) < 1e-10, `n=${n} entry ${i}`);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(l.data[i * n + j], 0);
    const b = matrix64(n, 3, Array.from({ length: n * 3 }, (_, i) => Math.sin(i + 1)));
    const x = choleskySolve(l, b);
    const ref = gaussJordanSolve(a, b);
    for (let i = 0; i < n * 3; i++) assert.ok(Math.abs(x.data[i]! - ref.data[i]!) < 1e-8 * (1 + Math.abs(ref.data[i]!)), `n=${n} solution ${i}`);
  }
});

test("Cholesky rejects matrices that are not positive definite, naming the pivot", () => {
  const a = matrix64(2, 2, [1, 2, 2, 1]);
  assert.throws(() => choleskyFactor(a), /pivot 1 is -3.*not positive definite/);
  assert.throws(() => choleskyFactor(matrix64(2, 3)), /square/);
  assert.throws(() => matrix64(2, 2, [1, 2, 3]), /3 values, expected rows \* cols = 4/);
});

test("gramProduct equals the naive A Bᵀ and is symmetric for A Aᵀ", () => {
  const a = matrix64(5, 6, Array.from({ length: 30 }, (_, i) => Math.cos(i * 0.7)));
  const b = matrix64(4, 6, Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.3)));
  const g = gramProduct(a, b);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) {
    let s = 0;
    for (let k = 0; k < 6; k++) s += a.data[i * 6 + k]! * b.data[j * 6 + k]!;
    assert.ok(Math.abs(g.data[i * 4 + j]! - s) < 1e-12);
  }
  const s = gramProduct(a);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) assert.equal(s.data[i * 5 + j], s.data[j * 5 + i]);
  assert.ok(Math.abs(meanDiagonal(s) - Array.from({ length: 5 }, (_, i) => s.data[i * 6]!).reduce((x, y) => x + y) / 5) < 1e-12);
});

test("gramProduct over mostly-zero operands (the sparse route, either side, symmetric and mirrored) equals the naive A Bᵀ", () => {
  // About 80 % zeros, as MNIST: some rows empty, one row dense.
  const sparse = (rows: number, cols: number, seed: number) => matrix64(rows, cols, Array.from({ length: rows * cols }, (_, i) => {
    const r = Math.floor(i / cols);
    if (r === 1) return 0; // an all-zero row
    if (r === 2) return Math.cos(i + seed); // a dense row
    return Math.sin(i * 12.9898 + seed) * 43758.5453 % 1 > 0.6 ? Math.cos(i * 0.37 + seed) : 0;
  }));
  const dense = (rows: number, cols: number) => matrix64(rows, cols, Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.91) + 0.1));
  const naive = (a: Matrix64, b: Matrix64) => {
    const out = new Float64Array(a.rows * b.rows);
    for (let i = 0; i < a.rows; i++) for (let j = 0; j < b.rows; j++) {
      let s = 0;
      for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k]! * b.data[j * a.cols + k]!;
      out[i * b.rows + j] = s;
    }
    return out;
  };
  const close = (got: Matrix64, want: Float64Array, what: string) => {
    assert.equal(got.data.length, want.length, what);
    want.forEach((w, k) => assert.ok(Math.abs(got.data[k]! - w) <= 1e-12 * Math.max(1, Math.abs(w)), `${what}: entry ${k} is ${got.data[k]}, expected ${w}`));
  };
  const xs = sparse(9, 17, 1), ys = sparse(7, 17, 2), d = dense(7, 17);
  close(gramProduct(xs, d), naive(xs, d), "sparse A, dense B");
  close(gramProduct(d, xs), naive(d, xs), "dense A, sparse B");
  close(gramProduct(xs, ys), naive(xs, ys), "both sparse");
  close(gramProduct(xs), naive(xs, xs), "A Aᵀ");
  // mirrorLower: (X Q) Xᵀ with Q symmetric is symmetric, and only its lower triangle is computed.
  const q = matrix64(17, 17, Array.from({ length: 17 * 17 }, (_, i) => { const r = Math.floor(i / 17), c = i % 17; return Math.cos(r + c) + (r === c ? 3 : 0); }));
  const xq = gramProduct(xs, q);
  close(gramProduct(xq, xs, undefined, true), naive(xq, xs), "mirrored (X Q) Xᵀ");
});
