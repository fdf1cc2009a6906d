import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { importPsfs, parseNpy } from "../../src/fabrication/psf-import";

function npy(data: number[], shape: number[]): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const head = Buffer.alloc(10);
  head.writeUInt8(0x93, 0);
  head.write("NUMPY", 1, "latin1");
  head.writeUInt8(1, 6);
  head.writeUInt8(0, 7);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(new Float32Array(data).buffer)]);
}

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-psf-"));

test("NPY, JSON and PNG PSFs import in file order, normalised to unit energy", async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, "a.npy"), npy([1, 0, 0, 0, 2, 0, 0, 0, 1], [3, 3]));
  fs.writeFileSync(path.join(dir, "b.json"), JSON.stringify([[0, 1, 0], [1, 4, 1], [0, 1, 0]]));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sharp = require("sharp") as typeof import("sharp");
  await sharp(Buffer.from([0, 0, 0, 0, 255, 0, 0, 0, 0]), { raw: { width: 3, height: 3, channels: 1 } }).png().toFile(path.join(dir, "c.png"));
  const r = await importPsfs(dir);
  assert.deepEqual(r.shape, [3, 3, 1, 3]);
  assert.deepEqual(r.sources.map((s) => path.basename(s)), ["a.npy", "b.json", "c.png"]);
  const kernel = (j: number): number[] => Array.from({ length: 9 }, (_, p) => r.psfs[p * 3 + j]);
  assert.ok(Math.abs(kernel(0)[4] - 0.5) < 1e-6 && Math.abs(kernel(0)[0] - 0.25) < 1e-6);
  assert.ok(Math.abs(kernel(1)[4] - 0.5) < 1e-6);
  assert.ok(Math.abs(kernel(2)[4] - 1) < 1e-6 && kernel(2)[0] === 0);
});

test("parseNpy reads a [n, k, k] stack and rejects a truncated file", () => {
  const buf = npy([...Array(18).keys()], [2, 3, 3]);
  const { data, shape } = parseNpy(buf, "x.npy");
  assert.deepEqual(shape, [2, 3, 3]);
  assert.equal(data[17], 17);
  assert.throws(() => parseNpy(buf.subarray(0, buf.length - 8), "x.npy"), /x\.npy: truncated/);
});

test("a negative PSF value, a wrong shape and excess energy fail naming the file", async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, "neg.json"), JSON.stringify([[0, 1], [-0.5, 1]]));
  await assert.rejects(importPsfs(dir), /neg\.json: PSF value at pixel 2 is -0\.5; an incoherent PSF is an intensity/);
  const dir2 = tmp();
  fs.writeFileSync(path.join(dir2, "a.json"), JSON.stringify([[0, 1, 0], [1, 1, 1], [0, 1, 0]]));
  fs.writeFileSync(path.join(dir2, "b.json"), JSON.stringify([[0, 1], [1, 1]]));
  await assert.rejects(importPsfs(dir2), /b\.json: PSF is 2x2; expected a square 3x3 kernel/);
  await assert.rejects(importPsfs(path.join(dir2, "a.json"), { kernelSize: 5 }), /a\.json: PSF is 3x3; expected a square 5x5/);
  await assert.rejects(importPsfs(path.join(dir2, "a.json"), { normalize: "none" }), /a\.json: PSF carries energy 5\.0+ > 1/);
  await assert.rejects(importPsfs(path.join(dir2, "missing")), /missing does not exist/);
});

test("an empty kernel stack, a ragged JSON array and an all-zero PSF fail naming the file and what was expected", async () => {
  const dir = tmp();
  const emptyNpy = path.join(dir, "empty.npy");
  fs.writeFileSync(emptyNpy, npy([], [0, 3, 3]));
  await assert.rejects(importPsfs(emptyNpy), (e: Error) =>
    e.message.startsWith(`${emptyNpy}: empty kernel stack of shape [0, 3, 3]; expected at least one kernel`));
  const emptyJson = path.join(dir, "empty.json");
  fs.writeFileSync(emptyJson, JSON.stringify([[], []]));
  await assert.rejects(importPsfs(emptyJson), /empty\.json: empty kernel stack of shape \[2, 0\]/);
  // [[1, 2], [3, 4, 5], [6]] has 6 numbers, like a 3x2 array: it must not be accepted as one.
  const ragged = path.join(dir, "ragged.json");
  fs.writeFileSync(ragged, JSON.stringify([[0.1, 0.2], [0.3, 0.4, 0.5], [0.6]]));
  await assert.rejects(importPsfs(ragged), (e: Error) =>
    e.message.startsWith(`${ragged}: ragged array: [1] is an array of length 3 where 2 entries were expected`));
  const raggedStack = path.join(dir, "ragged-stack.json");
  fs.writeFileSync(raggedStack, JSON.stringify([[[0.1, 0.2], [0.3, 0.4]], [[0.1, 0.2, 0.3, 0.4]]]));
  await assert.rejects(importPsfs(raggedStack), /ragged-stack\.json: ragged array: \[1\] is an array of length 1 where 2 entries were expected/);
  const zero = path.join(dir, "zero.json");
  fs.writeFileSync(zero, JSON.stringify([[0, 0], [0, 0]]));
  await assert.rejects(importPsfs(zero, { normalize: "none" }), (e: Error) =>
    e.message === `${zero}: PSF is all zeros; expected a measured PSF with positive energy`);
  await assert.rejects(importPsfs(zero), /zero\.json: PSF is all zeros/);
  // A well-formed kernel with normalize "none" still loads as given.
  const good = path.join(dir, "good.json");
  fs.writeFileSync(good, JSON.stringify([[0.1, 0.2], [0.3, 0.4]]));
  assert.deepEqual(Array.from((await importPsfs(good, { normalize: "none" })).psfs), Array.from(new Float32Array([0.1, 0.2, 0.3, 0.4])));
});
