import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { loadMnist } from "../../src/data/mnist";
import { buildCompressedMetaOnn } from "../../src/models/students";
import { buildLeNet5 } from "../../src/models/teachers/lenet";
import { FabricatedDevice } from "../../src/fabrication/device";
import { captureDataset, compensate, restoreBackend, snapshotBackend } from "../../src/fabrication/compensation";
import { calibrate } from "../../src/fabrication/calibrate";
import { trainStudent } from "../../src/train/api";
import { evaluate } from "../../src/train/metrics";
import { sampleFraction } from "../../src/data/splits";

const values = (ws: { read(): tf.Tensor }[]): number[][] => ws.map((w) => Array.from(w.read().dataSync()));

test("compensation fine-tunes only the backend (e2e and NTKD), frontend weights unchanged", async () => {
  await initBackend({ backend: "cpu" });
  const train = loadMnist({ split: "train", limit: 160 });
  const testSet = loadMnist({ split: "test", limit: 64 });
  const atStart = tf.memory().numTensors;
  const student = buildCompressedMetaOnn({ kernels: 4, hidden: 16, seed: 1 });
  const teacher = buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
  const device = FabricatedDevice.fromFrontend(student.frontend, { kernelErrorStd: 0.2, gain: 0.9, misalignment: { shiftColsPx: 1 }, noiseStd: 0.01, seed: 4 });
  const capturedTrain = captureDataset(train, device);
  const capturedTest = captureDataset(testSet, device);
  assert.equal(capturedTrain.channels, 1 + 4);
  const frontendBefore = values(student.frontend.weights);
  const start = snapshotBackend(student);
  const tensorsBefore = tf.memory().numTensors;
  const none = await compensate({ student, train: capturedTrain, test: capturedTest, method: "none" });
  assert.equal(none.fineTuneCount, 0);
  for (const method of ["e2e", "ntkd"] as const) {
    restoreBackend(student, start);
    const r = await compensate({
      student, teacher, train: capturedTrain, test: capturedTest, method, fraction: 0.5, epochs: 1, batchSize: 16, seed: 3,
      ntkd: { estimator: "sketch", probes: 2 },
    });
    assert.ok(Math.abs(r.fineTuneCount - 80) <= 10, `fine-tune share ${r.fineTuneCount} of 160 at fraction 0.5 (stratified per class)`);
    assert.ok(r.evaluation.accuracy >= 0 && r.evaluation.accuracy <= 1);
    assert.deepEqual(values(student.frontend.weights), frontendBefore, `${method} changed the frontend`);
    const after = snapshotBackend(student);
    assert.ok(after.some((w, i) => w.some((v, j) => v !== start[i][j])), `${method} did not change the backend`);
  }
  assert.equal(tf.memory().numTensors, tensorsBefore, "compensation keeps no tensor");
  // Regression: the per-call views once kept the backend's and teacher's reference counts up, so dispose() freed nothing.
  device.dispose();
  student.dispose();
  teacher.dispose();
  assert.equal(tf.memory().numTensors, atStart, "disposing the student and teacher after compensation frees every weight");
});

test("calibration recovers the gain and a sub-pixel misalignment from a few captures", async () => {
  await initBackend({ backend: "cpu" });
  const images = loadMnist({ split: "test", limit: 6 });
  const student = buildCompressedMetaOnn({ kernels: 3, hidden: 8, seed: 5 });
  const designedDevice = FabricatedDevice.fromFrontend(student.frontend);
  const fabricated = FabricatedDevice.fromFrontend(student.frontend, { gain: 0.8, misalignment: { shiftRowsPx: 1.25, shiftColsPx: -0.5 }, noiseStd: 0.001, seed: 1 });
  const frames = { designed: designedDevice.capture(images), captured: fabricated.capture(images), count: 6, height: 28, width: 28, channels: 3 };
  const cal = calibrate(frames, { maxRotationDeg: 0 });
  assert.ok(Math.abs(cal.gain - 0.8) < 0.02, `gain ${cal.gain}`);
  assert.ok(Math.abs(cal.misalignment.shiftRowsPx - 1.25) <= 0.125, `rows ${cal.misalignment.shiftRowsPx}`);
  assert.ok(Math.abs(cal.misalignment.shiftColsPx + 0.5) <= 0.125, `cols ${cal.misalignment.shiftColsPx}`);
  assert.ok(cal.relativeResidual < 0.05);
  // The correction maps captures back: the residual to the design drops.
  const corrected = cal.correction.transform!(frames.captured.map((v) => v * cal.correction.scale!), 6, 28, 28, 3);
  const rel = (a: Float32Array): number => Math.sqrt(a.reduce((s, v, i) => s + (v - frames.designed[i]) ** 2, 0) / frames.designed.reduce((s, v) => s + v * v, 0));
  assert.ok(rel(corrected) < 0.5 * rel(frames.captured), `corrected ${rel(corrected)} vs raw ${rel(frames.captured)}`);
  designedDevice.dispose();
  fabricated.dispose();
});

test("compensation recovers accuracy: on a seeded device with errors, fine-tuned accuracy clearly beats uncompensated", async () => {
  // wasm: this test trains a student first, which the cpu backend makes minutes long.
  await initBackend({ backend: "wasm" });
  try {
    const train = loadMnist({ split: "train", limit: 1200 });
    const testSet = loadMnist({ split: "test", limit: 300 });
    const student = buildCompressedMetaOnn({ kernels: 4, kernelSize: 5, hidden: 32, seed: 7 });
    await trainStudent({ student, method: "none", train, epochs: 5, batchSize: 32, learningRate: 3e-3, seed: 1 });
    const simulated = evaluate(student, testSet).accuracy;
    assert.ok(simulated > 0.75, `the simulated student must work before fabrication (${simulated})`);
    // Errors a digital backend can learn around: light loss, a 2 px / 3° misalignment, stray light, noise, 6 bits.
    const device = FabricatedDevice.fromFrontend(student.frontend, {
      kernelErrorStd: 0.3, gain: 0.6, misalignment: { shiftRowsPx: 2, shiftColsPx: -1, rotationDeg: 3 }, noiseStd: 0.01, bitDepth: 6, seed: 3,
    });
    const capturedTrain = captureDataset(sampleFraction(train, 0.25, 2), device, { noiseSeed: 5 });
    const capturedTest = captureDataset(testSet, device, { noiseSeed: 6 });
    const start = snapshotBackend(student);
    const none = await compensate({ student, train: capturedTrain, test: capturedTest, method: "none" });
    const e2e = await compensate({ student, train: capturedTrain, test: capturedTest, method: "e2e", fraction: 1, epochs: 8, batchSize: 32, learningRate: 3e-3, seed: 4 });
    restoreBackend(student, start);
    assert.ok(none.evaluation.accuracy < simulated - 0.1, `the errors must hurt: simulated ${simulated}, fabricated ${none.evaluation.accuracy}`);
    assert.ok(e2e.evaluation.accuracy > none.evaluation.accuracy + 0.15, `compensated ${e2e.evaluation.accuracy} vs uncompensated ${none.evaluation.accuracy}`);
    device.dispose();
    student.dispose();
  } finally {
    await initBackend({ backend: "cpu" });
  }
});
