import { test, before } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import { buildSegmentationOnn, FIRST_SEGMENTATION_DECODER, type SegmentationOnnOptions } from "../../src/models/segmentation/segmentation-onn";
import { segmentationPreset } from "../../src/experiments/segmentation-study";
import { allBackgroundBaseline, evaluateSegmentation, trainSegmentationStudent } from "../../src/train/segmentation";

before(async () => {
  await initBackend({ backend: "wasm" });
});

/** Test mIoU of a no-transfer ONN student after 4 epochs on 96 generated 16x16 cars. */
async function studentMeanIoU(architecture: Partial<SegmentationOnnOptions>, diceWeight: number, seed: number): Promise<number> {
  const train = generateSegmentationSet({ count: 96, height: 16, width: 16, seed: 0 });
  const onn = buildSegmentationOnn({ inputShape: [16, 16, 3], groups: [2, 4, 8], decoderWidths: [16, 8], seed, ...architecture });
  try {
    await trainSegmentationStudent({ student: onn, method: "none", train, epochs: 4, batchSize: 8, learningRate: 3e-3, seed, loss: { diceWeight } });
    return evaluateSegmentation(onn, TEST).meanIoU;
  } finally {
    onn.dispose();
  }
}

const TEST = generateSegmentationSet({ count: 32, height: 16, width: 16, seed: 1 << 20 });

test("an ONN student with the default decoder and the preset's BCE + Dice clears the all-background mIoU by 10 points; the first decoder with BCE did not", async () => {
  const floor = allBackgroundBaseline(TEST).meanIoU;
  const seeds = [0, 1, 2];
  const before = tf.memory().numTensors;
  const ours: number[] = [];
  const first: number[] = [];
  for (const seed of seeds) {
    ours.push(await studentMeanIoU({}, segmentationPreset("quick").diceWeight, seed));
    first.push(await studentMeanIoU(FIRST_SEGMENTATION_DECODER, 0, seed));
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const show = (v: number[]) => v.map((x) => (100 * x).toFixed(1)).join(", ");
  // measured: all background 43.6, first decoder + BCE 46.3 / 43.6 / 43.6, ours 55.1 / 61.6 / 64.4
  assert.ok(mean(ours) >= floor + 0.1, `ours ${show(ours)} vs all background ${(100 * floor).toFixed(1)}`);
  assert.ok(mean(first) < floor + 0.05, `first decoder ${show(first)} (the regression this guards against is it near ${(100 * floor).toFixed(1)})`);
  ours.forEach((v, i) => assert.ok(v > first[i], `seed ${seeds[i]}: ${v} vs first ${first[i]}`));
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});
