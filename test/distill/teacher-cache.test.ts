import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { flattenedSubject, ntkSubject, sketchNtk, traceNtk } from "../../src/distill/ntk";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import { buildUNet } from "../../src/models/segmentation/unet";
import { cachedTeacherKernel, precomputeTeacherSketch } from "../../src/distill/teacher-cache";
import { gatherBatch } from "../../src/data/batches";
import { smallMnist, tinyTeacher } from "../train/helpers";
import { relativeError } from "./helpers";

before(async () => {
  await initBackend({ backend: "cpu" });
});

for (const distribution of ["rademacher", "normal"] as const) {
  const title = `the cached teacher kernel equals the per-batch sketch with the same probes (matrix and trace; ${distribution})`;
  test(title, () => {
    const teacher = tinyTeacher(41);
    const ds = smallMnist(40);
    const before = teacher.weights.map((w) => Array.from(w.read().dataSync()));
    const count = tf.memory().numTensors;
    // Chunks of 16 while the batch below mixes samples from three chunks, in shuffled order.
    const cache = precomputeTeacherSketch(teacher, ds, {
      probes: 5, epsilon: 1e-2, seed: 123, batchSize: 16, distribution,
    });
    assert.equal(cache.distribution, distribution);
    assert.equal(tf.memory().numTensors, count, "precomputation leaks tensors");
    teacher.weights.forEach((w, k) => assert.deepEqual(Array.from(w.read().dataSync()), before[k], `teacher weight ${k} not restored`));
    assert.equal(cache.rows.length, 40 * 5 * 10);
    const indices = Int32Array.from([37, 3, 18, 0, 22, 9, 31, 14, 5]);
    const { x, y } = gatherBatch(ds, indices);
    const subject = ntkSubject(teacher);
    const sketch = { probes: 5, epsilon: 1e-2, seed: 123, distribution };
    for (const [kind, reference] of [["matrix", sketchNtk(subject, x, sketch)], ["trace", traceNtk(subject, x, sketch)]] as const) {
      const cached = cachedTeacherKernel(cache, indices, kind);
      assert.deepEqual(cached.shape, reference.shape);
      const err = relativeError(cached.dataSync() as Float32Array, reference.dataSync() as Float32Array);
      assert.ok(err < 1e-5, `${kind}: relative error ${err}`);
      tf.dispose([cached, reference]);
    }
    // Another seed, or the other distribution, gives other probes: the comparison above can fail.
    const cached = cachedTeacherKernel(cache, indices, "matrix");
    const otherDistribution = distribution === "normal" ? "rademacher" as const : "normal" as const;
    for (const changed of [{ seed: 124 }, { distribution: otherDistribution }]) {
      const other = sketchNtk(subject, x, { ...sketch, ...changed });
      const err = relativeError(cached.dataSync() as Float32Array, other.dataSync() as Float32Array);
      assert.ok(err > 1e-2, `${JSON.stringify(changed)}: ${err}`);
      other.dispose();
    }
    tf.dispose([x, y, cached]);
    teacher.dispose();
  });
}

test("teacher cache rejects bad options and indices outside the dataset", () => {
  const teacher = tinyTeacher(42);
  const ds = smallMnist(4);
  assert.throws(() => precomputeTeacherSketch(teacher, ds, { probes: 0, seed: 1 }), /probes must be an integer >= 1/);
  assert.throws(() => precomputeTeacherSketch(teacher, ds, { probes: 2, epsilon: 0, seed: 1 }), /epsilon must be a positive number/);
  const cache = precomputeTeacherSketch(teacher, ds, { probes: 2, seed: 1 });
  assert.throws(() => cachedTeacherKernel(cache, [0, 4], "matrix"), /index 4 at position 1 is outside the cached dataset of 4 samples/);
  assert.throws(() => cachedTeacherKernel(cache, [], "matrix"), /at least one sample/);
  teacher.dispose();
});

test("a segmentation teacher's cache (outputs flattened over pixels) equals its per-batch sketch", () => {
  const teacher = buildUNet({ inputShape: [8, 8, 3], depth: 1, baseFilters: 2, seed: 4 });
  const ds = generateSegmentationSet({ count: 5, height: 8, width: 8, seed: 2 });
  const subject = flattenedSubject((x) => teacher.apply(x, { training: false }) as tf.Tensor, teacher.trainableWeights.map((w) => w.read() as tf.Variable));
  const cache = precomputeTeacherSketch(subject, ds, { probes: 2, seed: 9, batchSize: 2 });
  assert.equal(cache.outputs, 64);
  const indices = Int32Array.from([3, 0, 4]);
  const { x, y } = gatherBatch(ds, indices);
  const reference = sketchNtk(subject, x, { probes: 2, epsilon: 1e-2, seed: 9 });
  const cached = cachedTeacherKernel(cache, indices, "matrix");
  const err = relativeError(cached.dataSync() as Float32Array, reference.dataSync() as Float32Array);
  assert.ok(err < 1e-5, `relative error ${err}`);
  tf.dispose([x, y, reference, cached]);
  teacher.dispose();
});
