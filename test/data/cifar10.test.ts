import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { CIFAR10_CLASS_NAMES, cifar10Available, loadCifar10 } from "../../src/data/cifar10";
import { downloadFile, extractTarGz, installCifar10 } from "../../src/data/cifar10-download";
import { cifarPixel, hasTar, tempDir, writeCifarBatch } from "./fixtures";

/** Writes six small batch files (3 records per train batch, 4 in the test batch). */
function writeCifarFolder(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) writeCifarBatch(path.join(dir, `data_batch_${b}.bin`), [b, (b + 1) % 10, (b + 2) % 10], (r, c, y, x) => cifarPixel(r + 3 * (b - 1), c, y, x));
  writeCifarBatch(path.join(dir, "test_batch.bin"), [3, 8, 8, 0], cifarPixel);
}

test("CIFAR-10 binary batches: planar RGB becomes NHWC, labels and batch order kept", () => {
  const dir = tempDir();
  writeCifarFolder(dir);
  assert.equal(cifar10Available(dir), true);
  const train = loadCifar10({ dir });
  assert.equal(train.count, 15);
  assert.deepEqual([train.height, train.width, train.channels], [32, 32, 3]);
  assert.deepEqual(Array.from(train.labels.subarray(0, 6)), [1, 2, 3, 2, 3, 4]);
  for (const [n, c, y, x] of [[0, 0, 0, 0], [4, 2, 31, 5], [14, 1, 17, 30]] as const) {
    assert.equal(train.images[((n * 32 + y) * 32 + x) * 3 + c], Math.fround(cifarPixel(n, c, y, x) / 255));
  }
  const t = loadCifar10({ dir, split: "test", limit: 2 });
  assert.equal(t.count, 2);
  assert.deepEqual(Array.from(t.labels), [3, 8]);
  assert.equal(t.classNames[t.labels[1]!], "ship");
  // limit spanning two batch files
  assert.deepEqual(Array.from(loadCifar10({ dir, limit: 4 }).labels), [1, 2, 3, 2]);
});

test("CIFAR-10 binary route takes the class names from batches.meta.txt, refuses a list that is not ten names", () => {
  const dir = tempDir();
  writeCifarFolder(dir);
  const renamed = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "lorry"];
  fs.writeFileSync(path.join(dir, "batches.meta.txt"), renamed.join("\n") + "\n\n");
  assert.deepEqual(loadCifar10({ dir, split: "test" }).classNames, renamed);
  fs.writeFileSync(path.join(dir, "batches.meta.txt"), "airplane\nautomobile\n");
  assert.throws(() => loadCifar10({ dir, split: "test" }), /batches\.meta\.txt: 2 class names; expected 10, one a line/);
});

test("CIFAR-10 loader finds the archive's cifar-10-batches-bin/ subfolder", () => {
  const root = tempDir();
  writeCifarFolder(path.join(root, "cifar-10-batches-bin"));
  assert.equal(cifar10Available(root), true);
  assert.equal(loadCifar10({ dir: root, split: "test" }).count, 4);
});

test("CIFAR-10 errors: missing folder, missing batch, truncated batch, bad label", () => {
  const root = tempDir();
  const missing = path.join(root, "absent");
  assert.equal(cifar10Available(missing), false);
  assert.throws(() => loadCifar10({ dir: missing }), (e: Error) => e.message.includes(missing) && /folder not found/.test(e.message));

  const dir = path.join(root, "c");
  writeCifarFolder(dir);
  fs.rmSync(path.join(dir, "data_batch_4.bin"));
  assert.equal(cifar10Available(dir), false);
  assert.throws(() => loadCifar10({ dir }), /data_batch_4\.bin: CIFAR-10 batch file not found/);
  assert.equal(loadCifar10({ dir, split: "test" }).count, 4);

  const testFile = path.join(dir, "test_batch.bin");
  const bytes = fs.readFileSync(testFile);
  fs.writeFileSync(testFile, bytes.subarray(0, bytes.length - 100));
  assert.throws(() => loadCifar10({ dir, split: "test" }), (e: Error) => e.message.startsWith(testFile) && /12192 bytes is not a whole number of 3073-byte records/.test(e.message));

  writeCifarBatch(testFile, [3, 42], cifarPixel);
  assert.throws(() => loadCifar10({ dir, split: "test" }), /label 42 in record 1; expected 0\.\.9/);
});


test("installCifar10 checks the MD5 and extracts a real tar.gz (made by system tar)", { skip: !hasTar() && "no tar command" }, async () => {
  const work = tempDir();
  writeCifarFolder(path.join(work, "src", "cifar-10-batches-bin"));
  const meta = CIFAR10_CLASS_NAMES.join("\n") + "\n";
  fs.writeFileSync(path.join(work, "src", "cifar-10-batches-bin", "batches.meta.txt"), meta);
  const archive = path.join(work, "cifar-10-binary.tar.gz");
  execFileSync("tar", ["-czf", archive, "-C", path.join(work, "src"), "cifar-10-batches-bin"]);
  const md5 = crypto.createHash("md5").update(fs.readFileSync(archive)).digest("hex");

  const wrong = path.join(work, "dest-wrong");
  await assert.rejects(installCifar10({ archive, dir: wrong, log: () => {} }), (e: Error) =>
    e.message.startsWith(archive) && e.message.includes(`MD5 ${md5} does not match the expected c32a1d4ab5d03f1284b67883e8d87530`));
  assert.equal(cifar10Available(wrong), false);

  const dest = path.join(work, "dest");
  await installCifar10({ archive, dir: dest, expectedMd5: md5, log: () => {} });
  assert.equal(cifar10Available(dest), true);
  assert.equal(fs.readFileSync(path.join(dest, "cifar-10-batches-bin", "batches.meta.txt"), "utf8"), meta);
  assert.deepEqual(Array.from(loadCifar10({ dir: dest, split: "test" }).labels), [3, 8, 8, 0]);
  assert.deepEqual(extractTarGz(archive, path.join(work, "again")).sort(), [
    "cifar-10-batches-bin/batches.meta.txt", "cifar-10-batches-bin/data_batch_1.bin", "cifar-10-batches-bin/data_batch_2.bin",
    "cifar-10-batches-bin/data_batch_3.bin", "cifar-10-batches-bin/data_batch_4.bin", "cifar-10-batches-bin/data_batch_5.bin",
    "cifar-10-batches-bin/test_batch.bin",
  ]);
});

test("installCifar10 errors: missing archive, not a tar.gz, unreachable download", async () => {
  const work = tempDir();
  await assert.rejects(installCifar10({ archive: path.join(work, "none.tar.gz"), log: () => {} }), /none\.tar\.gz: archive not found/);
  const junk = path.join(work, "junk.tar.gz");
  fs.writeFileSync(junk, "not gzip");
  assert.throws(() => extractTarGz(junk, work), /junk\.tar\.gz: not a readable \.tar\.gz archive/);
  // port 9 (discard) on localhost: refused at once, like a machine without internet
  await assert.rejects(downloadFile("http://127.0.0.1:9/cifar-10-binary.tar.gz", path.join(work, "x.tar.gz")), (e: Error) =>
    /could not download http:\/\/127\.0\.0\.1:9\/cifar-10-binary\.tar\.gz/.test(e.message) && /--archive/.test(e.message));
  assert.equal(fs.existsSync(path.join(work, "x.tar.gz")), false);
});
