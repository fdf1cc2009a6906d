/**
 * Forward and forward+backward time of each optical frontend (8 kernels, 7×7, "same") on a
 * batch of 128 real MNIST images, on wasm. The ideal digital conv is each group's reference;
 * the metasurface row includes the wave-optics simulation of its 8 PSFs (32² grid, padded 64²)
 * in every pass, the Fourier row the passivity check of its masks.
 */
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import { createFrontend, FRONTEND_KINDS, type FrontendKind } from "../../src/models/frontends/factory";
import { loadMnistTrain } from "../mnist";
import type { BenchCase } from "./types";

const BATCH = 128;
const REPEATS = 5;

async function timeFrontend(kind: FrontendKind, backward: boolean): Promise<{ seconds: number; notes: string }> {
  await initBackend({ backend: "wasm" });
  const { pixels, height, width } = loadMnistTrain(BATCH);
  const x = tf.tensor4d(pixels, [BATCH, height, width, 1]);
  const layer = createFrontend(kind, { kernels: 8, kernelSize: 7, inputChannels: 1, padding: "same", seed: 1 });
  tf.dispose(layer.apply(x) as tf.Tensor); // builds the layer
  const pass = () => {
    if (!backward) {
      const y = layer.apply(x) as tf.Tensor;
      y.dataSync();
      y.dispose();
      return;
    }
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar, vars);
    for (const g of Object.values(grads)) g.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  try {
    pass(); // warm-up: builds the layer, compiles kernels, fills caches
    const t0 = performance.now();
    for (let i = 0; i < REPEATS; i++) pass();
    return { seconds: (performance.now() - t0) / 1000 / REPEATS, notes: `mean of ${REPEATS} after a warm-up` };
  } finally {
    layer.dispose();
    x.dispose();
  }
}

const FORWARD = "frontend forward (8x7x7, batch 128 MNIST, wasm)";
const BACKWARD = "frontend forward+backward (8x7x7, batch 128 MNIST, wasm)";

export const frontendCases: BenchCase[] = FRONTEND_KINDS.flatMap((kind) => [
  { name: `${kind} frontend forward`, group: FORWARD, reference: kind === "ideal", run: () => timeFrontend(kind, false) },
  { name: `${kind} frontend fwd+bwd`, group: BACKWARD, reference: kind === "ideal", run: () => timeFrontend(kind, true) },
]);
