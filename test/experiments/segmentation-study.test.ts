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

const tiny: Partial<SegmentationPreset> = {
  size: 8, trainCount: 16, testCount: 8, teacherDepth: 1, teacherBaseFilters: 4, teacherEpochs: 1, studentEpochs: 1,
  groups: [2, 3], decoderWidths: [4], seeds: [0], ntkd: { probes: 2, betaScale: 0.1 },
};

test("segmentationPreset checks its fields and the image size against the architectures", () => {
  assert.equal(segmentationPreset("quick").size, 32);
  assert.deepEqual(segmentationPreset("full").groups, [8, 16, 32]);
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
