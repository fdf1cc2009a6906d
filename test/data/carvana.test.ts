import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import sharp = require("sharp");
import { carvanaAvailable, carvanaCarId, listCarvanaPairs, loadCarvana, splitCarvanaByCar } from "../../src/data/carvana";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import { tempDir, truncateFile, writeCarvanaFolder } from "./fixtures";

const H = 48;
const W = 72;

/**
 * A Carvana-layout folder built from the generated set: `train/<id>.jpg` and
 * `train_masks/<id>_mask.gif` (0/255 grey GIF, as on Kaggle), or `.png` with values 0/1.
 */
async function writeFixture(count: number, maskFormat: "gif" | "png01" = "gif") {
  const root = tempDir("ntkd-carvana-");
  const ds = generateSegmentationSet({ count, height: H, width: W, seed: 4 });
  fs.mkdirSync(path.join(root, "train"));
  fs.mkdirSync(path.join(root, "train_masks"));
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `car${i}_0${i + 1}`;
    ids.push(id);
    const rgb = Buffer.from(Array.from(ds.images.subarray(i * H * W * 3, (i + 1) * H * W * 3), (v) => Math.round(v * 255)));
    await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95 }).toFile(path.join(root, "train", `${id}.jpg`));
    const mask = ds.masks.subarray(i * H * W, (i + 1) * H * W);
    if (maskFormat === "gif") {
      const grey = Buffer.from(Array.from(mask, (m) => m * 255));
      await sharp(grey, { raw: { width: W, height: H, channels: 1 } }).gif().toFile(path.join(root, "train_masks", `${id}_mask.gif`));
    } else {
      await sharp(Buffer.from(mask), { raw: { width: W, height: H, channels: 1 } }).png().toFile(path.join(root, "train_masks", `${id}_mask.png`));
    }
  }
  return { root, ds, ids };
}

test("Carvana loader at the native size: GIF masks exact, JPG images close, ids matched and sorted", async () => {
  const { root, ds, ids } = await writeFixture(3);
  assert.equal(carvanaAvailable({ dir: root }), true);
  assert.deepEqual(listCarvanaPairs({ dir: root }).map((p) => p.id), [...ids].sort());
  const loaded = await loadCarvana({ dir: root, height: H, width: W });
  assert.deepEqual([loaded.count, loaded.height, loaded.width, loaded.channels], [3, H, W, 3]);
  assert.deepEqual(loaded.masks, ds.masks);
  let err = 0;
  for (let i = 0; i < ds.images.length; i++) err += Math.abs(loaded.images[i]! - ds.images[i]!);
  assert.ok(err / ds.images.length < 0.04, `mean abs JPEG error ${err / ds.images.length}`);
});

test("Carvana loader resizes to a chosen resolution; PNG masks holding 0/1 work too", async () => {
  const { root, ds } = await writeFixture(2, "png01");
  const h = H / 2;
  const w = W / 2;
  const loaded = await loadCarvana({ dir: root, height: h, width: w, limit: 1 });
  assert.equal(loaded.count, 1);
  assert.equal(loaded.images.length, h * w * 3);
  // compare with the 2x2-block average of the original mask wherever that average is not a tie
  let agree = 0;
  let decided = 0;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const m = (rr: number, cc: number) => ds.masks[(2 * r + rr) * W + 2 * c + cc]!;
      const mean = (m(0, 0) + m(0, 1) + m(1, 0) + m(1, 1)) / 4;
      if (mean === 0.5) continue;
      decided++;
      if ((mean > 0.5 ? 1 : 0) === loaded.masks[r * w + c]) agree++;
    }
  }
  assert.ok(agree / decided > 0.98, `agreement ${agree}/${decided}`);
  const carPixels = loaded.masks.reduce((s, v) => s + v, 0);
  assert.ok(carPixels > 0.03 * h * w);
});

test("Carvana errors: missing mask, size mismatch, empty folder, missing folder", async () => {
  const { root, ids } = await writeFixture(2);
  const sorted = [...ids].sort();
  fs.rmSync(path.join(root, "train_masks", `${sorted[1]}_mask.gif`));
  await assert.rejects(loadCarvana({ dir: root }), (e: Error) =>
    e.message.includes(`${sorted[1]}.jpg: mask missing; expected`) && e.message.includes(`${sorted[1]}_mask.gif or`));

  await sharp({ create: { width: W + 1, height: H, channels: 3, background: "#fff" } }).gif().toFile(path.join(root, "train_masks", `${sorted[1]}_mask.gif`));
  await assert.rejects(loadCarvana({ dir: root }), new RegExp(`${sorted[1]}_mask\\.gif: mask is ${W + 1}x${H} but .*${sorted[1]}\\.jpg is ${W}x${H}; expected equal sizes`));
  // the first pair alone still loads
  assert.equal((await loadCarvana({ dir: root, ids: [sorted[0]!] })).count, 1);

  const empty = tempDir("ntkd-carvana-empty-");
  fs.mkdirSync(path.join(empty, "train"));
  fs.mkdirSync(path.join(empty, "train_masks"));
  assert.equal(carvanaAvailable({ dir: empty }), false);
  await assert.rejects(loadCarvana({ dir: empty }), /train: no images; expected <id>\.jpg files/);
  await assert.rejects(loadCarvana({ dir: path.join(empty, "nope") }), /nope[\\/]train: Carvana images folder not found/);
  await assert.rejects(loadCarvana({ dir: root, height: 0 }), /height: got 0; expected a positive integer/);
});

test("a truncated Carvana JPG or mask fails naming the file and what was expected", async () => {
  for (const maskFormat of ["gif", "png01"] as const) {
    const { root, ids } = await writeFixture(2, maskFormat);
    const [first, second] = [...ids].sort() as [string, string];
    const image = path.join(root, "train", `${first}.jpg`);
    truncateFile(image, 0.6);
    await assert.rejects(loadCarvana({ dir: root, ids: [first] }), (e: Error) =>
      e.message.startsWith(`${image}: cannot decode`) && e.message.includes("expected a complete JPEG or PNG car photo"));
    const mask = path.join(root, "train_masks", `${second}_mask.${maskFormat === "gif" ? "gif" : "png"}`);
    truncateFile(mask, 0.6);
    await assert.rejects(loadCarvana({ dir: root, ids: [second] }), (e: Error) =>
      e.message.startsWith(`${mask}: cannot decode`) && e.message.includes("expected a complete GIF or PNG mask"), `${maskFormat} mask`);
  }
});

/** Photo 1918x1280 with a car rectangle of columns 480..1438 and rows 305..914 (hand-placed on output pixel edges, see below). */
const RECT = { left: 480, top: 305, right: 1439, bottom: 915 };

/** Rows and columns (inclusive ranges) where the mask is 1, or null when empty. */
function maskBox(mask: Uint8Array, height: number, width: number): { rows: [number, number]; cols: [number, number] } | null {
  let box: { rows: [number, number]; cols: [number, number] } | null = null;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      if (mask[r * width + c] !== 1) continue;
      if (!box) box = { rows: [r, r], cols: [c, c] };
      box.rows = [Math.min(box.rows[0], r), Math.max(box.rows[1], r)];
      box.cols = [Math.min(box.cols[0], c), Math.max(box.cols[1], c)];
    }
  }
  return box;
}

test("Carvana photos are letterboxed, not squashed: a known mask rectangle lands where the arithmetic says", async () => {
  const root = tempDir("ntkd-carvana-letterbox-");
  await writeCarvanaFolder(root, { cars: 1, views: 1, rect: RECT });
  // 32x32: scale min(32/1918, 32/1280) = 32/1918, photo 32 x round(1280*32/1918 = 21.36) = 21 rows,
  // top margin floor((32-21)/2) = 5. One output column is 1918/32 = 59.94 source columns, so
  // 480 = 8.01 and 1439 = 24.01 columns: columns 8..23. One row is 1280/21 = 60.95 source rows,
  // 305 = 5.004 and 915 = 15.01 rows: photo rows 5..14, frame rows 10..19.
  const square = await loadCarvana({ dir: root, height: 32, width: 32, cacheDir: false });
  assert.deepEqual(maskBox(square.masks, 32, 32), { rows: [10, 19], cols: [8, 23] });
  const masksBinary = square.masks.every((v) => v === 0 || v === 1);
  assert.ok(masksBinary, "masks stay 0/1");
  const rowMean = (r: number) => square.images.subarray(r * 32 * 3, (r + 1) * 32 * 3).reduce((s, v) => s + v, 0) / 96;
  for (const r of [0, 4, 26, 31]) assert.equal(rowMean(r), 0, `row ${r} is a black margin`);
  for (const r of [5, 25]) assert.ok(Math.abs(rowMean(r) - 90 / 255) < 0.03, `row ${r} is grey photo: ${rowMean(r)}`);
  // the white rectangle of the photo sits on the mask
  assert.ok(square.images[(12 * 32 + 12) * 3]! > 0.9 && square.images[(12 * 32 + 4) * 3]! < 0.45);

  // 32 rows x 64 columns: scale min(64/1918, 32/1280) = 1/40, photo round(47.95) = 48 x 32,
  // left margin 8. Columns 480/40 = 12 .. 1439/40 = 35.98: 12..35, framed 20..43. Rows
  // 305/40 = 7.6 .. 915/40 = 22.9: row 7 holds 15/40 of car (0), row 22 holds 35/40 (1): 8..22.
  const wide = await loadCarvana({ dir: root, height: 32, width: 64, cacheDir: false });
  assert.deepEqual(maskBox(wide.masks, 32, 64), { rows: [8, 22], cols: [20, 43] });
  const column = (c: number) => Array.from({ length: 32 }, (_, r) => wide.images[(r * 64 + c) * 3]!);
  for (const c of [0, 7, 56, 63]) assert.ok(column(c).every((v) => v === 0), `column ${c} is a black margin`);
  assert.ok(column(8).every((v) => v > 0.3), "column 8 is photo");
});

test("the decoded cache is used on the second load and invalidated when a file changes", async () => {
  const root = tempDir("ntkd-carvana-cache-");
  const ids = await writeCarvanaFolder(root, { cars: 2, views: 2, width: 192, height: 128 });
  const cacheDir = path.join(root, "decoded-cache");
  const first = await loadCarvana({ dir: root, height: 16, width: 24 });
  const files = fs.readdirSync(cacheDir);
  assert.equal(files.length, 1, `one cache file, no partial file left: ${files.join(", ")}`);
  const cacheFile = path.join(cacheDir, files[0]!);
  // Overwrite the cached pixels (after the header) with 7s: a load that reads the cache returns 7/255.
  const bytes = fs.readFileSync(cacheFile);
  const pixelBytes = ids.length * 16 * 24 * 3;
  const start = 4 + bytes.readUInt32LE(0);
  bytes.fill(7, start, start + pixelBytes);
  fs.writeFileSync(cacheFile, bytes);
  const cached = await loadCarvana({ dir: root, height: 16, width: 24 });
  assert.ok(cached.images.every((v) => v === Math.fround(7 / 255)), "second load came from the cache file");
  assert.deepEqual(cached.masks, first.masks);
  // another resolution is another cache entry
  await loadCarvana({ dir: root, height: 8, width: 12 });
  assert.equal(fs.readdirSync(cacheDir).length, 2);
  // touching one photo changes the key: decoded afresh, equal to the first load
  const photo = path.join(root, "train", `${ids[0]}.jpg`);
  const later = new Date(fs.statSync(photo).mtimeMs + 5000);
  fs.utimesSync(photo, later, later);
  const fresh = await loadCarvana({ dir: root, height: 16, width: 24 });
  assert.deepEqual(fresh.images, first.images);
  assert.equal(fs.readdirSync(cacheDir).length, 3);
  // cacheDir false neither reads nor writes
  const uncached = await loadCarvana({ dir: root, height: 16, width: 24, cacheDir: false });
  assert.deepEqual(uncached.images, first.images);
  assert.equal(fs.readdirSync(cacheDir).length, 3);
});

test("splitCarvanaByCar keeps every car's views in one part, sized as requested or scaled for a small folder", async () => {
  const root = tempDir("ntkd-carvana-split-");
  const ids = await writeCarvanaFolder(root, { cars: 16, views: 4, width: 48, height: 32 });
  assert.equal(carvanaCarId("00087a6bd4dc_04"), "00087a6bd4dc");
  const carsOf = (list: string[]) => new Set(list.map(carvanaCarId));
  const check = (s: ReturnType<typeof splitCarvanaByCar>) => {
    const parts = [carsOf(s.train), carsOf(s.validation), carsOf(s.test)];
    for (let a = 0; a < 3; a++) for (let b = a + 1; b < 3; b++) for (const car of parts[a]!) assert.ok(!parts[b]!.has(car), `car ${car} in two parts`);
    for (const list of [s.train, s.validation, s.test]) for (const car of carsOf(list)) assert.equal(list.filter((id) => carvanaCarId(id) === car).length, 4);
  };
  // Enough images: test takes cars until >= 12 (3 cars), validation >= 8 (2), train >= 32 (8); 3 cars unused.
  const exact = splitCarvanaByCar({ dir: root }, { train: 32, validation: 8, test: 12 }, 0);
  check(exact);
  assert.deepEqual([exact.train.length, exact.validation.length, exact.test.length, exact.scaled], [32, 8, 12, false]);
  assert.deepEqual(exact.cars, { train: 8, validation: 2, test: 3 });
  // 64 images for 256/32/48 requested: targets x 64/336 = 48.8/6.1/9.1, so test 3 cars, validation 2, train the other 11.
  const scaled = splitCarvanaByCar({ dir: root }, { train: 256, validation: 32, test: 48 }, 0);
  check(scaled);
  assert.deepEqual([scaled.train.length, scaled.validation.length, scaled.test.length, scaled.scaled], [44, 8, 12, true]);
  assert.deepEqual([...scaled.train, ...scaled.validation, ...scaled.test].sort(), ids);
  // seeded: same seed same split, another seed another one
  assert.deepEqual(splitCarvanaByCar({ dir: root }, { train: 256, validation: 32, test: 48 }, 0), scaled);
  assert.notDeepEqual(splitCarvanaByCar({ dir: root }, { train: 256, validation: 32, test: 48 }, 1).test, scaled.test);

  const small = tempDir("ntkd-carvana-small-");
  await writeCarvanaFolder(small, { cars: 2, views: 2, width: 48, height: 32 });
  assert.throws(() => splitCarvanaByCar({ dir: small }, { train: 256, validation: 32, test: 48 }, 0), (e: Error) =>
    e.message === `${path.resolve(small, "train")}: 4 images of 2 cars are too few to split by car (requested 256 train, 32 validation, 48 test); need at least 3 cars (one per part) and 4 test images`);
});
