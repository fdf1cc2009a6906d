import { test, before } from "node:test";
import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { buildCompressedMetaOnn, buildPolychromaticMetaOnn } from "../../src/models/students";
import { buildAlexNetSmall } from "../../src/models/teachers/alexnet";
import { nonNegativeConv } from "../train/helpers";

before(async () => {
  await initBackend({ backend: "cpu" });
});

test("the Compressed Meta ONN has about 0.05 M parameters, split into frontend and backend", () => {
  const s = buildCompressedMetaOnn({ frontend: nonNegativeConv(8, 7, 1), seed: 3 });
  assert.equal(s.countParams("frontend"), 8 * 7 * 7);
  // 392 binned features -> 128 -> 10: hand count.
  assert.equal(s.countParams("backend"), 392 * 128 + 128 + 128 * 10 + 10);
  assert.ok(Math.abs(s.countParams() - 50_000) < 5_000, `${s.countParams()} parameters`);
  assert.equal(s.trainableWeights("all").length, s.trainableWeights("frontend").length + s.trainableWeights("backend").length);
  const x = tf.randomUniform([2, 28, 28, 1], 0, 1, "float32", 4);
  const logits = s.apply(x);
  assert.deepEqual(logits.shape, [2, 10]);
  // The full model equals backend(frontend(x)): the parts really are the model's parts.
  const composed = s.backend.apply(s.sense(x)) as Tensor;
  assert.ok(tf.max(tf.abs(tf.sub(composed, logits))).dataSync()[0] < 1e-6);
  assert.deepEqual((s.featureModel.apply(s.sense(x)) as Tensor).shape, [2, 128]);
  assert.throws(() => s.trainableWeights("optics" as never), /part must be "all", "frontend" or "backend"/);
  s.dispose();
});

test("the Polychromatic Meta ONN has 16 RGB kernels and a 3-layer backend near 1.6 M parameters", () => {
  const s = buildPolychromaticMetaOnn({ frontend: nonNegativeConv(16, 7, 1), seed: 3 });
  assert.equal(s.countParams("frontend"), 16 * 7 * 7 * 3);
  assert.equal(s.backend.layers.filter((l) => l.getClassName() === "Dense").length, 3);
  assert.ok(Math.abs(s.countParams() - 1.62e6) < 0.1e6, `${s.countParams()} parameters`);
  s.dispose();
});

test("AlexNet-small outputs logits, scales with widthMultiplier and validates its options", () => {
  const m = buildAlexNetSmall({ inputShape: [32, 32, 3], numClasses: 10, widthMultiplier: 0.125, seed: 1 });
  const y = m.predict(tf.zeros([2, 32, 32, 3])) as Tensor;
  assert.deepEqual(y.shape, [2, 10]);
  const big = buildAlexNetSmall({ inputShape: [32, 32, 3], numClasses: 10, widthMultiplier: 0.25, seed: 1 });
  assert.ok(big.countParams() > 3 * m.countParams());
  // Same seed, same weights.
  const again = buildAlexNetSmall({ inputShape: [32, 32, 3], numClasses: 10, widthMultiplier: 0.125, seed: 1 });
  assert.deepEqual(Array.from(again.weights[0].read().dataSync()), Array.from(m.weights[0].read().dataSync()));
  assert.throws(() => buildAlexNetSmall({ inputShape: [4, 4, 3], numClasses: 10 }), /at least 8x8/);
  assert.throws(() => buildAlexNetSmall({ inputShape: [32, 32, 3], numClasses: 10, widthMultiplier: 0 }), /widthMultiplier must be a positive number/);
});

test("the default frontend is the optics' PsfConvFrontend: ~0.05 M parameters, non-negative unit-energy PSFs", () => {
  const s = buildCompressedMetaOnn({ seed: 2 });
  assert.equal(s.frontend.getClassName(), "PsfConvFrontend");
  assert.equal(s.countParams("frontend"), 8 * 7 * 7);
  assert.ok(Math.abs(s.countParams() - 50_000) < 5_000, `${s.countParams()} parameters`);
  // Unit-energy non-negative kernels on images in [0, 1] give sensor values in [0, 1].
  const y = s.sense(tf.randomUniform([2, 28, 28, 1], 0, 1, "float32", 5));
  assert.ok(tf.min(y).dataSync()[0] >= 0 && tf.max(y).dataSync()[0] <= 1 + 1e-5);
  s.dispose();
  const p = buildPolychromaticMetaOnn({ seed: 2 });
  assert.equal(p.countParams("frontend"), 16 * 7 * 7 * 3);
  assert.deepEqual(p.sense(tf.zeros([1, 32, 32, 3])).shape, [1, 32, 32, 16]);
  assert.ok(Math.abs(p.countParams() - 1.62e6) < 0.1e6, `${p.countParams()} parameters`);
  p.dispose();
});
