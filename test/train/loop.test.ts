import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { buildCompressedMetaOnn } from "../../src/models/students";
import { trainStudent } from "../../src/train/api";
import { readCheckpoint } from "../../src/train/checkpoint";
import { TrainingDivergedError, trainLoop } from "../../src/train/loop";
import { taskObjective, type Objective } from "../../src/train/objectives";
import { nonNegativeConv, smallMnist, tinyTeacher, weightsOf } from "./helpers";

before(async () => {
  await initBackend({ backend: "cpu" });
});

const student = () => buildCompressedMetaOnn({ frontend: nonNegativeConv(4, 5, 7), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-train-"));

test("a run resumed from a checkpoint continues bit-for-bit as an uninterrupted run (NTKD, auto β, cosine, Adam)", async () => {
  const train = smallMnist(48);
  const teacher = tinyTeacher(9);
  const common = {
    method: "ntkd" as const,
    teacher,
    train,
    epochs: 3,
    batchSize: 16,
    seed: 11,
    learningRate: 3e-3,
    schedule: { kind: "cosine" as const, totalEpochs: 3 },
    clipNorm: 5,
    ntkd: { probes: 2, autoBetaBatches: 4 },
  };
  const a = student();
  const full = await trainStudent({ ...common, student: a });
  const dir = tmp();
  const b = student();
  await assert.rejects(
    trainStudent({
      ...common,
      student: b,
      checkpointDir: dir,
      onEpochEnd: (r) => {
        if (r.epoch === 1) throw new Error("simulated kill");
      },
    }),
    /simulated kill/,
  );
  b.dispose();
  const other = student();
  await assert.rejects(trainStudent({ ...common, seed: 12, student: other, checkpointDir: dir, resume: true }), /belongs to a run with objective "ntkd" and seed 11/);
  other.dispose();
  const c = student();
  const resumed = await trainStudent({ ...common, student: c, checkpointDir: dir, resume: true });
  assert.equal(resumed.resumedFrom, 1);
  assert.equal(resumed.history.length, 3);
  const wa = weightsOf(a.model);
  const wc = weightsOf(c.model);
  wa.forEach((w, k) => assert.deepEqual(wc[k], w, `weight ${k} differs`));
  assert.deepEqual(resumed.history.map((h) => h.trainLoss), full.history.map((h) => h.trainLoss));
  a.dispose();
  c.dispose();
  teacher.dispose();
});

test("a NaN loss stops the run naming epoch and batch, and keeps the last good checkpoint", async () => {
  const train = smallMnist(32);
  const s = student();
  const dir = tmp();
  const task = taskObjective();
  const poisoned: Objective = {
    ...task,
    compute(model, weights, ctx) {
      const r = task.compute(model, weights, ctx);
      return ctx.epoch === 1 && ctx.batch === 1 ? { ...r, loss: NaN } : r;
    },
  };
  let afterEpoch0: Float32Array[] = [];
  const run = trainLoop({
    model: s.model,
    objective: poisoned,
    train,
    epochs: 3,
    batchSize: 16,
    checkpointDir: dir,
    onEpochEnd: (r) => {
      if (r.epoch === 0) afterEpoch0 = weightsOf(s.model);
    },
  });
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof TrainingDivergedError);
    assert.match(err.message, /loss became NaN at epoch 1, batch 1/);
    assert.match(err.message, /last good checkpoint is kept/);
    assert.equal(err.checkpoint, path.join(dir, "last.ckpt"));
    return true;
  });
  const ck = readCheckpoint(path.join(dir, "last.ckpt"));
  assert.equal(ck.meta.epochsCompleted, 1);
  ck.tensors.weights.forEach((t, k) => assert.deepEqual(t.data, afterEpoch0[k]));
  s.dispose();
});

test("tf.memory().numTensors stays flat across epochs (KD and NTKD) and validation/early stopping work", async () => {
  const train = smallMnist(48);
  const validation = smallMnist(32, 100);
  const teacher = tinyTeacher(3);
  for (const method of ["kd", "ntkd"] as const) {
    const s = student();
    const counts: number[] = [];
    const result = await trainStudent({
      student: s,
      method,
      teacher,
      train,
      validation,
      epochs: 3,
      batchSize: 16,
      optimizer: { kind: "sgd", momentum: 0.9 },
      learningRate: 0.05,
      schedule: { kind: "step", stepSize: 1, gamma: 0.5 },
      earlyStopping: { patience: 5 },
      ntkd: { probes: 1 },
      onEpochEnd: () => counts.push(tf.memory().numTensors),
    });
    assert.equal(counts.length, 3);
    assert.ok(counts.every((c) => c === counts[0]), `${method}: numTensors per epoch ${counts}`);
    assert.ok(result.history.every((h) => h.validationAccuracy !== undefined && h.validationAccuracy >= 0));
    assert.deepEqual(result.history.map((h) => h.learningRate), [0.05, 0.025, 0.0125]);
    s.dispose();
  }
  teacher.dispose();
});

test("training only the backend leaves the frontend untouched", async () => {
  const s = student();
  const before = s.trainableWeights("frontend").map((w) => Array.from(w.read().dataSync()));
  const beforeBackend = Array.from(s.trainableWeights("backend")[0].read().dataSync());
  await trainStudent({ student: s, method: "none", part: "backend", train: smallMnist(32), epochs: 1, batchSize: 16 });
  s.trainableWeights("frontend").forEach((w, k) => assert.deepEqual(Array.from(w.read().dataSync()), before[k]));
  assert.notDeepEqual(Array.from(s.trainableWeights("backend")[0].read().dataSync()), beforeBackend);
  await assert.rejects(trainStudent({ student: s, method: "kd", train: smallMnist(16), epochs: 1 }), /needs a trained teacher/);
  s.dispose();
});
