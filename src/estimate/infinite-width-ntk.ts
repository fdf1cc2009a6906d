/**
 * The analytic tangent kernel of the reference network (see reference-network.ts) when the
 * fully connected backend is infinitely wide, with either infinitely many optical kernels or a
 * fixed bank of m kernels.
 *
 * Recursion (NNGP Σ and NTK Θ, per output class; the classes decouple at infinite width, so the
 * full kernel is Θ ⊗ I_classes and kernel regression uses the scalar Θ):
 *
 *   First FC layer, input the conv features h(x) (m·P values):
 *     Σ¹(x,x') = σ_w²/(m·P) · Σ_{c,p} h_{c,p}(x) h_{c,p}(x') + σ_b²
 *              = σ_w²/(m·P) · xᵀ A x' + σ_b²                       finite bank, A = Σ_c T_cᵀT_c
 *              → σ_w²·σ_v²/(k²C·P) · Σ_u cover(u) x_u x'_u + σ_b²  m → ∞ (patch-covariance kernel)
 *     Θ¹ = Σ¹ + [trainFrontend] · σ_w²·σ_v²/(k²C·P) · Σ_u cover(u) x_u x'_u      (infinite kernels only)
 *   The second term is the optical kernels' gradient. It has a deterministic limit only when the
 *   kernel count grows with the backend (m → ∞: the sum over channels averages the backward
 *   signals); for a finite bank that term stays random, so a finite bank is analysed with the
 *   kernels frozen (trainFrontend false: the backend-only NTK of paper Table 5's ablation, and the
 *   NTK of an ONN whose m kernels are held at their initial or designed values). cover(u) counts
 *   the patches that contain pixel u (k² inside, fewer at "same"-padded borders).
 *
 *   ReLU layers, l = 2 .. L+1 (L hidden layers; layer L+1 is the readout):
 *     Σˡ = σ_w²·κ1(Σˡ⁻¹) + σ_b²,  Σ̇ˡ = σ_w²·κ0(Σˡ⁻¹),  Θˡ = Θˡ⁻¹·Σ̇ˡ + Σˡ
 *   with the arc-cosine kernels κ0, κ1 of arc-cosine.ts evaluated on the 2x2 covariance
 *   [[Σ(x,x), Σ(x,x')], [Σ(x,x'), Σ(x',x')]]. The result is Θ^{L+1}.
 */
import { assertFinite, gramProduct, matrix64, type Matrix64 } from "./linalg";
import { convGeometry, kernelBankQuadraticForm, patchCoverage, resolveReferenceNetwork, type ReferenceNetwork, type ResolvedReferenceNetwork } from "./reference-network";

/** Images as the kernels read them: NHWC values, e.g. an ImageDataset or a subset of one. */
export interface NtkImages {
  /** count·height·width·channels values, NHWC order. */
  images: Float32Array | Float64Array;
  /** Number of images. */
  count: number;
  /** Image height in pixels. */
  height: number;
  /** Image width in pixels. */
  width: number;
  /** Channels per pixel. */
  channels: number;
}

/** Progress of a kernel computation. */
export interface NtkProgress {
  /** "covariance": first-layer Gram products; "recursion": the ReLU layers; "empirical": wide-network initialisations. */
  stage: "covariance" | "recursion" | "empirical";
  /** Units done in this stage. */
  done: number;
  /** Units in this stage. */
  total: number;
}

/** NNGP and NTK matrices between two image sets (rows: first set, columns: second). */
export interface InfiniteWidthKernels {
  /** Θ^{L+1}: the neural tangent kernel per output class. */
  ntk: Matrix64;
  /** Σ^{L+1}: the NNGP kernel (output covariance at initialisation) per output class. */
  nngp: Matrix64;
}

/** Checks image sets and returns them as N x D Float64 matrices; `what` names the argument. */
export function imagesToMatrix(x: NtkImages, what: string): Matrix64 {
  for (const key of ["count", "height", "width", "channels"] as const) {
    if (!Number.isInteger(x[key]) || x[key] < (key === "count" ? 0 : 1)) throw new Error(`${what}.${key}: got ${x[key]}; expected a positive integer`);
  }
  const d = x.height * x.width * x.channels;
  if (x.images.length < x.count * d) {
    throw new Error(`${what}.images: has ${x.images.length} values, expected count·height·width·channels = ${x.count * d}`);
  }
  const data = new Float64Array(x.count * d);
  for (let i = 0; i < data.length; i++) {
    const v = x.images[i]!;
    if (!Number.isFinite(v)) throw new Error(`${what}.images: value ${i} is ${v}; expected finite pixel values`);
    data[i] = v;
  }
  return matrix64(x.count, d, data);
}

/** xᵀ Q x' for every pair, Q diagonal (weights per feature) or dense D x D; also the two diagonals. */
interface QuadraticGram {
  cross: Matrix64;
  diagA: Float64Array;
  diagB: Float64Array;
}

function diagonalFormGram(xa: Matrix64, xb: Matrix64 | undefined, weights: Float64Array, onRow?: (d: number, t: number) => void): QuadraticGram {
  const scale = (x: Matrix64): Matrix64 => {
    const out = matrix64(x.rows, x.cols);
    for (let i = 0; i < x.rows; i++) for (let f = 0; f < x.cols; f++) out.data[i * x.cols + f] = x.data[i * x.cols + f]! * Math.sqrt(weights[f]!);
    return out;
  };
  const za = scale(xa);
  const zb = xb ? scale(xb) : undefined;
  const cross = gramProduct(za, zb, onRow);
  const rowNorms = (z: Matrix64): Float64Array => {
    const out = new Float64Array(z.rows);
    for (let i = 0; i < z.rows; i++) {
      let s = 0;
      for (let f = 0; f < z.cols; f++) s += z.data[i * z.cols + f]! ** 2;
      out[i] = s;
    }
    return out;
  };
  const diagA = rowNorms(za);
  return { cross, diagA, diagB: zb ? rowNorms(zb) : diagA };
}

function denseFormGram(xa: Matrix64, xb: Matrix64 | undefined, form: Float64Array, onRow?: (d: number, t: number) => void): QuadraticGram {
  const d = xa.cols;
  const formMatrix = matrix64(d, d, form);
  // Q is symmetric, so row i of X Q holds xᵢᵀQ; then (X_a Q)·X_b rows gives xᵀ Q x'.
  const project = (x: Matrix64): Matrix64 => gramProduct(x, formMatrix);
  const fa = project(xa);
  // Xa Q Xaᵀ is symmetric: compute the lower triangle and mirror it (exactly symmetric for Cholesky).
  const cross = gramProduct(fa, xb ?? xa, onRow, !xb);
  const rowDots = (f: Matrix64, x: Matrix64): Float64Array => {
    const out = new Float64Array(f.rows);
    for (let i = 0; i < f.rows; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += f.data[i * d + k]! * x.data[i * d + k]!;
      out[i] = s;
    }
    return out;
  };
  const diagA = rowDots(fa, xa);
  return { cross, diagA, diagB: xb ? rowDots(project(xb), xb) : diagA };
}

/**
 * Patch-coverage weights of the infinite-kernel limit, one per NHWC feature:
 * σ_v²/(k²C·P) · cover(pixel). Multiply by σ_w² for Σ¹.
 */
export function infiniteKernelFeatureWeights(net: ResolvedReferenceNetwork, height: number, width: number, channels: number): Float64Array {
  const cover = patchCoverage(height, width, net.kernelSize, net.padding);
  const { positions } = convGeometry(height, width, net.kernelSize, net.padding);
  const scale = net.kernelVariance / (net.kernelSize * net.kernelSize * channels * positions);
  const w = new Float64Array(height * width * channels);
  for (let u = 0; u < height * width; u++) for (let c = 0; c < channels; c++) w[u * channels + c] = scale * cover[u]!;
  return w;
}

/**
 * Analytic NNGP and NTK of the reference network with an infinitely wide backend, between image
 * sets `a` (rows) and `b` (columns; `a` itself when omitted, giving an exactly symmetric matrix).
 * Cost: one or two Gram products of D-pixel images (O(N·M·D)) plus O(N·M·L) for the recursion.
 */
export function infiniteWidthNtk(
  network: ReferenceNetwork,
  a: NtkImages,
  b?: NtkImages,
  onProgress?: (p: NtkProgress) => void,
): InfiniteWidthKernels {
  const net = resolveReferenceNetwork(network, a.channels);
  if (net.kernels !== "infinite" && net.trainFrontend) {
    throw new Error(
      "infiniteWidthNtk: trainFrontend with a finite kernel bank has no deterministic infinite-width limit " +
        "(the kernels' gradient term stays random); use trainFrontend: false (backend trained) or kernels: \"infinite\"",
    );
  }
  const xa = imagesToMatrix(a, "infiniteWidthNtk: a");
  let xb: Matrix64 | undefined;
  if (b) {
    if (b.height !== a.height || b.width !== a.width || b.channels !== a.channels) {
      throw new Error(`infiniteWidthNtk: b is ${b.height}x${b.width}x${b.channels} but a is ${a.height}x${a.width}x${a.channels}`);
    }
    xb = imagesToMatrix(b, "infiniteWidthNtk: b");
  }
  const { positions } = convGeometry(a.height, a.width, net.kernelSize, net.padding);
  const sw2 = net.weightVariance, sb2 = net.biasVariance;
  const passes = net.kernels === "infinite" || !net.trainFrontend ? 1 : 2;
  let pass = 0;
  const onRow = onProgress
    ? (done: number, total: number) => onProgress({ stage: "covariance", done: pass * total + done, total: passes * total })
    : undefined;

  const coverWeights = infiniteKernelFeatureWeights(net, a.height, a.width, a.channels);
  let forward: QuadraticGram;
  let gradientTerm: QuadraticGram | undefined;
  if (net.kernels === "infinite") {
    forward = diagonalFormGram(xa, xb, coverWeights, onRow);
    if (net.trainFrontend) gradientTerm = forward;
  } else {
    const form = kernelBankQuadraticForm(net.kernels, a.height, a.width, net.padding);
    forward = denseFormGram(xa, xb, form, onRow);
    // A is Σ_c T_cᵀT_c; the 1/(m·P) of the NTK parametrisation is applied below.
    const bankScale = 1 / (net.kernels.count * positions);
    // diagB is the same array as diagA in the symmetric case: scale each distinct array once.
    for (const arr of new Set([forward.cross.data, forward.diagA, forward.diagB])) for (let i = 0; i < arr.length; i++) arr[i]! *= bankScale;
    if (net.trainFrontend) {
      pass = 1;
      gradientTerm = diagonalFormGram(xa, xb, coverWeights, onRow);
    }
  }

  const n = xa.rows, m = xb ? xb.rows : n;
  const sigma = new Float64Array(n * m);
  const theta = new Float64Array(n * m);
  for (let i = 0; i < n * m; i++) {
    sigma[i] = sw2 * forward.cross.data[i]! + sb2;
    theta[i] = sigma[i]! + (gradientTerm ? sw2 * gradientTerm.cross.data[i]! : 0);
  }
  let varA = Float64Array.from(forward.diagA, (v) => sw2 * v + sb2);
  let varB = xb ? Float64Array.from(forward.diagB, (v) => sw2 * v + sb2) : varA;

  for (let layer = 0; layer < net.hiddenLayers; layer++) {
    for (let i = 0; i < n; i++) {
      const si = varA[i]!;
      for (let j = 0; j < m; j++) {
        const idx = i * m + j;
        const sj = varB[j]!;
        const norm = Math.sqrt(si * sj);
        let kappa0: number, kappa1: number;
        if (norm === 0) {
          kappa0 = 0.25;
          kappa1 = 0;
        } else {
          const cos = Math.min(1, Math.max(-1, sigma[idx]! / norm));
          const t = Math.acos(cos);
          kappa0 = (Math.PI - t) / (2 * Math.PI);
          kappa1 = (norm * (Math.sin(t) + (Math.PI - t) * cos)) / (2 * Math.PI);
        }
        const next = sw2 * kappa1 + sb2;
        theta[idx] = theta[idx]! * sw2 * kappa0 + next;
        sigma[idx] = next;
      }
    }
    // κ1 at θ = 0 is Σ(x,x)/2.
    varA = Float64Array.from(varA, (v) => sw2 * v * 0.5 + sb2);
    varB = xb ? Float64Array.from(varB, (v) => sw2 * v * 0.5 + sb2) : varA;
    onProgress?.({ stage: "recursion", done: layer + 1, total: net.hiddenLayers });
  }
  const ntk = matrix64(n, m, theta);
  const nngp = matrix64(n, m, sigma);
  assertFinite(ntk, "infiniteWidthNtk: result");
  return { ntk, nngp };
}
