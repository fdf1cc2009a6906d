import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../../src/runtime/tf";
import { initBackend } from "../../../src/runtime/backend";
import { TensorLeakGuard } from "../../../src/runtime/memory";
import { makeRng } from "../../../src/runtime/seed";
import { buildLeNet5 } from "../../../src/models/teachers/lenet";

test("buildLeNet5 has the classic LeNet-5 shapes and parameter count", async () => {
  await initBackend({ backend: "wasm" });
  const model = buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10 });
  // conv1 5*5*1*6+6, conv2 5*5*6*16+16, fc1 400*120+120, fc2 120*84+84, logits 84*10+10.
  assert.equal(model.countParams(), 156 + 2416 + 48120 + 10164 + 850);
  assert.deepEqual(model.outputs[0].shape, [null, 10]);
  assert.deepEqual(model.getLayer("conv2").outputShape, [null, 10, 10, 16]);
  const narrow = buildLeNet5({ inputShape: [32, 32, 3], numClasses: 4, widths: { conv1: 4, fc2: 20 } });
  assert.deepEqual(narrow.getLayer("conv1").outputShape, [null, 32, 32, 4]);
  assert.deepEqual(narrow.getLayer("flatten").outputShape, [null, 16 * 6 * 6]);
  tf.dispose([model, narrow].flatMap((m) => m.weights.map((w) => w.read())));
});

test("buildLeNet5 is seeded: same seed same weights, other seed other weights", async () => {
  await initBackend({ backend: "wasm" });
  const weights = (seed: number) => {
    const m = buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, seed });
    return m.getWeights().map((w) => Array.from(w.dataSync()));
  };
  const a = weights(5);
  assert.deepEqual(a, weights(5));
  assert.notDeepEqual(a[0], weights(6)[0]);
});

test("buildLeNet5 rejects bad options with messages naming them", () => {
  assert.throws(() => buildLeNet5({ inputShape: [28, 28] as never, numClasses: 10 }), /buildLeNet5: inputShape must be/);
  assert.throws(() => buildLeNet5({ inputShape: [8, 8, 1], numClasses: 10 }), /at least 12x12/);
  assert.throws(() => buildLeNet5({ inputShape: [28, 28, 1], numClasses: 1 }), /numClasses must be an integer >= 2/);
  assert.throws(() => buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, widths: { fc1: 0 } }), /widths.fc1 must be a positive integer/);
});

test("a LeNet-5 training loop on wasm keeps tf.memory().numTensors flat and lowers the loss", async () => {
  await initBackend({ backend: "wasm" });
  const model = buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const optimizer = tf.train.adam(1e-2);
  const rng = makeRng(9);
  const n = 64;
  // A learnable task: faint noise plus a bright 6x6 block whose position encodes the class.
  const pixels = Float32Array.from({ length: n * 784 }, () => 0.2 * rng());
  for (let i = 0; i < n; i++) {
    const k = i % 10, top = 2 + 6 * Math.floor(k / 4), left = 2 + 6 * (k % 4);
    for (let r = top; r < top + 6; r++) for (let c = left; c < left + 6; c++) pixels[i * 784 + r * 28 + c] = 1;
  }
  const xs = tf.tensor4d(pixels, [n, 28, 28, 1]);
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 10), "int32"), 10));
  const guard = new TensorLeakGuard("lenet training loop", 1);
  const losses: number[] = [];
  for (let epoch = 0; epoch < 4; epoch++) {
    for (let start = 0; start < n; start += 32) {
      const cost = optimizer.minimize(() => tf.tidy(() => {
        const xb = xs.slice([start, 0, 0, 0], [32, 28, 28, 1]);
        const yb = ys.slice([start, 0], [32, 10]);
        return tf.losses.softmaxCrossEntropy(yb, model.apply(xb) as tf.Tensor) as tf.Scalar;
      }), true) as tf.Scalar;
      losses.push(cost.dataSync()[0]);
      cost.dispose();
    }
    guard.check(epoch);
  }
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[losses.length - 1] < losses[0] * 0.5, `loss did not fall: ${losses.map((l) => l.toFixed(3)).join(" ")}`);
  tf.dispose([xs, ys]);
  optimizer.dispose();
});
