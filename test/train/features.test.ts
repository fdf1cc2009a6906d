import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { buildCompressedMetaOnn } from "../../src/models/students";
import { featureForward } from "../../src/train/features";
import { nonNegativeConv, smallMnist, tinyTeacher } from "./helpers";

before(async () => {
  await initBackend({ backend: "cpu" });
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]!) <= 1e-5 * Math.max(1, Math.abs(b[i]!)));

test("featureForward gives an optical student's embedding and logits, and a plain model's last-layer input", () => {
  const x = tf.tensor4d(smallMnist(4).images, [4, 14, 14, 1]);
  const s = buildCompressedMetaOnn({ frontend: nonNegativeConv(4, 5, 7), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 });
  const before = tf.memory().numTensors;
  const { features, outputs } = featureForward(s)(x, false);
  const embedding = tf.tidy(() => s.featureModel.apply(s.sense(x)) as tf.Tensor);
  const logits = s.apply(x);
  assert.deepEqual(features.shape, [4, 16]);
  assert.ok(close(features.dataSync(), embedding.dataSync()) && close(outputs.dataSync(), logits.dataSync()));
  tf.dispose([features, outputs, embedding, logits]);
  assert.equal(tf.memory().numTensors, before, "the feature model shares the student's weights and allocates none");

  const teacher = tinyTeacher(3);
  const t = featureForward(teacher)(x, false);
  // By hand: flatten, the 16-unit relu layer, then the logits layer on those features.
  const hidden = tf.tidy(() => teacher.layers[1]!.apply(teacher.layers[0]!.apply(x)) as tf.Tensor);
  const fromHidden = tf.tidy(() => teacher.layers[2]!.apply(hidden) as tf.Tensor);
  assert.ok(close(t.features.dataSync(), hidden.dataSync()) && close(t.outputs.dataSync(), fromHidden.dataSync()));
  tf.dispose([t.features, t.outputs, hidden, fromHidden]);

  const wrapped = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [14, 14, 1] }), teacher] });
  assert.throws(() => featureForward(wrapped, "trainStudent"), /trainStudent: the last layer of .* is a nested model/);
  x.dispose();
  s.dispose();
  teacher.dispose();
});
