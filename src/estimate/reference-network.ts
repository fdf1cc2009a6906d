/**
 * The reference network of the estimate, the architecture of the Compressed Meta ONN:
 *
 *   image (H x W x C) -> linear optical conv, m kernels k x k, no bias, no activation
 *     -> flatten (m·P values, P = output positions) -> L hidden fully connected ReLU layers of width n
 *     -> linear readout (one output per class)
 *
 * in the NTK parametrisation (Jacot et al. 2018): every weight is drawn N(0, 1) and each layer
 * multiplies its pre-activation by σ/√fan_in, so the tangent kernel has a finite limit as the
 * widths grow:
 *
 *   h_{c,p}(x) = σ_v/√(k²C) · ⟨V_c, patch_p(x)⟩                 (optical conv, kernel K_c = σ_v/√(k²C)·V_c)
 *   z¹(x)      = σ_w/√(m·P) · W¹ vec(h(x)) + σ_b·b¹
 *   zˡ(x)      = σ_w/√n · Wˡ relu(zˡ⁻¹(x)) + σ_b·bˡ,  l = 2 .. L+1 (l = L+1 is the readout)
 *
 * This module holds the description, its validation, the conv geometry and the optical kernel
 * banks (random or given).
 */
import type { OpticalFrontend } from "../models/frontends/optical-frontend";
import { makeRng as dataRng } from "../runtime/seed";
import { choleskyFactor, matrix64, meanDiagonal, type Matrix64 } from "./linalg";

/**
 * A bank of m optical kernels in the tfjs conv2d filter layout [k][k][C][m] (index
 * ((ky·k + kx)·C + c)·m + j). conv2d is a cross-correlation: a PSF meant as an optical
 * convolution must be flipped in both spatial axes before it is stored here.
 */
export interface OpticalKernelBank {
  /** Kernel side k in sensor pixels. */
  size: number;
  /** Input channels C the kernels read (1 for grey-scale, 3 for RGB). */
  channels: number;
  /** Number of kernels m. */
  count: number;
  /** k·k·C·m values, layout [k][k][C][m]. */
  values: Float32Array | Float64Array;
}

/**
 * The kernel bank of a trained or designed frontend ({@link OpticalFrontend}): its
 * `opticalKernels()` flipped into conv2d orientation. A "depthwise" colour frontend gives C·n
 * kernels, kernel c·n + j reading only colour c (its sensor channels, in its order); a "sum"
 * frontend gives its n kernels over all colours. Coherent frontends (|h ⊛ x|², not a linear
 * kernel) are rejected.
 */
export function kernelBankFromFrontend(frontend: OpticalFrontend): OpticalKernelBank {
  if (frontend.energyRule === "coherent-passive") {
    throw new Error("kernelBankFromFrontend: a coherent frontend (energy rule \"coherent-passive\") records |h ⊛ x|², which no linear kernel bank represents");
  }
  const kernels = frontend.opticalKernels();
  const { kernelSize: k, inputChannels: c, count: n, values } = kernels;
  const depthwise = frontend.colorMode === "depthwise" && c > 1;
  const m = depthwise ? c * n : n;
  const out = new Float32Array(k * k * c * m);
  for (let r = 0; r < k; r++) {
    for (let q = 0; q < k; q++) {
      // conv2d correlates: tap (r, q) of the bank is tap (k−1−r, k−1−q) of the optical kernel.
      const from = ((k - 1 - r) * k + (k - 1 - q)) * c;
      const to = (r * k + q) * c;
      for (let ch = 0; ch < c; ch++) {
        for (let j = 0; j < n; j++) out[(to + ch) * m + (depthwise ? ch * n + j : j)] = values[(from + ch) * n + j];
      }
    }
  }
  return { size: k, channels: c, count: m, values: out };
}

/** Description of the reference network (see the module comment for the parametrisation). */
export interface ReferenceNetwork {
  /** Side k of the square optical kernels, in sensor pixels (odd when padding is "same"). */
  kernelSize: number;
  /**
   * The optical layer: "infinite" for infinitely many kernels (the NTK regime of paper Table 5),
   * or a finite bank (random from {@link randomOpticalKernels} or designed PSFs).
   */
  kernels: "infinite" | OpticalKernelBank;
  /** "same" (zero padding, output H x W, the sensor window of the whole scene) or "valid". Default "same". */
  padding?: "same" | "valid";
  /** Number L of hidden ReLU layers in the fully connected backend. Default 1 (two FC layers with the readout). */
  hiddenLayers?: number;
  /**
   * Whether the optical kernels are trained too. true: their gradient term enters the NTK;
   * false: only the backend is trained, as in the random-PSF ablation of paper Table 5.
   * Default true for "infinite" kernels, false for a finite bank. The analytic kernel rejects
   * true with a finite bank: the gradient of m fixed kernels sums over only m·k²·C parameters,
   * each an O(1) random variable even at infinite backend width, so that part of the tangent
   * kernel stays random and has no deterministic limit (the wide-network kernel shows it).
   */
  trainFrontend?: boolean;
  /** σ_w², variance scale of the fully connected weights. Default 2 (He), which keeps ReLU variances constant. */
  weightVariance?: number;
  /** σ_b², variance of the fully connected biases. Default 0 (no biases). */
  biasVariance?: number;
  /** σ_v², variance scale of the optical kernel parameters V (K = σ_v/√(k²C)·V). Default 1. */
  kernelVariance?: number;
}

/** A {@link ReferenceNetwork} with every default filled in and checked. */
export type ResolvedReferenceNetwork = Required<ReferenceNetwork>;

/** Fills defaults and validates; errors name the field and the expected value. */
export function resolveReferenceNetwork(net: ReferenceNetwork, channels?: number): ResolvedReferenceNetwork {
  const r: ResolvedReferenceNetwork = {
    kernelSize: net.kernelSize,
    kernels: net.kernels,
    padding: net.padding ?? "same",
    hiddenLayers: net.hiddenLayers ?? 1,
    trainFrontend: net.trainFrontend ?? net.kernels === "infinite",
    weightVariance: net.weightVariance ?? 2,
    biasVariance: net.biasVariance ?? 0,
    kernelVariance: net.kernelVariance ?? 1,
  };
  if (!Number.isInteger(r.kernelSize) || r.kernelSize < 1) throw new Error(`ReferenceNetwork.kernelSize: got ${r.kernelSize}; expected an integer >= 1`);
  if (r.padding !== "same" && r.padding !== "valid") throw new Error(`ReferenceNetwork.padding: got ${String(r.padding)}; expected "same" or "valid"`);
  if (r.padding === "same" && r.kernelSize % 2 === 0) throw new Error(`ReferenceNetwork.kernelSize: got ${r.kernelSize}; "same" padding needs an odd kernel size`);
  if (!Number.isInteger(r.hiddenLayers) || r.hiddenLayers < 0) throw new Error(`ReferenceNetwork.hiddenLayers: got ${r.hiddenLayers}; expected an integer >= 0`);
  for (const [name, v, allowZero] of [["weightVariance", r.weightVariance, false], ["biasVariance", r.biasVariance, true], ["kernelVariance", r.kernelVariance, false]] as const) {
    if (!Number.isFinite(v) || v < 0 || (v === 0 && !allowZero)) {
      throw new Error(`ReferenceNetwork.${name}: got ${v}; expected a finite number ${allowZero ? ">= 0" : "> 0"}`);
    }
  }
  if (r.kernels !== "infinite") {
    checkKernelBank(r.kernels, "ReferenceNetwork.kernels");
    if (r.kernels.size !== r.kernelSize) throw new Error(`ReferenceNetwork.kernels: bank size ${r.kernels.size} differs from kernelSize ${r.kernelSize}`);
    if (channels !== undefined && r.kernels.channels !== channels) {
      throw new Error(`ReferenceNetwork.kernels: bank reads ${r.kernels.channels} channels but the images have ${channels}`);
    }
  }
  return r;
}

/** Validates a kernel bank's fields and values; `what` names it in messages. */
export function checkKernelBank(bank: OpticalKernelBank, what: string): void {
  for (const key of ["size", "channels", "count"] as const) {
    if (!Number.isInteger(bank[key]) || bank[key] < 1) throw new Error(`${what}.${key}: got ${bank[key]}; expected an integer >= 1`);
  }
  const expected = bank.size * bank.size * bank.channels * bank.count;
  if (bank.values.length !== expected) throw new Error(`${what}.values: has ${bank.values.length} entries, expected k·k·C·m = ${expected}`);
  for (let i = 0; i < bank.values.length; i++) {
    if (!Number.isFinite(bank.values[i]!)) throw new Error(`${what}.values: entry ${i} is ${bank.values[i]}; expected finite values`);
  }
}

/** Output size and input offset of a stride-1 conv: input pixel = output position + tap + offset. */
export interface ConvGeometry {
  outHeight: number;
  outWidth: number;
  /** Number of output positions P = outHeight·outWidth. */
  positions: number;
  /** Input index of tap 0 relative to the output index: −(k−1)/2 for "same", 0 for "valid". */
  offset: number;
}

/** Geometry of a stride-1 k x k conv on an H x W image; throws when "valid" leaves no output. */
export function convGeometry(height: number, width: number, kernelSize: number, padding: "same" | "valid"): ConvGeometry {
  if (padding === "same") return { outHeight: height, outWidth: width, positions: height * width, offset: -(kernelSize - 1) / 2 };
  const outHeight = height - kernelSize + 1, outWidth = width - kernelSize + 1;
  if (outHeight < 1 || outWidth < 1) throw new Error(`convGeometry: a ${kernelSize} x ${kernelSize} "valid" conv does not fit a ${height} x ${width} image`);
  return { outHeight, outWidth, positions: outHeight * outWidth, offset: 0 };
}

/**
 * How many output positions' patches cover each input pixel (H x W, row-major): k² in the
 * interior, fewer near the border with "same" zero padding.
 */
export function patchCoverage(height: number, width: number, kernelSize: number, padding: "same" | "valid"): Float64Array {
  const g = convGeometry(height, width, kernelSize, padding);
  const cover = new Float64Array(height * width);
  for (let i = 0; i < g.outHeight; i++) {
    for (let j = 0; j < g.outWidth; j++) {
      for (let a = 0; a < kernelSize; a++) {
        const y = i + a + g.offset;
        if (y < 0 || y >= height) continue;
        for (let b = 0; b < kernelSize; b++) {
          const x = j + b + g.offset;
          if (x >= 0 && x < width) cover[y * width + x]! += 1;
        }
      }
    }
  }
  return cover;
}

/**
 * The quadratic form A = Σ_c T_cᵀ T_c of a finite bank, where T_c maps an NHWC image (flattened,
 * D = H·W·C) to the conv output of kernel c. Then Σ_{c,p} h_{c,p}(x)·h_{c,p}(x') = xᵀ A x', so
 * the conv features (m·P values) never have to be formed: their Gram is a D x D quadratic form.
 * Built as Σ_p over positions of the k²C x k²C tap matrix Σ_c K_c K_cᵀ, scattered onto pixels.
 */
export function kernelBankQuadraticForm(bank: OpticalKernelBank, height: number, width: number, padding: "same" | "valid"): Float64Array {
  checkKernelBank(bank, "kernelBankQuadraticForm: bank");
  const { size: k, channels: C, count: m, values } = bank;
  const taps = k * k * C;
  const tapGram = new Float64Array(taps * taps);
  for (let t1 = 0; t1 < taps; t1++) {
    for (let t2 = 0; t2 <= t1; t2++) {
      let s = 0;
      for (let c = 0; c < m; c++) s += values[t1 * m + c]! * values[t2 * m + c]!;
      tapGram[t1 * taps + t2] = s;
      tapGram[t2 * taps + t1] = s;
    }
  }
  const g = convGeometry(height, width, k, padding);
  const D = height * width * C;
  const form = new Float64Array(D * D);
  const pixelOfTap = new Int32Array(taps);
  for (let i = 0; i < g.outHeight; i++) {
    for (let j = 0; j < g.outWidth; j++) {
      for (let a = 0; a < k; a++) {
        for (let b = 0; b < k; b++) {
          const y = i + a + g.offset, x = j + b + g.offset;
          const inside = y >= 0 && y < height && x >= 0 && x < width;
          for (let c = 0; c < C; c++) pixelOfTap[(a * k + b) * C + c] = inside ? (y * width + x) * C + c : -1;
        }
      }
      for (let t1 = 0; t1 < taps; t1++) {
        const d1 = pixelOfTap[t1]!;
        if (d1 < 0) continue;
        for (let t2 = 0; t2 < taps; t2++) {
          const d2 = pixelOfTap[t2]!;
          if (d2 >= 0) form[d1 * D + d2]! += tapGram[t1 * taps + t2]!;
        }
      }
    }
  }
  return form;
}

/**
 * A D x D matrix L with L Lᵀ = A + εI, A the bank's {@link kernelBankQuadraticForm} and ε a
 * relative `jitter` of its mean diagonal (A is singular when m·k²·C < D). The row vector xᵀL has
 * the inner products of the bank's m·P conv features: (xᵀL)·(x'ᵀL) = xᵀAx' (+ εxᵀx'). A linear
 * layer trained by SGD from zero on xᵀL therefore makes the same predictions as one trained on
 * the conv features themselves (SGD's updates stay in the span of the features and depend only on
 * their inner products), at D instead of m·P inputs: 784 instead of 784,000 for 1,000 kernels.
 */
export function kernelBankFeatureMap(bank: OpticalKernelBank, height: number, width: number, padding: "same" | "valid", jitter = 1e-9): Matrix64 {
  const form = kernelBankQuadraticForm(bank, height, width, padding);
  const d = height * width * bank.channels;
  const a = matrix64(d, d, form);
  return choleskyFactor(a, jitter * meanDiagonal(a));
}

/** Distribution of random optical kernels. */
export type RandomKernelDistribution = "gaussian" | "nonnegative";

/** Options of {@link randomOpticalKernels}. */
export interface RandomOpticalKernelsOptions {
  /** Number of kernels m. */
  count: number;
  /** Kernel side k in sensor pixels. */
  size: number;
  /** Input channels C. Default 1. */
  channels?: number;
  /**
   * "gaussian": the NTK-parametrised initialisation K = σ_v/√(k²C)·N(0, 1), what a trained
   * optical layer starts from; "nonnegative": random incoherent PSFs, uniform [0, 1) values
   * scaled to unit sum per kernel (unit energy), as in the random-PSF ablation of paper Table 5.
   */
  distribution: RandomKernelDistribution;
  /** σ_v² of the Gaussian kernels. Default 1. */
  kernelVariance?: number;
  /** Integer seed. */
  seed: number;
}

/** Draws a seeded bank of random optical kernels, layout [k][k][C][m]. */
export function randomOpticalKernels(opts: RandomOpticalKernelsOptions): OpticalKernelBank {
  const { count, size, distribution, seed } = opts;
  const channels = opts.channels ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new Error(`randomOpticalKernels: count is ${count}; expected an integer >= 1`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`randomOpticalKernels: size is ${size}; expected an integer >= 1`);
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`randomOpticalKernels: channels is ${channels}; expected an integer >= 1`);
  const rand = dataRng(seed);
  const taps = size * size * channels;
  const values = new Float64Array(taps * count);
  if (distribution === "gaussian") {
    const scale = Math.sqrt((opts.kernelVariance ?? 1) / taps);
    for (let i = 0; i < values.length; i++) {
      // Box-Muller; 1 - u keeps the logarithm finite.
      const u = 1 - rand(), v = rand();
      values[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
  } else if (distribution === "nonnegative") {
    for (let c = 0; c < count; c++) {
      let sum = 0;
      for (let t = 0; t < taps; t++) sum += values[t * count + c] = rand();
      for (let t = 0; t < taps; t++) values[t * count + c]! /= sum;
    }
  } else {
    throw new Error(`randomOpticalKernels: distribution is ${String(distribution)}; expected "gaussian" or "nonnegative"`);
  }
  return { size, channels, count, values };
}
