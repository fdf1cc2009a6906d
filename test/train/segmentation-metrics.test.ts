import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { binaryConfusions, dice, meanIoU } from "../../src/train/segmentation-metrics";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);

// Two 2x2 images, flattened. Hand count, pooled over both images:
//   image 0: pred 1 1 0 0 vs target 1 0 0 0 -> TP 1, FP 1, FN 0, TN 2
//   image 1: pred 0 0 0 0 vs target 1 1 0 0 -> TP 0, FP 0, FN 2, TN 2
//   pooled: TP 1, FP 1, FN 2, TN 4
const pred = Float32Array.from([0.9, 0.7, 0.2, 0.5, 0.1, 0.4, 0, 0]); // 0.5 is not above the threshold
const target = Uint8Array.from([1, 0, 0, 0, 1, 1, 0, 0]);

test("pooled mIoU and Dice on hand-counted masks", () => {
  assert.deepEqual(binaryConfusions(pred, target, { pixelsPerImage: 4 }), [
    { truePositive: 1, falsePositive: 1, falseNegative: 0, trueNegative: 2 },
    { truePositive: 0, falsePositive: 0, falseNegative: 2, trueNegative: 2 },
  ]);
  // object IoU 1 / (1 + 1 + 2) = 0.25; background IoU 4 / (4 + 1 + 2) = 4/7
  close(meanIoU(pred, target), (0.25 + 4 / 7) / 2);
  // Dice 2 / (2 + 1 + 2) = 0.4
  close(dice(pred, target), 0.4);
});

test("per-image mIoU and Dice average the image scores", () => {
  // image 0: object 1/2, background 2/3; image 1: object 0/2 = 0, background 2/4 = 0.5
  close(meanIoU(pred, target, { perImage: true, pixelsPerImage: 4 }), ((0.5 + 2 / 3) / 2 + (0 + 0.5) / 2) / 2);
  // image 0: 2/3; image 1: 0
  close(dice(pred, target, { perImage: true, pixelsPerImage: 4 }), (2 / 3 + 0) / 2);
});

test("edge cases: perfect, all-background prediction, empty masks, custom threshold", () => {
  const car = Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]); // 20% car
  close(meanIoU(car, car), 1);
  close(dice(car, car), 1);
  close(meanIoU(new Uint8Array(10), car), (0 + 8 / 10) / 2); // 0.4, not the 0.8 pixel accuracy
  close(dice(new Uint8Array(10), car), 0);
  close(meanIoU(new Uint8Array(4), new Uint8Array(4)), 1); // absent class counts as perfect
  close(dice(new Uint8Array(4), new Uint8Array(4)), 1);
  close(dice(Float32Array.from([0.3, 0.1]), Uint8Array.from([1, 0]), { threshold: 0.2 }), 1);
});

test("bad input: NaN, length mismatch, bad pixelsPerImage", () => {
  assert.throws(() => meanIoU(Float32Array.from([NaN, 0]), Uint8Array.from([1, 0])), /pred\[0\] is NaN/);
  assert.throws(() => dice(Float32Array.from([1]), Uint8Array.from([1, 0])), /1 and 2 values; expected the same number/);
  assert.throws(() => dice(pred, target, { pixelsPerImage: 3 }), /pixelsPerImage: got 3; expected a positive divisor of the mask length 8/);
});

test("tensors give the same numbers as arrays, per image along the first axis, without leaking", async () => {
  await initBackend({ backend: "cpu" });
  const before = tf.memory().numTensors;
  const p = tf.tensor4d(pred, [2, 2, 2, 1]);
  const t = tf.tensor4d(Float32Array.from(target), [2, 2, 2, 1]);
  close(meanIoU(p, t), (0.25 + 4 / 7) / 2);
  close(dice(p, t), 0.4);
  close(meanIoU(p, t, { perImage: true }), meanIoU(pred, target, { perImage: true, pixelsPerImage: 4 }));
  close(dice(p, t, { perImage: true }), (2 / 3) / 2);
  const bad = tf.tensor4d([NaN, 0, 0, 0, 0, 0, 0, 0], [2, 2, 2, 1]);
  assert.throws(() => meanIoU(bad, t), /contains NaN/);
  const wrongShape = tf.zeros([2, 4]);
  assert.throws(() => dice(p, wrongShape), /shapes \[2,2,2,1\] and \[2,4\]; expected equal shapes/);
  assert.throws(() => dice(p, target), /one is a tensor and the other is not/);
  tf.dispose([p, t, bad, wrongShape]);
  assert.equal(tf.memory().numTensors, before);
});
