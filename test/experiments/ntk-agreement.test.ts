import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { loadMnist } from "../../src/data/mnist";
import { ntkAgreement } from "../../src/experiments/ntk-agreement";

before(async () => {
  await initBackend({ backend: "cpu" });
});

function mlp(seed: number, hidden: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      tf.layers.dense({ units: hidden, activation: "relu", kernelInitializer: tf.initializers.glorotNormal({ seed }) }),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 1 }) }),
    ],
  });
}

test("a model agrees perfectly with itself and less with a different network, without leaking tensors", () => {
  const images = loadMnist({ split: "test", limit: 24 });
  const teacher = mlp(1, 16);
  const twin = mlp(1, 16);
  const other = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotNormal({ seed: 9 }) })] });
  const before = tf.memory().numTensors;
  const agreement = ntkAgreement(teacher, { twin, other }, images, { count: 16, probes: 8, seed: 3 });
  assert.equal(tf.memory().numTensors, before);
  // Same weights, same probes: the sketches are identical.
  assert.ok(Math.abs(agreement.twin!.alignment - 1) < 1e-6, `twin alignment ${agreement.twin!.alignment}`);
  assert.ok(agreement.twin!.mismatch < 1e-9);
  assert.ok(agreement.other!.alignment < agreement.twin!.alignment - 1e-3, `other alignment ${agreement.other!.alignment}`);
  assert.ok(agreement.other!.mismatch > 1e-4, `other mismatch ${agreement.other!.mismatch}`);
  assert.throws(() => ntkAgreement(teacher, { twin }, images, { count: 1 }), /count must be an integer >= 2/);
  [teacher, twin, other].forEach((m) => m.dispose());
});
