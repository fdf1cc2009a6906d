import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import { overlayMask, maskOverlayGrid, segmentationRows, segmentationMarkdown } from "../../src/experiments/segmentation-report";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import { summarizeRuns } from "../../src/experiments/stats";
import type { SegmentationStudyResult } from "../../src/experiments/segmentation-study";

test("overlayMask blends only masked pixels, hand-computed, and expands grey to RGB", () => {
  const rgb = overlayMask([0.2, 0.4, 0.6, 1, 1, 1], [1, 0], 1, 2, 3, [1, 0, 0], 0.5);
  assert.deepEqual(Array.from(rgb.values).map((v) => +v.toFixed(6)), [0.6, 0.2, 0.3, 1, 1, 1]);
  const grey = overlayMask([0.5, 0.25], [0, 1], 1, 2, 1, [0, 1, 0], 1);
  assert.deepEqual(Array.from(grey.values), [0.5, 0.5, 0.5, 0, 1, 0]);
  assert.throws(() => overlayMask([0, 0, 0], [1, 0], 1, 2, 3), /overlayMask: a 1x2x3 image needs 6 values and 2 mask values, got 3 and 2/);
  assert.throws(() => overlayMask([0, 0], [1, 0], 1, 2, 1, [1, 0, 0], 2), /opacity must be in \[0, 1\]/);
});

test("maskOverlayGrid shows the image, the truth and one prediction per network, thresholded at logit 0", async () => {
  await initBackend({ backend: "cpu" });
  const ds = generateSegmentationSet({ count: 3, height: 8, width: 8, seed: 5 });
  // A "network" that predicts object everywhere: a 1x1 conv with zero weights and bias 1.
  const everywhere = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 1, kernelSize: 1, kernelInitializer: "zeros", biasInitializer: "ones" })] });
  const before = tf.memory().numTensors;
  const g = maskOverlayGrid([{ label: "all", model: everywhere }], ds, { indices: [2], opacity: 1, color: [0, 0, 1] });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(g.columns, 3);
  assert.deepEqual(g.labels, ["#2", "truth", "all"]);
  const pix = 64;
  const image = ds.images.subarray(2 * pix * 3, 3 * pix * 3);
  assert.deepEqual(Array.from(g.images[0].values), Array.from(image));
  for (let p = 0; p < pix; p++) {
    assert.deepEqual([0, 1, 2].map((c) => g.images[2].values[p * 3 + c]), [0, 0, 1]);
    const truth = ds.masks[2 * pix + p] === 1;
    assert.equal(g.images[1].values[p * 3 + 2], truth ? 1 : image[p * 3 + 2]);
  }
  assert.throws(() => maskOverlayGrid([], ds, { indices: [3] }), /index 3 is outside 0..2/);
  everywhere.dispose();
});

test("segmentationRows puts our mIoU and Dice beside the paper's Carvana column", () => {
  const s = (v: number[]) => summarizeRuns(v);
  const result = {
    teacher: { meanIoU: 0.9, dice: 0.8 },
    students: {
      none: { ...s([0.5, 0.7]), dice: s([0.4, 0.4]) },
      kd: { ...s([0.6]), dice: s([0.5]) },
      ntkd: { ...s([0.65]), dice: s([0.55]) },
    },
  } as unknown as SegmentationStudyResult;
  const rows = segmentationRows(result);
  assert.deepEqual(rows.map((r) => [r.method, r.meanIoU, r.dice, r.paperCarvana, r.seeds]), [
    ["Teacher (U-Net)", "90.0", "80.0", "95.4", 1],
    ["No transfer", "60.0 ± 14.1", "40.0 ± 0.0", "74.3 ± 0.4", 2],
    ["KD", "60.0", "50.0", "86.7 ± 0.4", 1],
    ["NTKD", "65.0", "55.0", "91.5 ± 0.4", 1],
  ]);
  assert.match(segmentationMarkdown(rows, "T", "generated-cars"), /\| mIoU \(ours, generated-cars\) \|[^\n]*paper mIoU \(Carvana\)/);
});
