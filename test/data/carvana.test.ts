import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import sharp = require("sharp");
import { carvanaAvailable, listCarvanaPairs, loadCarvana } from "../../src/data/carvana";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import { tempDir, truncateFile } from "./fixtures";

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
