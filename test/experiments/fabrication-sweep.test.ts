import { test } from "node:test";
import assert from "node:assert/strict";
import { sweepRows } from "../../src/experiments/fabrication";

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
