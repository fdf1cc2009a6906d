/**
 * 2-D discrete Fourier transform on (re, im) pairs, built from matmuls with precomputed cos/sin
 * matrices. It uses only MatMul, Transpose, Reshape and elementwise ops, which every backend
 * (wasm included) implements with gradients, so it is differentiable everywhere.
 *
 * Convention (same as tf.spectral.fft / numpy.fft): X[k] = Σ_n x[n]·exp(−2πi·k·n/N), and the
 * inverse carries the 1/N factor. Index 0 is the zero frequency; use fftshift2d to centre it.
 *
 * Cost: O(N³) per axis instead of O(N² log N), which for the grid sizes of this toolkit
 * (≤ 256) is cheap next to a training step and runs as one well-optimised matmul.
 */
import { tf } from "../runtime/tf";
import { ctidy, type ComplexTensor } from "./complex";

const matrixCache = new Map<number, { cos: Float32Array; sin: Float32Array }>();

/**
 * The N×N matrices cos(2π·j·k/N) and sin(2π·j·k/N) on the host. j·k is reduced modulo N in
 * integers first so the float64 angle stays exact for large N.
 */
export function dftMatrices(n: number): { cos: Float32Array; sin: Float32Array } {
  if (!Number.isInteger(n) || n < 1) throw new Error(`dftMatrices: n must be an integer >= 1, got ${n}`);
  let m = matrixCache.get(n);
  if (!m) {
    const cos = new Float32Array(n * n);
    const sin = new Float32Array(n * n);
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < n; k++) {
        const angle = (2 * Math.PI * ((j * k) % n)) / n;
        cos[j * n + k] = Math.cos(angle);
        sin[j * n + k] = Math.sin(angle);
      }
    }
    m = { cos, sin };
    matrixCache.set(n, m);
  }
  return m;
}

/**
 * 1-D DFT along the last axis of a complex tensor of any rank >= 1.
 * `inverse` uses exp(+2πi·kn/N) and divides by N.
 */
export function dft1d(x: ComplexTensor, inverse = false): ComplexTensor {
  return ctidy(() => {
    const shape = x.re.shape;
    if (shape.length < 1) throw new Error("dft1d: input must have rank >= 1");
    const n = shape[shape.length - 1];
    const rows = x.re.size / n;
    const { cos, sin } = dftMatrices(n);
    const c = tf.tensor2d(cos, [n, n]);
    const s = tf.tensor2d(sin, [n, n]);
    const a = tf.reshape(x.re, [rows, n]);
    const b = tf.reshape(x.im, [rows, n]);
    // (a + ib)(C − iσS) with σ = +1 forward, −1 inverse; C and S are symmetric.
    const sigma = inverse ? -1 : 1;
    const ac = tf.matMul(a, c);
    const bs = tf.matMul(b, s);
    const bc = tf.matMul(b, c);
    const as = tf.matMul(a, s);
    let re = sigma > 0 ? tf.add(ac, bs) : tf.sub(ac, bs);
    let im = sigma > 0 ? tf.sub(bc, as) : tf.add(bc, as);
    if (inverse) {
      re = tf.div(re, n);
      im = tf.div(im, n);
    }
    return { re: tf.reshape(re, shape), im: tf.reshape(im, shape) };
  });
}

function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const r = t.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return tf.transpose(t, perm);
}

/**
 * 2-D DFT over the last two axes ([..., H, W]) of a complex tensor of rank >= 2.
 * Equals tf.spectral.fft applied along W and then along H (and ifft for `inverse`).
 */
export function dft2d(x: ComplexTensor, inverse = false): ComplexTensor {
  if (x.re.shape.length < 2) throw new Error(`dft2d: input must have rank >= 2 ([..., H, W]), got shape [${x.re.shape}]`);
  if (x.re.shape.some((d) => d < 1)) throw new Error(`dft2d: input must have no empty axis, got shape [${x.re.shape}]`);
  return ctidy(() => {
    const alongW = dft1d(x, inverse);
    const t = { re: swapLastTwo(alongW.re), im: swapLastTwo(alongW.im) };
    const alongH = dft1d(t, inverse);
    return { re: swapLastTwo(alongH.re), im: swapLastTwo(alongH.im) };
  });
}

/** Inverse 2-D DFT (with the 1/(H·W) factor). */
export function idft2d(x: ComplexTensor): ComplexTensor {
  return dft2d(x, true);
}

/** Circular roll along `axis` by `shift` (positive moves elements towards higher indices). */
export function roll(t: tf.Tensor, shift: number, axis: number): tf.Tensor {
  const r = t.shape.length;
  const ax = axis < 0 ? axis + r : axis;
  const n = t.shape[ax];
  const s = ((shift % n) + n) % n;
  if (s === 0) return tf.clone(t);
  return tf.tidy(() => {
    const begin = new Array(r).fill(0);
    const sizeA = t.shape.slice();
    sizeA[ax] = s;
    const beginA = begin.slice();
    beginA[ax] = n - s;
    const sizeB = t.shape.slice();
    sizeB[ax] = n - s;
    return tf.concat([tf.slice(t, beginA, sizeA), tf.slice(t, begin, sizeB)], ax);
  });
}

/** numpy.fft.fftshift over the last two axes: moves the zero frequency to index floor(N/2). */
export function fftshift2d(t: tf.Tensor): tf.Tensor {
  const r = t.shape.length;
  return tf.tidy(() => roll(roll(t, Math.floor(t.shape[r - 2] / 2), r - 2), Math.floor(t.shape[r - 1] / 2), r - 1));
}

/** numpy.fft.ifftshift over the last two axes (the exact inverse of fftshift2d, odd sizes included). */
export function ifftshift2d(t: tf.Tensor): tf.Tensor {
  const r = t.shape.length;
  return tf.tidy(() => roll(roll(t, -Math.floor(t.shape[r - 2] / 2), r - 2), -Math.floor(t.shape[r - 1] / 2), r - 1));
}

/** Spatial frequencies in cycles per metre, in DFT order (numpy.fft.fftfreq(n, pitchM)). */
export function fftFrequencies(n: number, pitchM: number): Float64Array {
  const f = new Float64Array(n);
  for (let k = 0; k < n; k++) f[k] = (k <= (n - 1) / 2 ? k : k - n) / (n * pitchM);
  return f;
}
