import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { ADAM_UPDATE_KERNEL, SGD_UPDATE_KERNEL, hasOptimizerKernels } from "../../src/runtime/optimizer-kernels";
import { Optimizer } from "../../src/train/optimizers";
import { randomTensor } from "./parity";

before(async () => {
  await initBackend({ backend: "cpu" });
  await initBackend({ backend: "wasm", threads: 1 });
});

type Tensor = tf.Tensor;

/** Adam written as tf ops, in the order src/train/optimizers.ts gives it for backends without the kernel. */
function adamByOps(theta: Tensor, g0: Tensor, m: Tensor, v: Tensor, a: { beta1: number; beta2: number; epsilon: number; lr: number; bc1: number; bc2: number; weightDecay: number }): Tensor[] {
  return tf.tidy(() => {
    const g = a.weightDecay > 0 ? tf.add(g0, tf.mul(theta, a.weightDecay)) : g0;
    const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1));
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
    const update = tf.div(tf.div(m1, a.bc1), tf.add(tf.sqrt(tf.div(v1, a.bc2)), a.epsilon));
    return [tf.sub(theta, tf.mul(update, a.lr)), m1, v1];
  });
}

function sgdByOps(theta: Tensor, g0: Tensor, buf: Tensor, a: { momentum: number; lr: number; weightDecay: number }): Tensor[] {
  return tf.tidy(() => {
    const g = a.weightDecay > 0 ? tf.add(g0, tf.mul(theta, a.weightDecay)) : g0;
    const b = a.momentum > 0 ? tf.add(tf.mul(buf, a.momentum), g) : tf.clone(g);
    return [tf.sub(theta, tf.mul(b, a.lr)), b];
  });
}

const bits = (t: Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

function tensors(shape: number[], seed: number): Tensor[] {
  return [0, 1, 2, 3].map((k) => {
    const h = randomTensor(shape, seed + k, k === 3 ? (x) => x * x * 1e-3 : (x) => x); // v >= 0
    return tf.tensor(h.values, shape);
  });
}

for (const backend of ["cpu", "wasm"] as const) {
  test(`${backend}: the Adam and SGD kernels give the op-by-op update bit for bit, with and without weight decay`, async () => {
    await tf.setBackend(backend);
    assert.equal(hasOptimizerKernels(), true);
    const before = tf.memory().numTensors;
    for (const weightDecay of [0, 5e-4]) {
      const [theta, g, m, v] = tensors([37, 5], weightDecay > 0 ? 10 : 20);
      // Step 3 of Adam at lr 1e-3: bias corrections in float64 as the Optimizer computes them.
      const adam = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, lr: 1e-3, bc1: 1 - 0.9 ** 3, bc2: 1 - 0.999 ** 3, weightDecay };
      const fused = tf.engine().runKernel(ADAM_UPDATE_KERNEL, { theta, g, m, v }, adam as unknown as tf.NamedAttrMap) as unknown as Tensor[];
      const ops = adamByOps(theta, g, m, v, adam);
      fused.forEach((t, k) => assert.deepEqual(bits(t), bits(ops[k]), `Adam output ${k}, weight decay ${weightDecay}`));
      for (const momentum of [0, 0.9]) {
        const sgd = { momentum, lr: 0.05, weightDecay };
        const fusedSgd = tf.engine().runKernel(SGD_UPDATE_KERNEL, { theta, g, buf: m }, sgd as unknown as tf.NamedAttrMap) as unknown as Tensor[];
        const opsSgd = sgdByOps(theta, g, m, sgd);
        fusedSgd.forEach((t, k) => assert.deepEqual(bits(t), bits(opsSgd[k]), `SGD output ${k}, momentum ${momentum}, weight decay ${weightDecay}`));
        tf.dispose([...fusedSgd, ...opsSgd]);
      }
      tf.dispose([theta, g, m, v, ...fused, ...ops]);
    }
    assert.equal(tf.memory().numTensors, before, "the kernels leak no tensors");
  });
}

test("wasm: three Optimizer steps (Adam, then SGD) through the kernels equal the same steps written as ops", async () => {
  await tf.setBackend("wasm");
  const [w0, g] = tensors([6, 4], 40);
  const layer = tf.layers.dense({ units: 4, inputShape: [6], useBias: false, kernelInitializer: "zeros" });
  tf.sequential({ layers: [layer] });
  const kernel = layer.trainableWeights[0];
  kernel.write(w0);
  const adam = new Optimizer({ kind: "adam", weightDecay: 1e-3 }, [kernel]);
  let theta = w0.clone(), m = tf.zerosLike(w0), v = tf.zerosLike(w0);
  for (let t = 1; t <= 3; t++) {
    adam.applyGradients([g], 0.01);
    const next = adamByOps(theta, g, m, v, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, lr: 0.01, bc1: 1 - 0.9 ** t, bc2: 1 - 0.999 ** t, weightDecay: 1e-3 });
    tf.dispose([theta, m, v]);
    [theta, m, v] = next;
    assert.deepEqual(bits(kernel.read()), bits(theta), `Adam step ${t}`);
  }
  assert.deepEqual(adam.getState().slots.map((s) => Array.from(s.data)), [Array.from(m.dataSync()), Array.from(v.dataSync())]);
  adam.dispose();
  tf.dispose([theta, m, v, w0, g]);
});

test("the kernels refuse mismatched shapes and non-float inputs with one line naming the input", async () => {
  await tf.setBackend("wasm");
  const a = tf.zeros([3]), b = tf.zeros([4]), i = tf.zeros([3], "int32");
  const attrs = { momentum: 0.9, lr: 0.1, weightDecay: 0 } as unknown as tf.NamedAttrMap;
  assert.throws(() => tf.engine().runKernel(SGD_UPDATE_KERNEL, { theta: a, g: b, buf: a }, attrs), /^Error: NtkdSgdUpdate: input g has shape \[4\], expected theta's \[3\]$/);
  assert.throws(() => tf.engine().runKernel(SGD_UPDATE_KERNEL, { theta: a, g: a, buf: i }, attrs), /^Error: NtkdSgdUpdate: input buf must be float32, got int32$/);
  tf.dispose([a, b, i]);
});
