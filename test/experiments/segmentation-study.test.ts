import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import { openRun } from "../../src/notebook/run-store";
import { runSegmentationStudy, segmentationPreset, loadSegmentationSplits, type SegmentationPreset } from "../../src/experiments/segmentation-study";
import { runSegmentationFabricationStudy } from "../../src/experiments/segmentation-fabrication";
import type { SegmentationDataset } from "../../src/data/types";
import { tempDir, writeCarvanaFolder } from "../data/fixtures";

const tiny: Partial<SegmentationPreset> = {
  size: 8, trainCount: 16, testCount: 8, teacherDepth: 1, teacherBaseFilters: 4, teacherEpochs: 1, studentEpochs: 1,
  groups: [2, 3], decoderWidths: [4], seeds: [0], ntkd: { probes: 2, betaScale: 0.1 },
};

test("segmentationPreset checks its fields and the image size against the architectures", () => {
  assert.equal(segmentationPreset("quick").size, 32);
  assert.deepEqual(segmentationPreset("full").groups, [8, 16, 32]);
  assert.ok(segmentationPreset("quick").diceWeight > 0 && segmentationPreset("quick").bottleneckConvs > 0, "students train with Dice and a decoder bottleneck");
  assert.throws(() => segmentationPreset("quick", { diceWeight: -1 }), /diceWeight must be a finite number >= 0/);
  assert.throws(() => segmentationPreset("quick", { bottleneckConvs: -1 }), /bottleneckConvs must be a non-negative integer/);
  assert.throws(() => segmentationPreset("quick", { size: 30 }), /size 30 must be divisible by 4/);
  assert.throws(() => segmentationPreset("quick", { seeds: [] }), /seeds must be a non-empty list/);
  assert.throws(() => segmentationPreset("quick", { studentEpochs: 0 }), /studentEpochs must be a positive integer/);
});

test("a segmentation study trains once, then loads every model; fabrication without errors changes nothing", async () => {
  await initBackend({ backend: "wasm" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-seg-study-"));
  try {
    const preset = segmentationPreset("quick", tiny);
    const splits = await loadSegmentationSplits("generated-cars", preset);
    assert.equal(splits.train.count, 16);
    assert.notDeepEqual(Array.from(splits.train.images.subarray(0, 50)), Array.from(splits.test.images.subarray(0, 50)), "test images come from another seed");
    const ctx = { dataset: "generated-cars" as const, run: openRun("models-seg-generated-cars", "t", { root }) };
    const before = tf.memory().numTensors;
    const first = await runSegmentationStudy({ ...ctx, mode: "quick", preset: tiny, splits });
    assert.equal(tf.memory().numTensors, before, "no tensor leaks");
    assert.equal(first.teacher.loaded, false);
    let object = 0;
    for (const m of splits.test.masks) object += m;
    const fraction = object / splits.test.masks.length;
    assert.ok(fraction > 0 && Math.abs(first.baseline.meanIoU - (1 - fraction) / 2) < 1e-12 && first.baseline.dice === 0, JSON.stringify(first.baseline));
    for (const m of ["none", "kd", "ntkd"] as const) {
      const s = first.students[m];
      assert.equal(s.runs.length, 1);
      assert.ok(s.mean >= 0 && s.mean <= 1 && s.dice.mean >= 0 && s.dice.mean <= 1, `${m}: ${s.mean}`);
      assert.equal(s.details[0].history.length, 1);
    }
    const second = await runSegmentationStudy({ ...ctx, mode: "quick", preset: tiny, splits });
    assert.equal(second.teacher.loaded, true);
    assert.equal(second.teacher.meanIoU, first.teacher.meanIoU);
    for (const m of ["none", "kd", "ntkd"] as const) {
      assert.equal(second.students[m].details[0].loaded, true, m);
      assert.equal(second.students[m].mean, first.students[m].mean, m);
    }
    // Another student setting retrains the students but keeps the teacher.
    const other = await runSegmentationStudy({ ...ctx, mode: "quick", preset: { ...tiny, studentLearningRate: 1e-2 }, splits });
    assert.equal(other.teacher.loaded, true);
    assert.equal(other.students.none.details[0].loaded, false);

    const fab = await runSegmentationFabricationStudy(ctx, splits, preset, { mode: "quick", errors: { kernelErrorStd: 0, gain: 1 }, settings: { epochs: 1 } });
    assert.equal(fab.none.mean, fab.simulated.mean, "a device without errors is the simulated student");
    assert.equal(fab.simulated.mean, first.students.ntkd.mean, "the NTKD student is loaded, not retrained");
    for (const k of ["e2e", "ntkd"] as const) assert.ok(fab[k].mean >= 0 && fab[k].mean <= 1, k);
    assert.equal(tf.memory().numTensors, before, "no tensor leaks after fabrication");
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

/** Every image of `ds` as a string key, to find one image in two parts. */
function imageKeys(ds: SegmentationDataset): Set<string> {
  const pixels = ds.height * ds.width * ds.channels;
  return new Set(Array.from({ length: ds.count }, (_, i) => Buffer.from(ds.images.buffer, ds.images.byteOffset + i * pixels * 4, pixels * 4).toString("base64")));
}

function assertDisjoint(parts: Record<string, SegmentationDataset>): void {
  const names = Object.keys(parts);
  for (let a = 0; a < names.length; a++) {
    for (let b = a + 1; b < names.length; b++) {
      const other = imageKeys(parts[names[b]!]!);
      for (const key of imageKeys(parts[names[a]!]!)) assert.ok(!other.has(key), `an image of ${names[a]} is also in ${names[b]}`);
    }
  }
}

test("generated cars: train, validation and test come from disjoint generator seeds", async () => {
  const preset = segmentationPreset("quick", { ...tiny, validationCount: 8 });
  const splits = await loadSegmentationSplits("generated-cars", preset);
  assert.deepEqual([splits.train.count, splits.validation.count, splits.test.count], [16, 8, 8]);
  assertDisjoint({ train: splits.train, validation: splits.validation, test: splits.test });
  const none = await loadSegmentationSplits("generated-cars", segmentationPreset("quick", { ...tiny, validationCount: 0 }));
  assert.equal(none.validation.count, 0);
  assert.throws(() => segmentationPreset("quick", { validationCount: -1 }), /validationCount must be a non-negative integer/);
});

test("Carvana study splits by car: a 64-pair folder (16 cars x 4 views) gives a scaled split with no car in two parts", async () => {
  const root = tempDir("ntkd-seg-carvana-");
  // every view of a car is the same photo, so a car in two parts shows up as one image in two parts
  await writeCarvanaFolder(root, { cars: 16, views: 4, width: 96, height: 64 });
  const saved = process.env.NTKD_CARVANA_DIR;
  process.env.NTKD_CARVANA_DIR = root;
  try {
    const preset = segmentationPreset("quick", { size: 16, trainCount: 256, validationCount: 32, testCount: 48 });
    const splits = await loadSegmentationSplits("carvana", preset);
    // 64 of 336 requested images: targets 48.8/6.1/9.1 -> 11, 2 and 3 whole cars
    assert.deepEqual([splits.train.count, splits.validation.count, splits.test.count], [44, 8, 12]);
    assert.deepEqual([splits.test.height, splits.test.width, splits.test.channels], [16, 16, 3]);
    assertDisjoint({ train: splits.train, validation: splits.validation, test: splits.test });
    const tooSmall = tempDir("ntkd-seg-carvana-small-");
    await writeCarvanaFolder(tooSmall, { cars: 2, views: 2, width: 96, height: 64 });
    process.env.NTKD_CARVANA_DIR = tooSmall;
    await assert.rejects(loadSegmentationSplits("carvana", preset), (e: Error) =>
      e.message.startsWith(`${path.resolve(tooSmall, "train")}: 4 images of 2 cars are too few to split by car (requested 256 train, 32 validation, 48 test)`));
  } finally {
    if (saved === undefined) delete process.env.NTKD_CARVANA_DIR;
    else process.env.NTKD_CARVANA_DIR = saved;
  }
});
