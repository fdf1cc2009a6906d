import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { batches, createBatcher, epochBatches, gatherBatch, toTensors } from "../../src/data/batches";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import type { ImageDataset } from "../../src/data/types";

function toy(n = 10): ImageDataset {
  // image i is filled with the value i, so a batch reveals which samples it holds
  const images = new Float32Array(n * 2 * 3 * 1);
  for (let i = 0; i < n; i++) images.fill(i, i * 6, i * 6 + 6);
  return { name: "toy", images, labels: Uint8Array.from({ length: n }, (_, i) => i % 3), count: n, height: 2, width: 3, channels: 1, classNames: ["a", "b", "c"] };
}

test("toTensors: NHWC float32 images, one-hot targets and int32 labels", async () => {
  await initBackend({ backend: "cpu" });
  const before = tf.memory().numTensors;
  const ds = toy();
  const { x, y, labels } = toTensors(ds, [4, 2]);
  assert.deepEqual(x.shape, [2, 2, 3, 1]);
  assert.equal(x.dtype, "float32");
  assert.deepEqual(y.shape, [2, 3]);
  assert.deepEqual(y.arraySync(), [[0, 1, 0], [0, 0, 1]]);
  assert.equal(labels.dtype, "int32");
  assert.deepEqual(Array.from(labels.dataSync()), [1, 2]);
  assert.deepEqual(Array.from(x.dataSync()), [4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2]);
  tf.dispose([x, y, labels]);
  const norm = toTensors(ds, [3], { normalize: { mean: [1], std: [2] } });
  assert.deepEqual(Array.from(norm.x.dataSync()), [1, 1, 1, 1, 1, 1]);
  tf.dispose([norm.x, norm.y, norm.labels]);
  assert.equal(tf.memory().numTensors, before);
});

test("batches: every sample once per epoch, seeded and reshuffled per epoch, dropLast, no leaks", async () => {
  await initBackend({ backend: "cpu" });
  const ds = toy(10);
  const before = tf.memory().numTensors;
  const epochOrder = (epoch: number, seed = 5, dropLast = false) => {
    const seen: number[] = [];
    const sizes: number[] = [];
    for (const b of batches(ds, { batchSize: 4, seed, epoch, dropLast })) {
      const xs = b.x.dataSync();
      for (let k = 0; k < b.x.shape[0]; k++) seen.push(xs[k * 6]!);
      assert.deepEqual(Array.from(b.labels.dataSync()), Array.from({ length: b.x.shape[0] }, (_, k) => seen[seen.length - b.x.shape[0] + k]! % 3));
      sizes.push(b.x.shape[0]);
      tf.dispose([b.x, b.y, b.labels]);
    }
    return { seen, sizes };
  };
  const e0 = epochOrder(0);
  assert.deepEqual(e0.sizes, [4, 4, 2]);
  assert.deepEqual([...e0.seen].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(epochOrder(0).seen, e0.seen);
  assert.notDeepEqual(epochOrder(1).seen, e0.seen);
  assert.notDeepEqual(epochOrder(0, 6).seen, e0.seen);
  assert.deepEqual(epochOrder(0, 5, true).sizes, [4, 4]);
  const ordered = [...batches(ds, { batchSize: 3, shuffle: false, indices: [9, 1, 5, 7] })];
  assert.deepEqual(ordered.map((b) => Array.from(b.x.dataSync()).filter((_, i) => i % 6 === 0)), [[9, 1, 5], [7]]);
  for (const b of ordered) tf.dispose([b.x, b.y, b.labels]);

  const batcher = createBatcher(ds, { batchSize: 5, seed: 5 });
  assert.equal(batcher.batchesPerEpoch, 2);
  const firstEpoch: number[] = [];
  for (const b of batcher.nextEpoch()) {
    firstEpoch.push(...Array.from(b.x.dataSync()).filter((_, i) => i % 6 === 0));
    tf.dispose([b.x, b.y, b.labels]);
  }
  assert.equal(batcher.epoch, 1);
  assert.deepEqual(firstEpoch, e0.seen);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => batches(ds, { batchSize: 0 }).next(), /batchSize: got 0; expected a positive integer/);
});

test("segmentation batches: images [n, h, w, 3] and masks [n, h, w, 1]", async () => {
  await initBackend({ backend: "cpu" });
  const seg = generateSegmentationSet({ count: 5, height: 16, width: 24, seed: 2 });
  const before = tf.memory().numTensors;
  const all = [...batches(seg, { batchSize: 2, shuffle: false })];
  assert.deepEqual(all.map((b) => b.x.shape), [[2, 16, 24, 3], [2, 16, 24, 3], [1, 16, 24, 3]]);
  assert.deepEqual(all[2]!.y.shape, [1, 16, 24, 1]);
  assert.deepEqual(Array.from(all[2]!.y.dataSync()), Array.from(seg.masks.subarray(4 * 16 * 24)));
  for (const b of all) tf.dispose([b.x, b.y]);
  assert.equal(tf.memory().numTensors, before);
});

test("one batching path: batches() yields the training loop's epoch batches (epochBatches) with the same images and targets as gatherBatch", async () => {
  await initBackend({ backend: "cpu" });
  const ds = toy(10);
  const seg = generateSegmentationSet({ count: 7, height: 8, width: 8, seed: 1 });
  const before = tf.memory().numTensors;
  for (const epoch of [0, 3]) {
    const loop = epochBatches(ds.count, 4, 9, epoch);
    const yielded = [...batches(ds, { batchSize: 4, seed: 9, epoch })];
    assert.equal(yielded.length, loop.length);
    yielded.forEach((b, k) => {
      const g = gatherBatch(ds, loop[k]);
      assert.deepEqual(Array.from(b.x.dataSync()), Array.from(g.x.dataSync()));
      assert.deepEqual(Array.from(b.labels.dataSync()), Array.from(g.y.dataSync()));
      assert.equal(g.y.dtype, "int32");
      tf.dispose([b.x, b.y, b.labels, g.x, g.y]);
    });
  }
  const segLoop = epochBatches(seg.count, 3, 2, 1);
  [...batches(seg, { batchSize: 3, seed: 2, epoch: 1 })].forEach((b, k) => {
    const g = gatherBatch(seg, segLoop[k]);
    assert.deepEqual(g.y.shape, [segLoop[k].length, 8, 8, 1]);
    assert.deepEqual(Array.from(b.y.dataSync()), Array.from(g.y.dataSync()));
    tf.dispose([b.x, b.y, g.x, g.y]);
  });
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => gatherBatch(ds, [0, 10]), /indices\[1\]: got 10; expected an integer in 0..9 \(toy\)/);
});
