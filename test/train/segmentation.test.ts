import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import { buildSegmentationOnn } from "../../src/models/segmentation/segmentation-onn";
import { buildUNet } from "../../src/models/segmentation/unet";
import { dice, meanIoU } from "../../src/train/segmentation-metrics";
import { gatherBatch } from "../../src/data/batches";
import { runSegmentationComparison } from "../../src/experiments/segmentation-comparison";
import {
  allBackgroundBaseline, evaluateSegmentation, segmentationNtkdObjective, trainSegmentationStudent, trainSegmentationTeacher,
} from "../../src/train/segmentation";

before(async () => {
  await initBackend({ backend: "wasm" });
});

const tinyOnn = (seed = 2) => buildSegmentationOnn({ inputShape: [16, 16, 3], groups: [2, 4, 8], decoderWidths: [8, 4], seed });
const tinyUNet = (seed = 9) => buildUNet({ inputShape: [16, 16, 3], depth: 1, baseFilters: 4, seed });
const weightsOf = (ws: { read(): tf.Tensor }[]) => ws.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));

test("evaluateSegmentation equals mIoU and Dice of the thresholded predictions computed independently; NaN outputs throw", () => {
  const ds = generateSegmentationSet({ count: 6, height: 16, width: 16, seed: 3 });
  // a 1x1 convolution with known weights: logit = r − g + 0.5·b − 0.1
  const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 1, kernelSize: 1, weights: [tf.tensor4d([1, -1, 0.5], [1, 1, 3, 1]), tf.tensor1d([-0.1])] })] });
  const pred = new Float32Array(ds.count * 256);
  for (let p = 0; p < pred.length; p++) pred[p] = ds.images[3 * p] - ds.images[3 * p + 1] + 0.5 * ds.images[3 * p + 2] - 0.1 > 0 ? 1 : 0;
  const ev = evaluateSegmentation(model, ds, { batchSize: 4 });
  assert.ok(Math.abs(ev.meanIoU - meanIoU(pred, ds.masks)) < 1e-12);
  assert.ok(Math.abs(ev.dice - dice(pred, ds.masks)) < 1e-12);
  assert.ok(ev.meanIoU > 0 && ev.meanIoU < 1);
  assert.equal(ev.count, 6);
  const nanModel = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 1, kernelSize: 1, weights: [tf.tensor4d([NaN, 0, 0], [1, 1, 3, 1]), tf.tensor1d([0])] })] });
  assert.throws(() => evaluateSegmentation(nanModel, ds), /NaN/);
  assert.throws(() => evaluateSegmentation(model, { ...ds, masks: ds.masks.subarray(1) }), /mask values/);
  model.dispose();
  nanModel.dispose();
});

test("allBackgroundBaseline: hand-counted pixels, equal to evaluating a model that predicts background everywhere", () => {
  // two 2x2 images with 1 and 2 object pixels: 3 of 8 object, background IoU 5/8, object IoU 0
  const ds = { name: "hand", images: new Float32Array(8 * 3), masks: Uint8Array.from([1, 0, 0, 0, 1, 1, 0, 0]), count: 2, height: 2, width: 2, channels: 3 };
  assert.deepEqual(allBackgroundBaseline(ds), { meanIoU: 5 / 16, dice: 0, objectFraction: 3 / 8 });
  assert.deepEqual(allBackgroundBaseline({ ...ds, masks: new Uint8Array(8) }), { meanIoU: 1, dice: 1, objectFraction: 0 }, "no object pixel: nothing to miss");
  const cars = generateSegmentationSet({ count: 5, height: 16, width: 16, seed: 4 });
  const background = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 1, kernelSize: 1, weights: [tf.zeros([1, 1, 3, 1]), tf.tensor1d([-1])] })] });
  const ev = evaluateSegmentation(background, cars);
  const b = allBackgroundBaseline(cars);
  assert.ok(Math.abs(b.meanIoU - ev.meanIoU) < 1e-12 && b.dice === ev.dice && b.dice === 0, `${JSON.stringify(b)} vs ${ev.meanIoU}`);
  assert.ok(b.objectFraction > 0.05 && b.objectFraction < 0.5 && Math.abs(b.meanIoU - (1 - b.objectFraction) / 2) < 1e-12);
  assert.throws(() => allBackgroundBaseline({ ...ds, masks: ds.masks.subarray(1) }), /allBackgroundBaseline dataset/);
  background.dispose();
});

test("segmentation training lowers the loss on a tiny generated set (U-Net teacher, BCE + Dice) and keeps the tensor count flat", async () => {
  const train = generateSegmentationSet({ count: 16, height: 16, width: 16, seed: 1 });
  const model = tinyUNet();
  const counts: number[] = [];
  const r = await trainSegmentationTeacher({
    model, train, epochs: 8, batchSize: 8, learningRate: 1e-2, seed: 3, loss: { diceWeight: 0.5 },
    onBatchEnd: () => counts.push(tf.memory().numTensors),
  });
  const losses = r.history.map((h) => h.trainLoss);
  assert.ok(losses[losses.length - 1] < 0.8 * losses[0], `loss did not fall: ${losses.map((l) => l.toFixed(3)).join(" -> ")}`);
  assert.ok(counts.slice(1).every((c) => c === counts[1]), `tensor count changed during training: ${counts.join(", ")}`);
  assert.equal(r.epochsCompleted, 8);
  model.dispose();
});

test("student training, KD and NTKD over pixels: finite losses, parts logged, tensor count flat, frozen optics stay put", async () => {
  const train = generateSegmentationSet({ count: 16, height: 16, width: 16, seed: 2 });
  const teacher = tinyUNet();
  for (const method of ["kd", "ntkd"] as const) {
    const onn = tinyOnn();
    const counts: number[] = [];
    const r = await trainSegmentationStudent({
      student: onn, method, teacher, train, epochs: 2, batchSize: 8, seed: 4, ntkd: { probes: 2 },
      onBatchEnd: () => counts.push(tf.memory().numTensors),
    });
    assert.ok(r.history.every((h) => Number.isFinite(h.trainLoss)), `${method}: non-finite loss`);
    if (method === "ntkd") {
      assert.ok(r.history[0].parts.ntk > 0 && r.history[0].parts.beta > 0, `ntkd parts: ${JSON.stringify(r.history[0].parts)}`);
    } else {
      assert.ok(r.history[0].parts.kd > 0);
    }
    assert.ok(counts.slice(1).every((c) => c === counts[1]), `${method}: tensor count changed: ${counts.join(", ")}`);
    onn.dispose();
  }
  // backend-only (the fabrication stage): the optics do not move, the decoder does
  const onn = tinyOnn();
  const front = weightsOf(onn.trainableWeights("frontend"));
  const back = weightsOf(onn.trainableWeights("backend"));
  await trainSegmentationStudent({ student: onn, method: "ntkd", part: "backend", teacher, train, epochs: 1, batchSize: 8, ntkd: { probes: 1 } });
  weightsOf(onn.trainableWeights("frontend")).forEach((w, k) => assert.deepEqual(w, front[k]));
  assert.ok(weightsOf(onn.trainableWeights("backend")).some((w, k) => w.some((v, i) => v !== back[k][i])));
  await assert.rejects(trainSegmentationStudent({ student: onn, method: "kd", train, epochs: 1 }), /needs a trained teacher/);
  await assert.rejects(trainSegmentationStudent({ student: onn.model, method: "none", part: "backend", train, epochs: 1 }), /needs a student with separate frontend and backend/);
  onn.dispose();
  teacher.dispose();
});

test("segmentation NTKD takes the teacher's sketch from the dataset cache that the loop prepares, as classification does", () => {
  const train = generateSegmentationSet({ count: 6, height: 16, width: 16, seed: 4 });
  const teacher = tinyUNet(5);
  const onn = tinyOnn(6);
  const indices = Int32Array.from([4, 1, 3]);
  const { x, y } = gatherBatch(train, indices);
  const ctx = { x, y, indices, epoch: 0, batch: 0, step: 0, seed: 3 };
  const weights = onn.trainableWeights("all");
  const cached = segmentationNtkdObjective({ teacher, probes: 1, beta: 1 });
  assert.throws(() => cached.compute(onn.model, weights, ctx), /teacherCache "dataset" needs prepare/);
  cached.prepare!({ train, seed: 3 });
  const r = cached.compute(onn.model, weights, ctx);
  assert.ok(Number.isFinite(r.loss) && r.parts.ntk > 0, JSON.stringify(r.parts));
  // Per-batch probes give another teacher kernel, hence another NTK term.
  const perBatch = segmentationNtkdObjective({ teacher, probes: 1, beta: 1, teacherCache: "none" }).compute(onn.model, weights, ctx);
  assert.notEqual(perBatch.parts.ntk, r.parts.ntk);
  assert.equal(perBatch.parts.task, r.parts.task);
  tf.dispose([x, y, ...r.grads, ...perBatch.grads]);
  onn.dispose();
  teacher.dispose();
});

test("runSegmentationComparison trains and evaluates each requested method on the same data", async () => {
  const train = generateSegmentationSet({ count: 8, height: 16, width: 16, seed: 8 });
  const testSet = generateSegmentationSet({ count: 4, height: 16, width: 16, seed: 9 });
  const lines: string[] = [];
  const r = await runSegmentationComparison({
    train, test: testSet, teacher: { depth: 1, baseFilters: 4 }, student: { groups: [2, 4, 8], decoderWidths: [8, 4] },
    teacherEpochs: 1, studentEpochs: 1, methods: ["none", "kd"], log: (m) => lines.push(m),
  });
  assert.deepEqual(Object.keys(r.students), ["none", "kd"]);
  for (const e of [r.teacher, r.students.none!, r.students.kd!]) {
    assert.ok(e.evaluation.meanIoU >= 0 && e.evaluation.meanIoU <= 1);
    assert.equal(e.evaluation.count, 4);
  }
  assert.ok(lines.some((l) => l.startsWith("kd test mIoU")));
  r.teacherModel.dispose();
  await assert.rejects(runSegmentationComparison({ train, test: generateSegmentationSet({ count: 2, height: 8, width: 8 }) }), /expected the same shape/);
});
