import { test } from "node:test";
import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs";
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import { buildSegmentationOnn, type SegmentationOnnOptions } from "../../src/models/segmentation/segmentation-onn";
import { fabricateSegmentationOnn } from "../../src/experiments/segmentation-fabrication";
import { captureSegmentationDataset, compensate, fabricatedSegmentationModel } from "../../src/fabrication/compensation";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import type { SegmentationDataset } from "../../src/data/types";

const architecture: SegmentationOnnOptions = { inputShape: [8, 8, 3], groups: [2, 3, 2], decoderWidths: [4, 4], seed: 3 };

function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function randomSet(count: number, seed: number): SegmentationDataset {
  const images = tf.tidy(() => tf.randomUniform([count, 8, 8, 3], 0, 1, "float32", seed).dataSync() as Float32Array);
  return { name: "random", images: Float32Array.from(images), masks: new Uint8Array(count * 64), count, height: 8, width: 8, channels: 3 };
}

test("without errors, each group's binned device senses exactly the ONN's map, and the packed capture gives the ONN's masks", async () => {
  await initBackend({ backend: "cpu" });
  const student = buildSegmentationOnn(architecture);
  const devices = fabricateSegmentationOnn(student, {});
  assert.deepEqual(devices.map((d) => d.binning), [1, 2, 4]);
  assert.deepEqual(devices.map((d) => d.kernelShape[0]), [3, 5, 9], "3×3 taps 1, 2 and 4 pixels apart on the full-resolution sensor");
  const ds = randomSet(2, 11);
  const x = tf.tensor4d(ds.images, [2, 8, 8, 3]);
  const maps = student.sense(x);
  devices.forEach((d, g) => {
    const sensed = d.sense(x);
    assert.deepEqual(sensed.shape, maps[g].shape);
    assert.ok(maxAbsDiff(sensed, maps[g]) < 1e-5, `group ${g}: ${maxAbsDiff(sensed, maps[g])}`);
    sensed.dispose();
  });
  const captured = captureSegmentationDataset(ds, devices);
  assert.equal(captured.channels, 3 + 3 * (2 + 3 + 2));
  const model = fabricatedSegmentationModel(student, captured);
  const packed = tf.tensor4d(captured.images, [2, 8, 8, captured.channels]);
  const [a, b] = [student.apply(x), model.apply(packed) as Tensor];
  assert.ok(maxAbsDiff(a, b) < 1e-5, `masks differ by ${maxAbsDiff(a, b)}`);
  tf.dispose([x, packed, a, b, ...maps]);
  devices.forEach((d) => d.dispose());
  student.dispose();
});

test("the full error model acts on every group: gain scales, misalignment, noise and bits change the capture, seeds repeat", async () => {
  await initBackend({ backend: "cpu" });
  const student = buildSegmentationOnn(architecture);
  const ds = randomSet(1, 12);
  const clean = captureSegmentationDataset(ds, fabricateSegmentationOnn(student, {}));
  const halfDevices = fabricateSegmentationOnn(student, { gain: 0.5 });
  const half = captureSegmentationDataset(ds, halfDevices);
  half.images.forEach((v, i) => {
    if (i % half.channels >= 3) assert.ok(Math.abs(v - 0.5 * clean.images[i]) < 1e-6, "gain alone halves every sensor value");
  });
  const full = { kernelErrorStd: 0.5, gain: 0.7, misalignment: { shiftRowsPx: 1, shiftColsPx: 0.5, rotationDeg: 1 }, noiseStd: 0.01, bitDepth: 6, seed: 4 };
  const [a, b] = [fabricateSegmentationOnn(student, full), fabricateSegmentationOnn(student, full)];
  assert.deepEqual(Array.from(a[1].fabricated), Array.from(b[1].fabricated), "same seed, same device");
  assert.ok(a[0].fabricated.some((v, j) => Math.abs(v - a[0].designed[j]) > 1e-3), "δ changes the PSFs");
  assert.ok(a[0].fabricated.every((v) => v >= 0));
  const [ca, cb] = [captureSegmentationDataset(ds, a, { noiseSeed: 1 }), captureSegmentationDataset(ds, b, { noiseSeed: 1 })];
  assert.deepEqual(Array.from(ca.images), Array.from(cb.images), "same seeds, same capture");
  const levels = 2 ** 6 - 1;
  // Group 0 is read without binning: its values sit on the 6-bit grid.
  for (let p = 0; p < 64; p++) for (let ch = 3; ch < 9; ch++) {
    const v = ca.images[p * ca.channels + ch] * levels;
    assert.ok(Math.abs(v - Math.round(v)) < 1e-3, `6-bit quantised value ${v / levels}`);
  }
  const without = captureSegmentationDataset(ds, fabricateSegmentationOnn(student, { ...full, misalignment: {} }), { noiseSeed: 1 });
  assert.ok(ca.images.some((v, i) => Math.abs(v - without.images[i]) > 1e-3), "misalignment moves the capture");
  [...halfDevices, ...a, ...b].forEach((d) => d.dispose());
  student.dispose();
});

test("segmentation compensation fine-tunes only the decoder on captures (e2e and NTKD) and reports mIoU", async () => {
  await initBackend({ backend: "cpu" });
  const student = buildSegmentationOnn(architecture);
  const teacher = buildSegmentationOnn({ ...architecture, seed: 9 }).model;
  const train = generateSegmentationSet({ count: 8, height: 8, width: 8, seed: 0 });
  const devices = fabricateSegmentationOnn(student, { kernelErrorStd: 0.3, gain: 0.6, misalignment: { shiftRowsPx: 1 }, noiseStd: 0.01, bitDepth: 8, seed: 2 });
  const captured = captureSegmentationDataset(train, devices, { noiseSeed: 3 });
  const values = (ws: { read(): Tensor }[]): number[][] => ws.map((w) => Array.from(w.read().dataSync()));
  const optics = values(student.frontend.weights);
  const decoder = values(student.backend.weights);
  const none = await compensate({ student, train: captured, test: captured, method: "none" });
  assert.equal(none.fineTuneCount, 0);
  assert.ok(none.evaluation.meanIoU >= 0 && none.evaluation.meanIoU <= 1);
  for (const method of ["e2e", "ntkd"] as const) {
    const r = await compensate({ student, teacher, train: captured, test: captured, method, fraction: 1, epochs: 1, batchSize: 4, seed: 1, ntkd: { probes: 1 } });
    assert.equal(r.fineTuneCount, 8);
    assert.equal(r.training?.history.length, 1);
    assert.deepEqual(values(student.frontend.weights), optics, `${method} changed the optics`);
    assert.ok(values(student.backend.weights).some((w, i) => w.some((v, j) => v !== decoder[i][j])), `${method} did not change the decoder`);
  }
  await assert.rejects(compensate({ student, train: captured, test: captured, method: "ntkd", epochs: 1 }), /needs the trained teacher/);
  devices.forEach((d) => d.dispose());
  student.dispose();
  teacher.dispose();
});
