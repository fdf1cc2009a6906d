import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../../src/runtime/tf";
import { initBackend } from "../../../src/runtime/backend";
import { buildUNet, type UNetOptions } from "../../../src/models/segmentation/unet";
import { segmentationTaskLoss } from "../../../src/distill/segmentation-losses";
import { randomTensor, relativeMaxError, type HostTensor } from "../../runtime/parity";

const host = (t: tf.Tensor): HostTensor => ({ shape: t.shape.slice(), values: Float32Array.from(t.dataSync() as Float32Array), dtype: "float32" });

/** Builds the U-Net on `backend`, loads the given weights, and returns logits and the BCE gradients of every weight. */
async function runOn(backend: "cpu" | "wasm", opts: UNetOptions, x: HostTensor, masks: HostTensor, weights: HostTensor[] | null) {
  await initBackend({ backend });
  const before = tf.memory().numTensors;
  const model = buildUNet(opts);
  if (weights) model.weights.forEach((w, k) => tf.tidy(() => { w.write(tf.tensor(weights[k].values, weights[k].shape)); }));
  const xs = tf.tensor(x.values, x.shape);
  const ys = tf.tensor(masks.values, masks.shape);
  const logits = model.apply(xs, { training: true }) as tf.Tensor;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => segmentationTaskLoss(model.apply(xs, { training: true }) as tf.Tensor, ys) as tf.Scalar, vars);
  const out = { logits: host(logits), grads: vars.map((v) => host(grads[v.name])), weights: model.weights.map((w) => host(w.read())), names: vars.map((v) => v.name) };
  tf.dispose([xs, ys, logits, value, ...Object.values(grads)]);
  model.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend}: U-Net forward/backward leaked tensors`);
  return out;
}

// The "upsample" variant runs a batch of one: tfjs-backend-cpu 4.22's ResizeNearestNeighborGrad
// offsets dy by the *input's* batch stride, so its gradient is wrong for every image but the
// first (wasm's is right; see the hand-computed test below).
for (const variant of [
  { upMode: "transpose" as const, batchNorm: true, batch: 2 },
  { upMode: "upsample" as const, batchNorm: false, batch: 1 },
]) {
  test(`U-Net (${variant.upMode}, batchNorm ${variant.batchNorm}) forward and gradients on wasm match cpu`, async () => {
    const opts: UNetOptions = { inputShape: [16, 16, 3], depth: 2, baseFilters: 4, seed: 3, upMode: variant.upMode, batchNorm: variant.batchNorm };
    const x = randomTensor([variant.batch, 16, 16, 3], 11, (v) => (v + 1) / 2);
    const masks = randomTensor([variant.batch, 16, 16, 1], 12, (v) => (v > 0 ? 1 : 0));
    const reference = await runOn("cpu", opts, x, masks, null);
    const actual = await runOn("wasm", opts, x, masks, reference.weights);
    assert.equal(reference.logits.shape.join("x"), `${variant.batch}x16x16x1`);
    const fwd = relativeMaxError(actual.logits, reference.logits);
    assert.ok(fwd <= 1e-4, `logits: relative max error ${fwd.toExponential(2)}`);
    reference.grads.forEach((g, k) => {
      const err = relativeMaxError(actual.grads[k], g);
      assert.ok(err <= 1e-3, `d loss / d ${reference.names[k]}: relative max error ${err.toExponential(2)}`);
      assert.ok(g.values.some((v) => v !== 0), `d loss / d ${reference.names[k]} is all zero; the check would be vacuous`);
    });
  });
}

test("buildUNet: shapes, skip connections, and argument errors", async () => {
  await initBackend({ backend: "cpu" });
  const model = buildUNet({ inputShape: [32, 24, 3], depth: 3, baseFilters: 2 });
  assert.deepEqual(model.outputs[0].shape, [null, 32, 24, 1]);
  assert.equal(model.layers.filter((l) => l.getClassName() === "Concatenate").length, 3);
  assert.equal(model.layers.filter((l) => l.getClassName() === "MaxPooling2D").length, 3);
  model.dispose();
  assert.throws(() => buildUNet({ inputShape: [30, 32, 3], depth: 2 }), /divisible by 2\^depth = 4/);
  assert.throws(() => buildUNet({ inputShape: [32, 32, 3], depth: 0 }), /depth must be a positive integer/);
  assert.throws(() => buildUNet({ inputShape: [32, 32] as unknown as [number, number, number] }), /inputShape must be/);
  assert.throws(() => buildUNet({ inputShape: [32, 32, 3], upMode: "bilinear" as never }), /upMode/);
});

test("buildUNet is deterministic under a seed", async () => {
  await initBackend({ backend: "cpu" });
  const a = buildUNet({ inputShape: [8, 8, 3], depth: 1, baseFilters: 2, seed: 5 });
  const b = buildUNet({ inputShape: [8, 8, 3], depth: 1, baseFilters: 2, seed: 5 });
  const c = buildUNet({ inputShape: [8, 8, 3], depth: 1, baseFilters: 2, seed: 6 });
  a.weights.forEach((w, k) => assert.deepEqual(b.weights[k].read().dataSync(), w.read().dataSync()));
  assert.notDeepEqual(c.weights[0].read().dataSync(), a.weights[0].read().dataSync());
  [a, b, c].forEach((m) => m.dispose());
});

test("nearest 2x up-sampling (the \"upsample\" decoder) has the hand-computed gradient on wasm: each pixel sums dy over its 2x2 block", async () => {
  await initBackend({ backend: "wasm" });
  const dy = randomTensor([2, 6, 4, 3], 21);
  const truth = new Float64Array(2 * 3 * 2 * 3);
  for (let n = 0; n < 2; n++) for (let r = 0; r < 6; r++) for (let c = 0; c < 4; c++) for (let ch = 0; ch < 3; ch++) {
    truth[((n * 3 + (r >> 1)) * 2 + (c >> 1)) * 3 + ch] += dy.values[((n * 6 + r) * 4 + c) * 3 + ch];
  }
  const before = tf.memory().numTensors;
  const g = tf.tidy(() => {
    const x = tf.zeros([2, 3, 2, 3]);
    const up = tf.layers.upSampling2d({ size: [2, 2] });
    const dyT = tf.tensor(dy.values, dy.shape);
    return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(up.apply(t) as tf.Tensor, dyT)))(x);
  });
  const values = g.dataSync();
  g.dispose();
  assert.equal(tf.memory().numTensors, before);
  values.forEach((v, i) => assert.ok(Math.abs(v - truth[i]) < 1e-5, `gradient ${i}: ${v} vs hand ${truth[i]}`));
});
