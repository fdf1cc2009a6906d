/**
 * The empirical tangent kernel of a wide finite reference network at initialisation (tfjs,
 * float32), used to check the analytic infinite-width kernel and as the "wide reference network"
 * of the paper's estimate.
 *
 * Θ(x, x') = (1/O) Σ_o Σ_params ∂f_o(x)/∂θ · ∂f_o(x')/∂θ: the parameter inner product of the
 * per-output gradients, averaged over the O readout outputs (the trace of the O x O NTK block
 * divided by O). At infinite width the block is Θ·I_O, so this average converges to the
 * per-class analytic kernel, with less variance than a single output.
 *
 * Computed in closed form, exact for this architecture, instead of per-sample autodiff: a dense
 * layer z = (σ/√d)·W a + σ_b·b contributes (σ²/d)·(a(x)·a(x'))·(δ(x)·δ(x')) + σ_b²·(δ(x)·δ(x')),
 * with δ = ∂f/∂z back-propagated by hand for all O outputs at once; the optical conv contributes
 * (σ_v²/(k²C))·Σ_{o,c} g_{o,c}(x)·g_{o,c}(x') with g_{o,c} = Σ_p ∂f_o/∂h_{c,p}·patch_p. The tests
 * compare this closed form with tf.grad Jacobians.
 */
import { tf } from "../runtime/tf";
import { mixSeed } from "../runtime/seed";
import { matrix64, type Matrix64 } from "./linalg";
import { convGeometry, resolveReferenceNetwork, type ReferenceNetwork, type ResolvedReferenceNetwork } from "./reference-network";
import { imagesToMatrix, type NtkImages, type NtkProgress } from "./infinite-width-ntk";

/** Options of {@link wideNetworkNtk}. */
export interface WideNetworkNtkOptions {
  /** Hidden width n of the backend; also the kernel count m when the network's kernels are "infinite". */
  width: number;
  /** Readout outputs O (the kernel is averaged over them). Default 10. */
  outputs?: number;
  /** Independent initialisations averaged. Default 2. */
  initialisations?: number;
  /** Integer seed of the weights. */
  seed: number;
  /** Called after each initialisation. */
  onProgress?: (p: NtkProgress) => void;
}

/** The parameters of one finite reference network (NTK parametrisation, all N(0, 1)). */
export interface WideNetworkParams {
  /** Raw conv parameters V, [k, k, C, m]; the effective kernels are convScale·V. */
  conv: tf.Tensor4D;
  /** σ_v/√(k²C). */
  convScale: number;
  /** Dense weights [fan_in, fan_out], first FC layer to readout. */
  weights: tf.Tensor2D[];
  /** Dense biases [fan_out], or null when σ_b² = 0. */
  biases: (tf.Tensor1D | null)[];
  /** The resolved architecture. */
  net: ResolvedReferenceNetwork;
}

/**
 * Draws one finite reference network. For a given kernel bank, V = bank/convScale, so the
 * effective kernels equal the bank.
 */
export function initWideNetwork(network: ReferenceNetwork, channels: number, height: number, width: number, opts: { width: number; outputs: number; seed: number }): WideNetworkParams {
  const net = resolveReferenceNetwork(network, channels);
  if (!Number.isInteger(opts.width) || opts.width < 1) throw new Error(`wideNetworkNtk: width is ${opts.width}; expected an integer >= 1`);
  if (!Number.isInteger(opts.outputs) || opts.outputs < 1) throw new Error(`wideNetworkNtk: outputs is ${opts.outputs}; expected an integer >= 1`);
  const k = net.kernelSize;
  const convScale = Math.sqrt(net.kernelVariance / (k * k * channels));
  const { positions } = convGeometry(height, width, k, net.padding);
  {
    // No tf.tidy: each op below creates exactly the tensor that is kept, nothing intermediate.
    const conv: tf.Tensor4D = net.kernels === "infinite"
      ? tf.randomNormal([k, k, channels, opts.width], 0, 1, "float32", mixSeed(opts.seed, 0))
      : tf.tensor4d(Float32Array.from(net.kernels.values, (v) => v / convScale), [k, k, channels, net.kernels.count]);
    const m = conv.shape[3];
    const dims = [m * positions, ...Array<number>(net.hiddenLayers).fill(opts.width), opts.outputs];
    const weights: tf.Tensor2D[] = [];
    const biases: (tf.Tensor1D | null)[] = [];
    for (let l = 0; l + 1 < dims.length; l++) {
      weights.push(tf.randomNormal([dims[l]!, dims[l + 1]!], 0, 1, "float32", mixSeed(opts.seed, 1, l)));
      biases.push(net.biasVariance > 0 ? tf.randomNormal([dims[l + 1]!], 0, 1, "float32", mixSeed(opts.seed, 2, l)) : null);
    }
    return { conv, convScale, weights, biases, net };
  }
}

/** Frees the tensors of a network from {@link initWideNetwork}. */
export function disposeWideNetwork(p: WideNetworkParams): void {
  tf.dispose([p.conv, ...p.weights, ...p.biases.filter((b): b is tf.Tensor1D => b !== null)]);
}

/** Forward pass, NHWC images -> [N, outputs]; also the pre-activations of every dense layer. */
export function wideNetworkForward(p: WideNetworkParams, x: tf.Tensor4D): { output: tf.Tensor2D; features: tf.Tensor2D; preActivations: tf.Tensor2D[] } {
  const { net } = p;
  const h = tf.conv2d(x, tf.mul(p.conv, p.convScale) as tf.Tensor4D, 1, net.padding);
  const features = tf.reshape(h, [x.shape[0], -1]) as tf.Tensor2D;
  const preActivations: tf.Tensor2D[] = [];
  let act: tf.Tensor2D = features;
  p.weights.forEach((w, l) => {
    const scale = Math.sqrt(net.weightVariance / w.shape[0]);
    let z = tf.mul(tf.matMul(act, w), scale) as tf.Tensor2D;
    const b = p.biases[l];
    if (b) z = tf.add(z, tf.mul(b, Math.sqrt(net.biasVariance)));
    preActivations.push(z);
    act = l + 1 < p.weights.length ? tf.relu(z) : z;
  });
  return { output: preActivations[preActivations.length - 1]!, features, preActivations };
}

/** Image patches [N, P, k·k·C] in the conv2d filter tap order (ky, kx, c), zeros outside the image. */
function imagePatches(images: Matrix64, shape: { height: number; width: number; channels: number }, net: ResolvedReferenceNetwork): tf.Tensor3D {
  const { height: H, width: W, channels: C } = shape;
  const k = net.kernelSize;
  const g = convGeometry(H, W, k, net.padding);
  const taps = k * k * C;
  const out = new Float32Array(images.rows * g.positions * taps);
  for (let n = 0; n < images.rows; n++) {
    for (let i = 0; i < g.outHeight; i++) for (let j = 0; j < g.outWidth; j++) {
      const base = (n * g.positions + i * g.outWidth + j) * taps;
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
        const y = i + a + g.offset, x = j + b + g.offset;
        if (y < 0 || y >= H || x < 0 || x >= W) continue;
        for (let c = 0; c < C; c++) out[base + (a * k + b) * C + c] = images.data[n * H * W * C + (y * W + x) * C + c]!;
      }
    }
  }
  return tf.tensor3d(out, [images.rows, g.positions, taps]);
}

/** Closed-form empirical NTK (N x N, averaged over outputs) of one network on one batch. */
export function wideNetworkNtkOf(p: WideNetworkParams, images: NtkImages): tf.Tensor2D {
  const xm = imagesToMatrix(images, "wideNetworkNtk: images");
  const { net } = p;
  const N = images.count;
  return tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(xm.data), [N, images.height, images.width, images.channels]);
    const { features, preActivations } = wideNetworkForward(p, x);
    const layers = p.weights.length;
    const outputs = p.weights[layers - 1]!.shape[1];
    // δ of the readout pre-activation for each output o is the unit vector e_o: Δ Δᵀ = O for every pair.
    let delta: tf.Tensor3D = tf.tile(tf.expandDims(tf.eye(outputs), 0), [N, 1, 1]) as tf.Tensor3D;
    let theta: tf.Tensor2D = tf.zeros([N, N]);
    for (let l = layers - 1; l >= 0; l--) {
      const input = l === 0 ? features : tf.relu(preActivations[l - 1]!);
      const fanIn = p.weights[l]!.shape[0];
      const flat = tf.reshape(delta, [N, -1]) as tf.Tensor2D;
      const deltaGram = tf.matMul(flat, flat, false, true);
      const inputGram = tf.matMul(input, input, false, true);
      theta = tf.add(theta, tf.mul(tf.mul(inputGram, deltaGram), net.weightVariance / fanIn));
      if (p.biases[l]) theta = tf.add(theta, tf.mul(deltaGram, net.biasVariance));
      if (l === 0 && !net.trainFrontend) break;
      // δ_{in} = (σ_w/√fan_in)·δ Wᵀ, times relu' for hidden layers.
      const back = tf.mul(tf.matMul(tf.reshape(delta, [-1, delta.shape[2]]), p.weights[l]!, false, true), Math.sqrt(net.weightVariance / fanIn));
      if (l > 0) {
        const mask = tf.cast(tf.greater(preActivations[l - 1]!, 0), "float32");
        delta = tf.mul(tf.reshape(back, [N, outputs, fanIn]), tf.expandDims(mask, 1)) as tf.Tensor3D;
      } else {
        // Back into the conv features (N, O, P·m with m fastest) and onto the conv parameters.
        const m = p.conv.shape[3];
        const perChannel = tf.transpose(tf.reshape(back, [N, outputs, -1, m]), [0, 1, 3, 2]);
        const positions = features.shape[1] / m;
        const patches = imagePatches(xm, images, net);
        const grads = tf.matMul(tf.reshape(perChannel, [N, outputs * m, positions]) as tf.Tensor3D, patches);
        const g = tf.reshape(grads, [N, -1]) as tf.Tensor2D;
        theta = tf.add(theta, tf.mul(tf.matMul(g, g, false, true), p.convScale * p.convScale));
      }
    }
    return tf.div(theta, outputs) as tf.Tensor2D;
  });
}

/**
 * Empirical NTK of a wide finite reference network, averaged over `initialisations` draws,
 * on one image set (N x N). Memory grows with width² and with m·P·width for the first layer,
 * so keep images small (the tests use 4 x 4 and 6 x 6 images).
 */
export function wideNetworkNtk(network: ReferenceNetwork, images: NtkImages, opts: WideNetworkNtkOptions): Matrix64 {
  const outputs = opts.outputs ?? 10;
  const inits = opts.initialisations ?? 2;
  if (!Number.isInteger(inits) || inits < 1) throw new Error(`wideNetworkNtk: initialisations is ${inits}; expected an integer >= 1`);
  const N = images.count;
  const sum = new Float64Array(N * N);
  for (let r = 0; r < inits; r++) {
    const params = initWideNetwork(network, images.channels, images.height, images.width, { width: opts.width, outputs, seed: mixSeed(opts.seed, r) });
    try {
      const theta = wideNetworkNtkOf(params, images);
      const values = theta.dataSync();
      theta.dispose();
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i]!)) throw new Error(`wideNetworkNtk: entry ${i} of initialisation ${r} is ${values[i]}`);
        sum[i]! += values[i]! / inits;
      }
    } finally {
      disposeWideNetwork(params);
    }
    opts.onProgress?.({ stage: "empirical", done: r + 1, total: inits });
  }
  return matrix64(N, N, sum);
}
