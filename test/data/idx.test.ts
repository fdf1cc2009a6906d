import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { loadIdxDataset, parseIdx, readIdxLabels } from "../../src/data/idx";
import { loadMnist } from "../../src/data/mnist";
import { loadFashionMnist } from "../../src/data/fashion-mnist";
import { idxBytes, tempDir, writeIdxPair } from "./fixtures";

for (const gz of [false, true]) {
  test(`MNIST-layout folder of ${gz ? "gzipped" : "plain"} idx files loads pixels/255 and labels`, () => {
    const dir = tempDir();
    const train = writeIdxPair(dir, "train", 5, 4, 3, gz);
    const testSet = writeIdxPair(dir, "t10k", 2, 4, 3, gz);
    const ds = loadMnist({ dir });
    assert.equal(ds.count, 5);
    assert.deepEqual([ds.height, ds.width, ds.channels], [4, 3, 1]);
    assert.deepEqual(Array.from(ds.labels), Array.from(train.labels));
    for (const i of [0, 7, 59]) assert.equal(ds.images[i], Math.fround(train.pixels[i]! / 255));
    const t = loadFashionMnist({ dir, split: "test" });
    assert.equal(t.count, 2);
    assert.equal(t.images[5], Math.fround(testSet.pixels[5]! / 255));
    assert.equal(t.classNames[0], "T-shirt/top");
    const limited = loadMnist({ dir, limit: 3 });
    assert.equal(limited.count, 3);
    assert.equal(limited.images.length, 3 * 12);
  });
}

test("a missing folder names the folder", () => {
  const dir = path.join(tempDir(), "nope");
  assert.throws(() => loadMnist({ dir }), (e: Error) => e.message.includes(dir) && /folder not found/.test(e.message));
});

test("a missing file names the folder and the expected file", () => {
  const dir = tempDir();
  writeIdxPair(dir, "train", 2, 2, 2, false);
  assert.throws(() => loadMnist({ dir, split: "test" }), /missing t10k-images-idx3-ubyte \(or t10k-images-idx3-ubyte\.gz\)/);
});

test("a truncated image file names the file and the expected length", () => {
  const dir = tempDir();
  writeIdxPair(dir, "train", 4, 5, 5, false);
  const file = path.join(dir, "train-images-idx3-ubyte");
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
  assert.throws(() => loadMnist({ dir }), (e: Error) => e.message.startsWith(file) && /truncated IDX file \(106 bytes; dimensions \[4, 5, 5\] need 116\)/.test(e.message));
  fs.writeFileSync(file, bytes.subarray(0, 10));
  assert.throws(() => loadMnist({ dir }), /truncated IDX header/);
});

test("a truncated gzip file is reported as such", () => {
  const dir = tempDir();
  writeIdxPair(dir, "train", 4, 5, 5, true);
  const file = path.join(dir, "train-labels-idx1-ubyte.gz");
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 8));
  assert.throws(() => loadMnist({ dir }), (e: Error) => e.message.startsWith(file) && /corrupt or truncated gzip/.test(e.message));
});

test("a wrong magic number names the file, the value found and the one expected", () => {
  const dir = tempDir();
  writeIdxPair(dir, "train", 3, 2, 2, false);
  // swap the files: the labels path now holds an image file
  const images = path.join(dir, "train-images-idx3-ubyte");
  const labels = path.join(dir, "train-labels-idx1-ubyte");
  fs.copyFileSync(images, labels);
  assert.throws(() => loadMnist({ dir }), (e: Error) => e.message.startsWith(labels) && /wrong magic number 0x00000803; expected 0x00000801/.test(e.message));
  assert.throws(() => parseIdx(idxBytes([1], new Uint8Array(1), 0x0d01), "x.idx", 0x801), /x\.idx: wrong magic number 0x00000d01/);
});

test("a label count that does not match the images names both files", () => {
  const dir = tempDir();
  writeIdxPair(dir, "train", 6, 2, 2, true, 5);
  assert.throws(() => loadMnist({ dir }), /train-labels-idx1-ubyte\.gz: 5 labels but .*train-images-idx3-ubyte\.gz holds 6 images/);
});

test("trailing bytes and out-of-range labels are rejected", () => {
  const dir = tempDir();
  const file = path.join(dir, "labels");
  fs.writeFileSync(file, Buffer.concat([idxBytes([2], new Uint8Array([1, 2])), Buffer.from([0])]));
  assert.throws(() => readIdxLabels(file), /1 trailing bytes/);
  const images = path.join(dir, "images.gz");
  fs.writeFileSync(images, zlib.gzipSync(idxBytes([2, 1, 1], new Uint8Array([0, 255]))));
  fs.writeFileSync(file, idxBytes([2], new Uint8Array([1, 12])));
  assert.throws(() => loadIdxDataset({ name: "t", imagesFile: images, labelsFile: file, classNames: ["a", "b"] }), /label 12 at index 1; expected 0\.\.1/);
});

test("bad options name the argument", () => {
  assert.throws(() => loadMnist({ split: "validation" as never }), /split: got "validation"; expected "train" or "test"/);
  assert.throws(() => loadMnist({ limit: -1 }), /limit: got -1/);
});
