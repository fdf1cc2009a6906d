/** Independent reference algorithms for the estimate tests (not a test file itself). */
import { matrix64, type Matrix64 } from "../../src/estimate/linalg";

/** Independent reference: Gauss-Jordan elimination with partial pivoting. */
export function gaussJordanSolve(a: Matrix64, b: Matrix64): Matrix64 {
  const n = a.rows, c = b.cols;
  const m = Array.from({ length: n }, (_, i) => [...Array.from(a.data.subarray(i * n, (i + 1) * n)), ...Array.from(b.data.subarray(i * c, (i + 1) * c))]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[piv]![col]!)) piv = r;
    [m[col], m[piv]] = [m[piv]!, m[col]!];
    const p = m[col]![col]!;
    for (let k = 0; k < n + c; k++) m[col]![k]! /= p;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]!;
      for (let k = 0; k < n + c; k++) m[r]![k]! -= f * m[col]![k]!;
    }
  }
  return matrix64(n, c, m.flatMap((row) => row.slice(n)));
}

