import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { randomTensor, relativeMaxError, HostTensor } from "./parity";

// A small convnet touching every kernel we replace or add: strided and 'same'/'valid'
// convolutions, a depthwise convolution with multiplier 2, max-pooling, dense and a
// softmax cross-entropy. Parameters and data are host arrays so both backends see the same.
const shapes: Record<string, number[]> = {
  x: [4, 12, 12, 2],
  w1: [3, 3, 2, 4],
  dw: [3, 3, 4, 2],
  w2: [3, 3, 8, 6],
  fc: [2 * 2 * 6, 5], // 12 -> pool 6 -> stride-2 valid 3x3 -> 2
};

async function gradientsOn(backend: "cpu" | "wasm", host: Record<string, HostTensor>, labels: number[]): Promise<Record<string, HostTensor>> {
  await initBackend({ backend });
  const before = tf.memory().numTensors;
  const t = Object.fromEntries(Object.entries(host).map(([k, v]) => [k, tf.tensor(v.values, v.shape)])) as Record<string, tf.Tensor>;
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, "int32"), 5));
  const loss = (x: tf.Tensor, w1: tf.Tensor, dw: tf.Tensor, w2: tf.Tensor, fc: tf.Tensor) => {
    let h = tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, "same"));
    h = tf.maxPool(h as tf.Tensor4D, 2, 2, "valid");
    h = tf.relu(tf.depthwiseConv2d(h as tf.Tensor4D, dw as tf.Tensor4D, 1, "same"));
    h = tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 2, "valid");
    const logits = tf.matMul(tf.reshape(h, [4, -1]), fc as tf.Tensor2D);
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  };
  const grads = tf.grads(loss)([t.x, t.w1, t.dw, t.w2, t.fc]);
  const out: Record<string, HostTensor> = {};
  for (const [i, name] of ["x", "w1", "dw", "w2", "fc"].entries()) {
    out[name] = { shape: grads[i].shape, values: (await grads[i].data()) as Float32Array, dtype: "float32" };
  }
  tf.dispose([...grads, ...Object.values(t), y]);
  assert.equal(tf.memory().numTensors, before, `${backend}: gradient computation leaked tensors`);
  return out;
}

test("gradients of a small convnet on wasm equal those on cpu", async () => {
  const host = Object.fromEntries(Object.entries(shapes).map(([k, s], i) => [k, randomTensor(s, 50 + i, (v) => v * 0.5)]));
  const labels = [0, 3, 1, 4];
  const reference = await gradientsOn("cpu", host, labels);
  const actual = await gradientsOn("wasm", host, labels);
  for (const name of Object.keys(shapes)) {
    const err = relativeMaxError(actual[name], reference[name]);
    assert.ok(err <= 1e-4, `d loss / d ${name}: relative max error ${err.toExponential(2)}`);
    assert.ok(reference[name].values.some((v) => v !== 0), `d loss / d ${name} is all zero; the check would be vacuous`);
  }
});
