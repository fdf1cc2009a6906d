import { test } from "node:test";
import assert from "node:assert/strict";
import { sweepRows, widthRobustness, widthSweepStudentPreset, type FabricationContext } from "../../src/experiments/fabrication";

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
  assert.deepEqual(widthSweepStudentPreset("quick"), { sizes: { trainCount: 10000, validationCount: 5000 }, studentEpochs: 3 });
  assert.deepEqual(widthSweepStudentPreset("smoke"), {});
  assert.deepEqual(widthSweepStudentPreset("full"), {});
  const ctx = {} as FabricationContext;
  await assert.rejects(widthRobustness(ctx, [], { mode: "smoke" }), /widthRobustness: widths must be a non-empty list of integers >= 1, got \[\]/);
  await assert.rejects(widthRobustness(ctx, [4, 0], { mode: "smoke" }), /got \[4,0\]/);
});
