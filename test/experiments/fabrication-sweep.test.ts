import { test } from "node:test";
import assert from "node:assert/strict";
import { sweepRows, widthRobustness, widthSweepStudentPreset, withTestImages, type FabricationContext } from "../../src/experiments/fabrication";

test("sweep chart rows: one per point and measured method, in percent; a method a point did not measure gets no row", () => {
  const rows = sweepRows([
    { value: 0, accuracy: { none: 0.96, ntkd: 0.965 } },
    { value: 1, accuracy: { none: 0.5, e2e: 0.9 } },
    { value: 2, accuracy: { none: 0.25 } },
  ]);
  assert.deepEqual(rows, [
    { value: 0, accuracy: 96, compensation: "none" },
    { value: 0, accuracy: 96.5, compensation: "NTKD" },
    { value: 1, accuracy: 50, compensation: "none" },
    { value: 1, accuracy: 90, compensation: "end-to-end" },
    { value: 2, accuracy: 25, compensation: "none" },
  ]);
});

test("the width sweep's students: a shorter protocol in quick mode, the study's own otherwise; bad widths are refused", async () => {
  assert.deepEqual(widthSweepStudentPreset("quick"), { sizes: { trainCount: 5000, validationCount: 5000 }, studentEpochs: 3 });
  assert.deepEqual(widthSweepStudentPreset("smoke"), {});
  assert.deepEqual(widthSweepStudentPreset("full"), {});
  const ctx = {} as FabricationContext;
  await assert.rejects(widthRobustness(ctx, [], { mode: "smoke" }), /widthRobustness: widths must be a non-empty list of integers >= 1, got \[\]/);
  await assert.rejects(widthRobustness(ctx, [4, 0], { mode: "smoke" }), /got \[4,0\]/);
});

test("withTestImages cuts only the test split, class-stratified, and keeps a split no larger than asked", () => {
  const labels = new Int32Array(100).map((_, i) => i % 10);
  const test = { count: 100, height: 1, width: 1, channels: 1, images: new Float32Array(100).map((_, i) => i), labels, classNames: [..."0123456789"] };
  const ctx = { splits: { name: "mnist", train: test, validation: test, test } } as unknown as FabricationContext;
  const cut = withTestImages(ctx, 20);
  assert.equal(cut.splits.test.count, 20);
  // Two images of each class.
  assert.deepEqual([...cut.splits.test.labels].sort(), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
  assert.equal(cut.splits.train, test);
  assert.equal(withTestImages(ctx, 100), ctx);
  assert.throws(() => withTestImages(ctx, 0), /withTestImages: count must be an integer >= 1, got 0/);
});
