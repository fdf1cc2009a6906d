import { test } from "node:test";
import assert from "node:assert/strict";
import { loadMnist } from "../../src/data/mnist";
import { fashionMnistAvailable, loadFashionMnist } from "../../src/data/fashion-mnist";
import type { ImageDataset } from "../../src/data/types";

// Expected values were read from the files with Python's gzip module, independently of our parser.
function histogram(ds: ImageDataset): number[] {
  const h = new Array(10).fill(0);
  for (const l of ds.labels) h[l]++;
  return h;
}
function firstImageSum(ds: ImageDataset): number {
  let s = 0;
  for (let i = 0; i < 784; i++) s += Math.round(ds.images[i]! * 255);
  return s;
}

test("real MNIST: 60,000 / 10,000 images, known labels, histogram and pixels", () => {
  const train = loadMnist({ split: "train" });
  assert.equal(train.count, 60000);
  assert.deepEqual([train.height, train.width, train.channels], [28, 28, 1]);
  assert.deepEqual(Array.from(train.labels.subarray(0, 5)), [5, 0, 4, 1, 9]);
  assert.deepEqual(histogram(train), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.equal(firstImageSum(train), 27525);
  let min = Infinity;
  let max = -Infinity;
  for (const v of train.images) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.deepEqual([min, max], [0, 1]);

  const t = loadMnist({ split: "test" });
  assert.equal(t.count, 10000);
  assert.deepEqual(Array.from(t.labels.subarray(0, 5)), [7, 2, 1, 0, 4]);
  assert.deepEqual(histogram(t), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  assert.equal(firstImageSum(t), 18454);
});

test("real Fashion-MNIST (Debian dataset-fashion-mnist): balanced classes, known first labels", { skip: !fashionMnistAvailable() && "dataset-fashion-mnist not installed" }, () => {
  const train = loadFashionMnist({ split: "train" });
  assert.equal(train.count, 60000);
  assert.deepEqual(histogram(train), new Array(10).fill(6000));
  assert.deepEqual(Array.from(train.labels.subarray(0, 5)), [9, 0, 0, 3, 0]);
  assert.equal(train.classNames[train.labels[0]!], "Ankle boot");
  assert.equal(firstImageSum(train), 76247);
  const t = loadFashionMnist({ split: "test" });
  assert.equal(t.count, 10000);
  assert.deepEqual(histogram(t), new Array(10).fill(1000));
  assert.deepEqual(Array.from(t.labels.subarray(0, 5)), [9, 2, 1, 1, 6]);
  assert.equal(firstImageSum(t), 33456);
});
