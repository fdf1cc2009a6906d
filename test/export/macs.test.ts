import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { buildCompressedMetaOnn } from "../../src/models/students";
import { hybridMacs, layerMacs, modelMacs, opticalMacs } from "../../src/export/macs";

test("a conv + pool + conv + dense model: MACs equal the hand count, layer by layer", async () => {
  await initBackend({ backend: "cpu" });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: "same", activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: "valid" }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, activation: "relu" }),
      tf.layers.dense({ units: 2 }),
    ],
  });
  // By hand: 8·8 outputs × 4 filters × 3·3·2 taps; pooling 0; 2·2 outputs × 3 filters × 3·3·4 taps; 12·5; 5·2.
  const hand = [8 * 8 * 4 * 3 * 3 * 2, 2 * 2 * 3 * 3 * 3 * 4, 12 * 5, 5 * 2];
  const counted = modelMacs(model);
  assert.deepEqual(counted.layers.map((l) => l.macs), hand);
  assert.equal(counted.electronic, 4608 + 432 + 60 + 10);
  assert.equal(counted.optical, 0);
  model.dispose();
});

test("transposed and depthwise convolutions and dense layers on feature maps follow their hand counts; layers it cannot count throw", async () => {
  await initBackend({ backend: "cpu" });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2dTranspose({ inputShape: [4, 4, 3], filters: 2, kernelSize: 2, strides: 2 }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: "same" }),
      tf.layers.dense({ units: 6 }),
    ],
  });
  // 4·4 input pixels × 2·2 taps × 2 filters × 3 channels; 8·8 pixels × 4 channels × 3·3; 8·8 positions × 4 × 6.
  assert.deepEqual(modelMacs(model).layers.map((l) => l.macs), [4 * 4 * 2 * 2 * 2 * 3, 8 * 8 * 4 * 9, 8 * 8 * 4 * 6]);
  const embedding = tf.sequential({ layers: [tf.layers.embedding({ inputDim: 10, outputDim: 3, inputLength: 4 })] });
  assert.throws(() => layerMacs(embedding.layers[0]), /no MAC rule for a layer with weights of class Embedding/);
  model.dispose();
  embedding.dispose();
});

test("the Compressed Meta ONN: optical MACs K·k²·C·H·W, electronic MACs of its two dense layers", async () => {
  await initBackend({ backend: "cpu" });
  const student = buildCompressedMetaOnn({ seed: 0 });
  const optical = 8 * 7 * 7 * 1 * 28 * 28;
  // 4×4 binning: 7·7·8 = 392 features → 128 → 10.
  const electronic = 392 * 128 + 128 * 10;
  const whole = modelMacs(student.model);
  assert.equal(whole.optical, optical);
  assert.equal(whole.electronic, electronic);
  const split = hybridMacs(student, 28, 28);
  assert.equal(split.optical, optical);
  assert.equal(split.electronic, electronic);
  assert.equal(opticalMacs({ kernelCount: 8, kernelSize: 7, inputChannels: 3, padding: "valid" }, 28, 28), 8 * 49 * 3 * 22 * 22);
  assert.throws(() => opticalMacs(student.frontend, 0, 28), /opticalMacs: height and width must be positive integers/);
  student.dispose();
});
