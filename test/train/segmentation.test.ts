import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import type { SegmentationDataset } from "../../src/data/types";
import { buildSegmentationOnn } from "../../src/models/segmentation/segmentation-onn";
import { buildUNet } from "../../src/models/segmentation/unet";
import { readCheckpoint } from "../../src/train/checkpoint";
import { TrainingDivergedError } from "../../src/train/loop";
import { ntkdLoss, ntkdLossAndGrads, resolveNtkMatchOptions, teacherKernel } from "../../src/distill/ntkd";
import { dice, meanIoU } from "../../src/train/segmentation-metrics";
import { runSegmentationComparison } from "../../src/experiments/segmentation-comparison";
import {
  binaryCrossEntropyWithLogits, evaluateSegmentation, flattenedSubject, segmentationKdLoss, segmentationTaskLoss, segmentationTaskObjective,
  softDiceLoss, trainSegmentationLoop, trainSegmentationStudent, trainSegmentationTeacher, type SegmentationObjective,
} from "../../src/train/segmentation";

before(async () => {
  await initBackend({ backend: "wasm" });
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-seg-"));
const tinyOnn = (seed = 2) => buildSegmentationOnn({ inputShape: [16, 16, 3], groups: [2, 4, 8], decoderWidths: [8, 4], seed });
const tinyUNet = (seed = 9) => buildUNet({ inputShape: [16, 16, 3], depth: 1, baseFilters: 4, seed });
const weightsOf = (ws: { read(): tf.Tensor }[]) => ws.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));

test("BCE with logits, soft Dice and per-pixel KD against hand-computed values", () => {
  const z = tf.tensor4d([0, 2, -3, 40], [1, 2, 2, 1]);
  const y = tf.tensor4d([1, 0, 1, 1], [1, 2, 2, 1]);
  const bce = binaryCrossEntropyWithLogits(z, y).dataSync();
  const want = [Math.log(2), Math.log(1 + Math.exp(2)), Math.log(1 + Math.exp(3)), 0];
  want.forEach((w, i) => assert.ok(Math.abs(bce[i] - w) < 1e-5, `bce[${i}] ${bce[i]} vs ${w}`));
  const task = segmentationTaskLoss(z, y).dataSync()[0];
  assert.ok(Math.abs(task - want.reduce((a, b) => a + b) / 4) < 1e-5);
  const s = [0.5, 1 / (1 + Math.exp(-2)), 1 / (1 + Math.exp(3)), 1];
  const diceWant = 1 - (2 * (s[0] + s[2] + s[3]) + 1) / (s.reduce((a, b) => a + b) + 3 + 1);
  assert.ok(Math.abs(softDiceLoss(z, y).dataSync()[0] - diceWant) < 1e-5);
  assert.ok(Math.abs(segmentationTaskLoss(z, y, { diceWeight: 0.5 }).dataSync()[0] - (task + 0.5 * diceWant)) < 1e-5);
  // KD of one pixel: t = 1, s = -1, T = 2, α = 1 -> T² · KL(Bern(σ(0.5)) || Bern(σ(-0.5)))
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const p = sig(0.5), q = sig(-0.5);
  const kl = p * Math.log(p / q) + (1 - p) * Math.log((1 - p) / (1 - q));
  const one = (v: number) => tf.tensor4d([v], [1, 1, 1, 1]);
  const kd = segmentationKdLoss(one(-1), one(1), one(1), { temperature: 2, alpha: 1 }).dataSync()[0];
  assert.ok(Math.abs(kd - 4 * kl) < 1e-5, `kd ${kd} vs ${4 * kl}`);
  assert.ok(Math.abs(segmentationKdLoss(z, z, y, { temperature: 3, alpha: 1 }).dataSync()[0]) < 1e-6, "KL of identical maps must be 0");
  const mixed = segmentationKdLoss(one(-1), one(1), one(1), { temperature: 2, alpha: 0.25 }).dataSync()[0];
  assert.ok(Math.abs(mixed - (0.25 * 4 * kl + 0.75 * Math.log(1 + Math.exp(1)))) < 1e-5);
  assert.throws(() => segmentationTaskLoss(z, tf.zeros([1, 2, 2, 2])), /differ in shape/);
  assert.throws(() => segmentationKdLoss(z, z, y, { temperature: 0 }), /temperature/);
});

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

test("NTKD over output pixels: the first-order gradient matches finite differences of the sketched loss", () => {
  const student = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 3], filters: 3, kernelSize: 3, padding: "same", activation: "tanh", kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }),
      tf.layers.conv2d({ filters: 1, kernelSize: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
    ],
  });
  const teacher = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 3], filters: 4, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }),
      tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: "same", kernelInitializer: tf.initializers.glorotNormal({ seed: 4 }) }),
    ],
  });
  const x = tf.randomUniform([3, 6, 6, 3], 0, 1, "float32", 5);
  const match = resolveNtkMatchOptions({ probes: 3, epsilon: 1e-2, normalisation: "trace" });
  const vars = student.trainableWeights.map((w) => w.read() as tf.Variable);
  const subject = flattenedSubject((t) => student.apply(t) as tf.Tensor, vars);
  const tSubject = flattenedSubject((t) => teacher.apply(t) as tf.Tensor, teacher.trainableWeights.map((w) => w.read() as tf.Variable));
  const kT = teacherKernel(tSubject, x, match, 77);
  assert.deepEqual(kT.shape, [3, 3]);
  const { value, grads } = ntkdLossAndGrads(subject, x, kT, match, 99);
  assert.ok(value.dataSync()[0] > 0);
  // directional derivative along a random direction d, by central differences with the same probes
  const dirs = vars.map((v, k) => tf.randomNormal(v.shape, 0, 1, "float32", 200 + k));
  const analytic = vars.reduce((s, v, k) => s + tf.tidy(() => tf.sum(tf.mul(grads[v.name], dirs[k])).dataSync()[0]), 0);
  const originals = vars.map((v) => tf.clone(v));
  const lossAt = (h: number) => {
    vars.forEach((v, k) => v.assign(tf.tidy(() => tf.add(originals[k], tf.mul(dirs[k], h)))));
    const l = ntkdLoss(subject, x, kT, match, 99);
    const out = l.dataSync()[0];
    l.dispose();
    return out;
  };
  const h = 2e-3;
  const numeric = (lossAt(h) - lossAt(-h)) / (2 * h);
  vars.forEach((v, k) => v.assign(originals[k]));
  assert.ok(Math.abs(analytic) > 1e-4, `directional derivative ${analytic} too small for a meaningful check`);
  assert.ok(Math.abs(numeric - analytic) <= 0.05 * Math.abs(analytic), `finite differences ${numeric} vs first-order gradient ${analytic}`);
  tf.dispose([x, kT, value, ...Object.values(grads), ...dirs, ...originals]);
  student.dispose();
  teacher.dispose();
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

test("a resumed NTKD run continues bit-for-bit; a NaN loss stops with epoch and batch and keeps the last good checkpoint", async () => {
  const train = generateSegmentationSet({ count: 8, height: 16, width: 16, seed: 5 });
  const validation = generateSegmentationSet({ count: 4, height: 16, width: 16, seed: 6 });
  const teacher = tinyUNet(1);
  const common = { method: "ntkd" as const, teacher, train, validation, epochs: 3, batchSize: 4, seed: 7, ntkd: { probes: 1, autoBetaBatches: 3 }, schedule: { kind: "cosine" as const, totalEpochs: 3 } };
  const a = tinyOnn(3);
  const full = await trainSegmentationStudent({ ...common, student: a });
  const dir = tmp();
  const b = tinyOnn(3);
  await assert.rejects(
    trainSegmentationStudent({ ...common, student: b, checkpointDir: dir, onEpochEnd: (r) => { if (r.epoch === 1) throw new Error("simulated kill"); } }),
    /simulated kill/,
  );
  b.dispose();
  const c = tinyOnn(3);
  const resumed = await trainSegmentationStudent({ ...common, student: c, checkpointDir: dir, resume: true });
  assert.equal(resumed.resumedFrom, 1);
  assert.deepEqual(resumed.history.map((h) => h.trainLoss), full.history.map((h) => h.trainLoss));
  assert.deepEqual(resumed.history.map((h) => h.validationMeanIoU), full.history.map((h) => h.validationMeanIoU));
  const wa = weightsOf(a.model.weights);
  weightsOf(c.model.weights).forEach((w, k) => assert.deepEqual(w, wa[k], `weight ${k} differs`));
  a.dispose();
  c.dispose();
  teacher.dispose();

  const s = tinyOnn(4);
  const nanDir = tmp();
  const task = segmentationTaskObjective();
  const poisoned: SegmentationObjective = { ...task, compute: (m, w, ctx) => { const r = task.compute(m, w, ctx); return ctx.epoch === 1 && ctx.batch === 1 ? { ...r, loss: NaN } : r; } };
  let after0: Float32Array[] = [];
  const err = await trainSegmentationLoop({ model: s.model, objective: poisoned, train, epochs: 3, batchSize: 4, checkpointDir: nanDir, onEpochEnd: () => { after0 = weightsOf(s.model.weights); } }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof TrainingDivergedError, `expected TrainingDivergedError, got ${String(err)}`);
  assert.match(err.message, /loss became NaN at epoch 1, batch 1/);
  assert.equal(err.checkpoint, path.join(nanDir, "last.ckpt"));
  const ck = readCheckpoint(path.join(nanDir, "last.ckpt"));
  assert.equal(ck.meta.epochsCompleted, 1);
  ck.tensors.weights.forEach((t, k) => assert.deepEqual(t.data, after0[k]));
  s.dispose();
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
