/**
 * How alike two kernel matrices are, independent of their scale: centred kernel alignment
 * (Cortes, Mohri and Rostamizadeh 2012; CKA of Kornblith et al. 2019 with kernels given),
 *
 *   A(K, L) = ⟨HKH, HLH⟩_F / (‖HKH‖_F ‖HLH‖_F),   H = I − 11ᵀ/n.
 *
 * 1 means the kernels are equal up to a positive factor (and a constant shift); NTKD's loss asks
 * the student's NTK to match the teacher's, so this is the natural check that it did. Computed in
 * float64 on the host: n is a few hundred, and float32 sums of n² products lose digits.
 */
import type { Tensor } from "@tensorflow/tfjs";

function squareMatrix(k: Tensor | Float64Array | Float32Array, n: number | undefined, what: string): { values: ArrayLike<number>; n: number } {
  if (k instanceof Float64Array || k instanceof Float32Array) {
    if (n === undefined || !Number.isInteger(n) || n < 1 || k.length !== n * n) throw new Error(`kernelAlignment: ${what} has ${k.length} values, expected n×n with n = ${n}`);
    return { values: k, n };
  }
  if (k.rank !== 2 || k.shape[0] !== k.shape[1]) throw new Error(`kernelAlignment: ${what} must be a square matrix [n, n], got shape ${JSON.stringify(k.shape)}`);
  return { values: k.dataSync(), n: k.shape[0] as number };
}

/** H K H of an n×n kernel (row-major), in float64. */
export function centreKernel(values: ArrayLike<number>, n: number): Float64Array {
  const rowMeans = new Float64Array(n);
  const colMeans = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = values[i * n + j];
      if (!Number.isFinite(v)) throw new Error(`kernelAlignment: kernel entry (${i}, ${j}) is ${v}`);
      rowMeans[i] += v;
      colMeans[j] += v;
      total += v;
    }
  }
  for (let i = 0; i < n; i++) {
    rowMeans[i] /= n;
    colMeans[i] /= n;
  }
  const mean = total / (n * n);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = values[i * n + j] - rowMeans[i] - colMeans[j] + mean;
  return out;
}

/** Options of {@link kernelAlignment}. */
export interface KernelAlignmentOptions {
  /** Centre both kernels first (default true: centred alignment, insensitive to a constant offset). */
  centred?: boolean;
  /** Side n when the kernels are given as flat row-major arrays. */
  n?: number;
}

/**
 * The alignment of kernels `a` and `b` ([n, n] tensors, or flat arrays with `n`), in [−1, 1].
 * NaN when either centred kernel is zero (a constant kernel has no alignment).
 */
export function kernelAlignment(a: Tensor | Float64Array | Float32Array, b: Tensor | Float64Array | Float32Array, opts: KernelAlignmentOptions = {}): number {
  const A = squareMatrix(a, opts.n, "first kernel");
  const B = squareMatrix(b, opts.n, "second kernel");
  if (A.n !== B.n) throw new Error(`kernelAlignment: kernels are ${A.n}×${A.n} and ${B.n}×${B.n}; they must be over the same points`);
  const centred = opts.centred ?? true;
  const x = centred ? centreKernel(A.values, A.n) : Float64Array.from(A.values);
  const y = centred ? centreKernel(B.values, B.n) : Float64Array.from(B.values);
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < x.length; i++) {
    xy += x[i] * y[i];
    xx += x[i] * x[i];
    yy += y[i] * y[i];
  }
  return xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : NaN;
}
