/**
 * Dense Float64 linear algebra for kernel regression: row-major matrices, Gram products and a
 * Cholesky factorisation with triangular solves.
 *
 * Written here rather than taken from a library because kernel matrices of 5,000 points need
 * contiguous inner loops: ml-matrix's CholeskyDecomposition goes through `get`/`set` per
 * element and is several times slower at that size. The tests check this code against
 * hand-computed factors and an independent Gauss-Jordan solve.
 */

/** A dense row-major Float64 matrix: element (i, j) is `data[i * cols + j]`. */
export interface Matrix64 {
  /** Number of rows. */
  rows: number;
  /** Number of columns. */
  cols: number;
  /** Row-major values, length rows * cols. */
  data: Float64Array;
}

/** Creates a rows x cols matrix of zeros, or wraps `data` after checking its length. */
export function matrix64(rows: number, cols: number, data?: Float64Array | ArrayLike<number>): Matrix64 {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new Error(`matrix64: rows and cols must be non-negative integers, got ${rows} x ${cols}`);
  }
  if (data === undefined) return { rows, cols, data: new Float64Array(rows * cols) };
  if (data.length !== rows * cols) {
    throw new Error(`matrix64: data has ${data.length} values, expected rows * cols = ${rows * cols}`);
  }
  return { rows, cols, data: data instanceof Float64Array ? data : Float64Array.from(data) };
}

/** Throws when `m` is not rows x cols; `what` names the argument in the message. */
export function assertShape(m: Matrix64, rows: number, cols: number, what: string): void {
  if (m.rows !== rows || m.cols !== cols) {
    throw new Error(`${what}: expected a ${rows} x ${cols} matrix, got ${m.rows} x ${m.cols}`);
  }
}

/** Throws when any entry of `m` is NaN or infinite; `what` names the argument. */
export function assertFinite(m: Matrix64 | Float64Array, what: string): void {
  const data = m instanceof Float64Array ? m : m.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new Error(`${what}: entry ${i} is ${data[i]}; expected finite values`);
    }
  }
}

/** Dot product of a[aOffset .. aOffset+len) and b[bOffset .. bOffset+len), four accumulators for speed. */
function dot(a: Float64Array, aOffset: number, b: Float64Array, bOffset: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    s0 += a[aOffset + i]! * b[bOffset + i]!;
    s1 += a[aOffset + i + 1]! * b[bOffset + i + 1]!;
    s2 += a[aOffset + i + 2]! * b[bOffset + i + 2]!;
    s3 += a[aOffset + i + 3]! * b[bOffset + i + 3]!;
  }
  for (; i < len; i++) s0 += a[aOffset + i]! * b[bOffset + i]!;
  return s0 + s1 + s2 + s3;
}

/** Rows of a matrix as compressed sparse rows: the nonzero columns and values of each row. */
interface SparseRows {
  start: Int32Array;
  columns: Int32Array;
  values: Float64Array;
}

function sparseRows(m: Matrix64): SparseRows {
  let nonzeros = 0;
  for (let i = 0; i < m.data.length; i++) if (m.data[i] !== 0) nonzeros++;
  const start = new Int32Array(m.rows + 1), columns = new Int32Array(nonzeros), values = new Float64Array(nonzeros);
  let p = 0;
  for (let i = 0; i < m.rows; i++) {
    start[i] = p;
    for (let k = 0, at = i * m.cols; k < m.cols; k++, at++) {
      const v = m.data[at]!;
      if (v !== 0) { columns[p] = k; values[p] = v; p++; }
    }
  }
  start[m.rows] = p;
  return { start, columns, values };
}

/** Share of nonzero entries. */
function density(m: Matrix64): number {
  let nonzeros = 0;
  for (let i = 0; i < m.data.length; i++) if (m.data[i] !== 0) nonzeros++;
  return m.data.length === 0 ? 1 : nonzeros / m.data.length;
}

/** Σ_k dense[offset + k]·row_k over the nonzeros of one sparse row. */
function sparseDot(dense: Float64Array, offset: number, rows: SparseRows, row: number): number {
  const { columns, values } = rows;
  const end = rows.start[row + 1]!;
  let s0 = 0, s1 = 0, q = rows.start[row]!;
  for (; q + 1 < end; q += 2) {
    s0 += dense[offset + columns[q]!]! * values[q]!;
    s1 += dense[offset + columns[q + 1]!]! * values[q + 1]!;
  }
  if (q < end) s0 += dense[offset + columns[q]!]! * values[q]!;
  return s0 + s1;
}

/**
 * Below this share of nonzeros in the sparser operand, Gram products run over its nonzeros only
 * (MNIST images are about 19 % nonzero: 2.7x faster on 1,000 x 784 here).
 */
const SPARSE_DENSITY = 0.5;

/**
 * Gram product A Bᵀ of two row-feature matrices (rows are samples, columns are features).
 * With `b` omitted it computes A Aᵀ, filling the lower triangle and mirroring it, so the result
 * is exactly symmetric. `mirrorLower` does the same for a `b` known to give a symmetric product
 * (A = X Q, B = X with Q symmetric): half the work. When one operand is mostly zeros (images
 * with a dark background), each dot product runs over that operand's nonzeros. `onRow(done,
 * total)` is called every few rows for progress reporting.
 */
export function gramProduct(a: Matrix64, b?: Matrix64, onRow?: (done: number, total: number) => void, mirrorLower = false): Matrix64 {
  const symmetric = b === undefined || mirrorLower;
  const other = b ?? a;
  if (symmetric && other.rows !== a.rows) throw new Error(`gramProduct: mirrorLower needs square output, got ${a.rows} x ${other.rows}`);
  if (other.cols !== a.cols) {
    throw new Error(`gramProduct: feature counts differ (${a.cols} vs ${other.cols})`);
  }
  const n = a.rows, m = other.rows, d = a.cols;
  const out = new Float64Array(n * m);
  const every = Math.max(1, Math.floor(n / 100));
  const densityA = density(a), densityB = other === a ? densityA : density(other);
  // Entry (i, j) is a_i · b_j: over b_j's nonzeros, or over a_i's when A is the sparser one.
  const sparseB = densityB <= densityA && densityB < SPARSE_DENSITY ? sparseRows(other) : null;
  const sparseA = sparseB === null && densityA < SPARSE_DENSITY ? sparseRows(a) : null;
  for (let i = 0; i < n; i++) {
    const last = symmetric ? i : m - 1;
    for (let j = 0; j <= last; j++) {
      const v = sparseB !== null ? sparseDot(a.data, i * d, sparseB, j)
        : sparseA !== null ? sparseDot(other.data, j * d, sparseA, i)
        : dot(a.data, i * d, other.data, j * d, d);
      out[i * m + j] = v;
      if (symmetric) out[j * m + i] = v;
    }
    if (onRow && (i % every === every - 1 || i === n - 1)) onRow(i + 1, n);
  }
  return { rows: n, cols: m, data: out };
}

/** Ordinary product A B. */
export function matMul(a: Matrix64, b: Matrix64): Matrix64 {
  if (a.cols !== b.rows) throw new Error(`matMul: inner dimensions differ (${a.rows} x ${a.cols} times ${b.rows} x ${b.cols})`);
  const n = a.rows, k = a.cols, m = b.cols;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a.data[i * k + p]!;
      if (aip === 0) continue;
      const bRow = p * m, oRow = i * m;
      for (let j = 0; j < m; j++) out[oRow + j] += aip * b.data[bRow + j]!;
    }
  }
  return { rows: n, cols: m, data: out };
}

/**
 * Lower-triangular Cholesky factor L of a symmetric positive-definite matrix (A = L Lᵀ), with
 * `diagonalShift` added to the diagonal first (the ridge λ of kernel regression), so one kernel
 * matrix serves a whole λ grid without copies by the caller. Only the lower triangle of `a` is
 * read. Throws when a pivot is not positive, naming the row: the matrix is not positive definite
 * at this shift (raise λ).
 *
 * Row-oriented Cholesky-Crout: L[j,k] = (A[j,k] - L[j,:k]·L[k,:k]) / L[k,k], two rows j, j+1 at a
 * time so each loaded row k is used twice (about 2x faster than one row at a time in V8).
 */
export function choleskyFactor(a: Matrix64, diagonalShift = 0): Matrix64 {
  if (a.rows !== a.cols) throw new Error(`choleskyFactor: expected a square matrix, got ${a.rows} x ${a.cols}`);
  if (!Number.isFinite(diagonalShift)) throw new Error(`choleskyFactor: diagonalShift is ${diagonalShift}; expected a finite number`);
  const n = a.rows;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) l[i * n + j] = a.data[i * n + j]!;
    l[i * n + i]! += diagonalShift;
  }
  const pivot = (row: number, value: number): number => {
    if (!(value > 0)) {
      throw new Error(`choleskyFactor: pivot ${row} is ${value}; the matrix (+ ${diagonalShift} I) is not positive definite`);
    }
    return Math.sqrt(value);
  };
  let j = 0;
  for (; j + 1 < n; j += 2) {
    const r0 = j * n, r1 = (j + 1) * n;
    for (let k = 0; k < j; k++) {
      const rk = k * n;
      let s0 = 0, s1 = 0, t0 = 0, t1 = 0;
      let i = 0;
      for (; i + 1 < k; i += 2) {
        const l0 = l[rk + i]!, l1 = l[rk + i + 1]!;
        s0 += l0 * l[r0 + i]!;
        s1 += l1 * l[r0 + i + 1]!;
        t0 += l0 * l[r1 + i]!;
        t1 += l1 * l[r1 + i + 1]!;
      }
      for (; i < k; i++) {
        const l0 = l[rk + i]!;
        s0 += l0 * l[r0 + i]!;
        t0 += l0 * l[r1 + i]!;
      }
      const dk = l[rk + k]!;
      l[r0 + k] = (l[r0 + k]! - (s0 + s1)) / dk;
      l[r1 + k] = (l[r1 + k]! - (t0 + t1)) / dk;
    }
    l[r0 + j] = pivot(j, l[r0 + j]! - dot(l, r0, l, r0, j));
    l[r1 + j] = (l[r1 + j]! - dot(l, r1, l, r0, j)) / l[r0 + j]!;
    l[r1 + j + 1] = pivot(j + 1, l[r1 + j + 1]! - dot(l, r1, l, r1, j + 1));
  }
  if (j < n) {
    const rj = j * n;
    for (let k = 0; k < j; k++) {
      const rk = k * n;
      l[rj + k] = (l[rj + k]! - dot(l, rk, l, rj, k)) / l[rk + k]!;
    }
    l[rj + j] = pivot(j, l[rj + j]! - dot(l, rj, l, rj, j));
  }
  return { rows: n, cols: n, data: l };
}

/** Solves (L Lᵀ) X = B for X, given the Cholesky factor L from {@link choleskyFactor}. */
export function choleskySolve(l: Matrix64, b: Matrix64): Matrix64 {
  const n = l.rows;
  if (l.cols !== n) throw new Error(`choleskySolve: factor must be square, got ${l.rows} x ${l.cols}`);
  if (b.rows !== n) throw new Error(`choleskySolve: right-hand side has ${b.rows} rows, expected ${n}`);
  const c = b.cols;
  // Column-major copy so each right-hand side is a contiguous vector.
  const x = new Float64Array(n * c);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) x[k * n + i] = b.data[i * c + k]!;
  const ld = l.data;
  for (let k = 0; k < c; k++) {
    const off = k * n;
    // Forward: L y = b, row i of L is contiguous.
    for (let i = 0; i < n; i++) x[off + i] = (x[off + i]! - dot(ld, i * n, x, off, i)) / ld[i * n + i]!;
    // Backward: Lᵀ x = y, walking column i of L (strided), so update in axpy form instead.
    for (let i = n - 1; i >= 0; i--) {
      const xi = x[off + i]! / ld[i * n + i]!;
      x[off + i] = xi;
      const row = i * n;
      for (let p = 0; p < i; p++) x[off + p]! -= ld[row + p]! * xi;
    }
  }
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) out[i * c + k] = x[k * n + i]!;
  return { rows: n, cols: c, data: out };
}

/** Mean of the diagonal of a square matrix (the scale that relative ridge values refer to). */
export function meanDiagonal(a: Matrix64): number {
  if (a.rows !== a.cols) throw new Error(`meanDiagonal: expected a square matrix, got ${a.rows} x ${a.cols}`);
  let s = 0;
  for (let i = 0; i < a.rows; i++) s += a.data[i * a.cols + i]!;
  return s / a.rows;
}
