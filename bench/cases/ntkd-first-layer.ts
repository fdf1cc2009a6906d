/**
 * Where the NTKD step's time goes and what would shrink it: the Compressed Meta ONN's first
 * layer (8 PSF kernels 7x7, "same" padding, then 4x4 sensor binning) evaluated for the R + 1 = 3
 * parameter sets of an R = 2 NTKD step, forward and filter gradient, three ways (wasm):
 *
 * - "per pass": one conv2d + avgPool per parameter set, as the step runs today (reference);
 * - "one merged conv": all 3·8 kernels in one conv2d (shared input) and one filter-gradient
 *   call, issue 15's suggestion;
 * - "pool-fused": avgPool_4(conv_same(x, K)) = conv_stride 4(pad_3(x), K ⊛ box_4 / 16), an exact
 *   rewrite of the two linear maps (the 10x10 kernel K' = A K Aᵀ / 16, A the 10x7 band of ones),
 *   so each pass convolves at the binned resolution: 1/8 of the multiply-adds, and no 28x28x8
 *   sensor image is stored or pooled.
 *
 * The step profile (bench/run.ts) puts Conv2D, Conv2DBackpropFilter and AvgPool(Grad) at about
 * 85 % of an NTKD step's kernel time, so these rows bound what restructuring the first layer
 * can buy. Each row's notes give the largest gradient difference from "per pass".
 */
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import type { BenchCase } from "./types";

const BATCH = 128;
const KERNELS = 8;
const PASSES = 3;
const REPS = 9;
const GROUP = "compressed-meta first layer, R + 1 = 3 passes, forward + filter gradient (batch 128, wasm)";

type Route = "per-pass" | "merged" | "pool-fused";

/**
 * M [100, 49] with K' = M K for kernels flattened to [49, n] (row (s, t) of the 10x10 kernel,
 * column (u, v) of the 7x7 one): M = (A ⊗ A) / 16, A[s, u] = 1 when 0 <= s − u <= 3, i.e. each
 * kernel convolved with the 4x4 box mean.
 */
function poolFusionMatrix(): tf.Tensor2D {
  const m = new Float32Array(100 * 49);
  for (let s = 0; s < 10; s++) for (let t = 0; t < 10; t++) {
    for (let u = 0; u < 7; u++) for (let v = 0; v < 7; v++) {
      if (s - u >= 0 && s - u <= 3 && t - v >= 0 && t - v <= 3) m[(s * 10 + t) * 49 + u * 7 + v] = 1 / 16;
    }
  }
  return tf.tensor2d(m, [100, 49]);
}

function gradients(route: Route, x: tf.Tensor4D, kernels: tf.Tensor4D[], upstream: tf.Tensor4D[]): tf.Tensor[] {
  if (route === "merged") {
    const all = tf.concat(kernels, 3);
    const dzAll = tf.concat(upstream, 3);
    const g = tf.grad((k: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(tf.conv2d(x, k as tf.Tensor4D, 1, "same"), 4, 4, "valid"), dzAll)))(all);
    const parts = tf.split(g, PASSES, 3);
    tf.dispose([all, dzAll, g]);
    return parts;
  }
  // The 10x10 windows at stride 4 over x padded by 3 (explicit padding: no padded copy of x).
  const fusion = route === "pool-fused" ? poolFusionMatrix() : null;
  const layer = (k: tf.Tensor4D) => fusion !== null
    ? tf.conv2d(x, tf.reshape(tf.matMul(fusion, tf.reshape(k, [49, KERNELS])), [10, 10, 1, KERNELS]) as tf.Tensor4D, 4,
      [[0, 0], [3, 3], [3, 3], [0, 0]])
    : tf.avgPool(tf.conv2d(x, k, 1, "same"), 4, 4, "valid");
  const g = tf.grads((...ks: tf.Tensor[]) => tf.addN(ks.map((k, r) => tf.sum(tf.mul(layer(k as tf.Tensor4D), upstream[r])))))(kernels);
  fusion?.dispose();
  return g;
}

async function timeRoute(route: Route): Promise<{ seconds: number; notes: string }> {
  await initBackend({ backend: "wasm" });
  const x = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, "float32", 1) as tf.Tensor4D;
  const kernels = Array.from({ length: PASSES }, (_, r) => tf.randomUniform([7, 7, 1, KERNELS], 0, 0.04, "float32", 2 + r) as tf.Tensor4D);
  const upstream = Array.from({ length: PASSES }, (_, r) => tf.randomNormal([BATCH, 7, 7, KERNELS], 0, 1, "float32", 10 + r) as tf.Tensor4D);
  try {
    const reference = gradients("per-pass", x, kernels, upstream);
    const got = gradients(route, x, kernels, upstream);
    const diff = Math.max(...got.map((g, r) => tf.tidy(() => tf.max(tf.abs(tf.sub(g, reference[r]))).dataSync()[0] / tf.max(tf.abs(reference[r])).dataSync()[0])));
    tf.dispose([...reference, ...got]);
    const times: number[] = [];
    for (let i = 0; i < REPS; i++) {
      const t0 = performance.now();
      const g = gradients(route, x, kernels, upstream);
      g.forEach((t) => t.dataSync());
      times.push(performance.now() - t0);
      tf.dispose(g);
    }
    times.sort((a, b) => a - b);
    return { seconds: times[REPS >> 1] / 1000, notes: `median of ${REPS}; max gradient difference from per pass ${diff.toExponential(1)} (relative to the largest entry)` };
  } finally {
    tf.dispose([x, ...kernels, ...upstream]);
  }
}

export const ntkdFirstLayerCases: BenchCase[] = [
  { name: "first layer per pass (conv + avgPool, as the step runs)", group: GROUP, reference: true, repeats: 2, run: () => timeRoute("per-pass") },
  { name: "first layer, one merged conv of 3x8 kernels (shared input)", group: GROUP, repeats: 2, run: () => timeRoute("merged") },
  { name: "first layer pool-fused (stride-4 conv with K * box / 16)", group: GROUP, repeats: 2, run: () => timeRoute("pool-fused") },
];
