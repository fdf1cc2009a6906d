import { test } from "node:test";
import assert from "node:assert/strict";
import { computeChannelStats, applyChannelStats } from "../../src/data/normalize";
import { sampleFraction, sampleFractionIndices, splitIndices, subset, trainValidationSplit, trainValidationTestSplit } from "../../src/data/splits";
import type { ImageDataset, SegmentationDataset } from "../../src/data/types";

/** 100 labelled 2x2x1 images: class i % 4 (25 each) except that class 3 gets the last 10 extra. */
function labelled(n = 110): ImageDataset {
  const images = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i / n, i * 4, i * 4 + 4);
  const labels = Uint8Array.from({ length: n }, (_, i) => (i < 100 ? i % 4 : 3));
  return { name: "toy", images, labels, count: n, height: 2, width: 2, channels: 1, classNames: ["a", "b", "c", "d"] };
}

function countBy(labels: ArrayLike<number>): number[] {
  const c = [0, 0, 0, 0];
  for (let i = 0; i < labels.length; i++) c[labels[i]!]++;
  return c;
}

test("splits are deterministic under a seed, disjoint, and cover every sample once", () => {
  const ds = labelled();
  const a = splitIndices(ds, { validationFraction: 0.2, testFraction: 0.1, seed: 7 });
  const b = splitIndices(ds, { validationFraction: 0.2, testFraction: 0.1, seed: 7 });
  const c = splitIndices(ds, { validationFraction: 0.2, testFraction: 0.1, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.validation, c.validation);
  const all = [...a.train, ...a.validation, ...a.test].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: 110 }, (_, i) => i));
  // stratified: per class round(25 * 0.2) = 5 (class d: round(35 * 0.2) = 7)
  assert.deepEqual(countBy(Array.from(a.validation, (i) => ds.labels[i]!)), [5, 5, 5, 7]);
  assert.deepEqual(countBy(Array.from(a.test, (i) => ds.labels[i]!)), [3, 3, 3, 4]);
});

test("trainValidationSplit returns subsets whose samples match the indices", () => {
  const ds = labelled();
  const { train, validation, indices } = trainValidationSplit(ds, { validationFraction: 0.3, seed: 1 });
  assert.equal(train.count + validation.count, ds.count);
  assert.equal(validation.count, indices.validation.length);
  indices.validation.forEach((orig, k) => {
    assert.equal(validation.labels[k], ds.labels[orig]);
    assert.deepEqual(Array.from(validation.images.subarray(k * 4, k * 4 + 4)), Array.from(ds.images.subarray(orig * 4, orig * 4 + 4)));
  });
  assert.deepEqual(train.classNames, ds.classNames);
});

test("sampleFraction takes 10% of every class, deterministic under a seed", () => {
  const ds = labelled();
  const idx = sampleFractionIndices(ds, 0.1, 3);
  assert.deepEqual(countBy(Array.from(idx, (i) => ds.labels[i]!)), [3, 3, 3, 4]); // round(2.5) = 3, round(3.5) = 4
  assert.deepEqual(sampleFractionIndices(ds, 0.1, 3), idx);
  assert.equal(new Set(idx).size, idx.length);
  assert.equal(sampleFraction(ds, 0.1, 3).count, 13);
  assert.equal(sampleFraction(ds, 0, 3).count, 0);
  assert.equal(sampleFraction(ds, 1, 3).count, 110);
  assert.throws(() => sampleFraction(ds, 1.5, 3), /fraction: got 1.5; expected a number in \[0, 1\]/);
});

test("subset and splits of a segmentation set carry the masks", () => {
  const seg: SegmentationDataset = {
    name: "seg", count: 3, height: 1, width: 2, channels: 3,
    images: Float32Array.from({ length: 18 }, (_, i) => i), masks: Uint8Array.from([0, 1, 1, 1, 0, 0]),
  };
  const s = subset(seg, [2, 0]);
  assert.deepEqual(Array.from(s.masks), [0, 0, 0, 1]);
  assert.deepEqual(Array.from(s.images.subarray(0, 6)), [12, 13, 14, 15, 16, 17]);
  const parts = trainValidationTestSplit(seg, { validationFraction: 0.34, testFraction: 0.33, seed: 0 });
  assert.deepEqual([parts.train.count, parts.validation.count, parts.test.count], [1, 1, 1]);
  assert.throws(() => subset(seg, [3]), /indices\[0\]: got 3; expected an integer in 0\.\.2 \(seg\)/);
  assert.throws(() => splitIndices(seg, { validationFraction: 0.6, testFraction: 0.5, seed: 0 }), /expected less than 1/);
});

test("channel statistics from a train split: hand-computed values, then zero mean / unit std", () => {
  // two 1x2 RGB images
  const ds: ImageDataset = {
    name: "rgb", count: 2, height: 1, width: 2, channels: 3, classNames: ["x"], labels: new Uint8Array(2),
    images: Float32Array.from([0, 0.5, 1, 1, 0.5, 1, 0.5, 0.5, 1, 0.5, 0.5, 1]),
  };
  const stats = computeChannelStats(ds);
  assert.deepEqual(stats.mean.map((m) => +m.toFixed(6)), [0.5, 0.5, 1]);
  // channel 0 values 0, 1, 0.5, 0.5: variance = (0.25 + 0.25 + 0 + 0) / 4 = 0.125
  assert.ok(Math.abs(stats.std[0]! - Math.sqrt(0.125)) < 1e-7);
  assert.deepEqual(stats.std.slice(1), [1, 1]); // constant channels get std 1
  const onlyFirst = computeChannelStats(ds, [0]);
  assert.ok(Math.abs(onlyFirst.mean[0]! - 0.5) < 1e-7 && Math.abs(onlyFirst.std[0]! - 0.5) < 1e-7);
  const norm = applyChannelStats(ds, stats);
  const after = computeChannelStats(norm);
  assert.ok(Math.abs(after.mean[0]!) < 1e-6 && Math.abs(after.std[0]! - 1) < 1e-6);
  assert.equal(norm.images[1], 0);
  assert.throws(() => applyChannelStats(ds, { mean: [0], std: [1] }), /1 means and 1 stds; expected 3 each/);
  const broken = { ...ds, images: ds.images.slice() };
  broken.images[4] = NaN;
  assert.throws(() => computeChannelStats(broken), /rgb: channel 1 has non-finite pixel values/);
});
