/**
 * The one training loop, exercised for both tasks (classification and segmentation) with the same
 * checks: early stopping returns the best epoch's weights (also after a resume of a finished run),
 * resume is bit-for-bit and refuses another run, NaN losses and diverged weights or validation
 * keep the last good checkpoint, and the loop yields to the event loop within an epoch.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LayersModel, LayerVariable } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import type { AnyDataset } from "../../src/data/splits";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import { buildCompressedMetaOnn } from "../../src/models/students";
import { buildSegmentationOnn } from "../../src/models/segmentation/segmentation-onn";
import { buildUNet } from "../../src/models/segmentation/unet";
import { trainStudent } from "../../src/train/api";
import { readCheckpoint } from "../../src/train/checkpoint";
import { TrainingDivergedError, trainLoop, trainTaskLoop, type BaseEpochRecord } from "../../src/train/loop";
import { kdObjective, taskObjective, type Objective } from "../../src/train/objectives";
import { segmentationTask, segmentationTaskObjective, trainSegmentationLoop, trainSegmentationStudent } from "../../src/train/segmentation";
import { classificationTask, type TrainingTask } from "../../src/train/task";
import { nonNegativeConv, smallMnist, tinyTeacher, weightsOf } from "./helpers";

before(async () => {
  await initBackend({ backend: "wasm" });
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-loop-"));

/** What the shared checks need of a task: its adapter, a small model, data, and objectives. */
interface TaskCase {
  name: string;
  task: TrainingTask<AnyDataset, unknown>;
  metricField: string;
  model: () => { model: LayersModel; dispose(): void };
  train: AnyDataset;
  validation: AnyDataset;
  batchSize: number;
  taskObjective: () => Objective<unknown, AnyDataset>;
  otherObjective: () => Objective<unknown, AnyDataset>;
}

const classificationCase: TaskCase = {
  name: "classification",
  task: classificationTask as unknown as TrainingTask<AnyDataset, unknown>,
  metricField: "validationAccuracy",
  model: () => buildCompressedMetaOnn({ frontend: nonNegativeConv(4, 5, 7), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 }),
  train: smallMnist(32),
  validation: smallMnist(16, 100),
  batchSize: 16,
  taskObjective: () => taskObjective() as unknown as Objective<unknown, AnyDataset>,
  otherObjective: () => kdObjective({ teacher: tinyTeacher(2) }) as unknown as Objective<unknown, AnyDataset>,
};

const segmentationTrain = generateSegmentationSet({ count: 8, height: 16, width: 16, seed: 5 });
const segmentationValidation = generateSegmentationSet({ count: 4, height: 16, width: 16, seed: 6 });

const segmentationCase: TaskCase = {
  name: "segmentation",
  task: segmentationTask() as unknown as TrainingTask<AnyDataset, unknown>,
  metricField: "validationMeanIoU",
  model: () => buildSegmentationOnn({ inputShape: [16, 16, 3], groups: [2, 4, 8], decoderWidths: [8, 4], seed: 3 }),
  train: segmentationTrain,
  validation: segmentationValidation,
  batchSize: 4,
  taskObjective: () => segmentationTaskObjective() as unknown as Objective<unknown, AnyDataset>,
  otherObjective: () => segmentationTaskObjective({ diceWeight: 0.5 }) as unknown as Objective<unknown, AnyDataset>,
};

const cases = [classificationCase, segmentationCase];

/** Runs the one loop for a case (the public wrappers are thin renames of this call). */
function run(c: TaskCase, opts: Omit<Parameters<typeof trainTaskLoop<AnyDataset, unknown, BaseEpochRecord>>[1], "train" | "batchSize"> & { batchSize?: number }) {
  return trainTaskLoop(c.task, { train: c.train, batchSize: c.batchSize, ...opts });
}

/** An objective that, once at (epoch, batch), runs `poison` on the model before computing the batch normally. */
function poisonedAt<S>(inner: Objective<S, AnyDataset>, epoch: number, batch: number, poison: (weights: LayerVariable[]) => Partial<{ loss: number }> | void): Objective<S, AnyDataset> {
  return {
    ...inner,
    compute(model, weights, ctx) {
      const r = inner.compute(model, weights, ctx);
      if (ctx.epoch === epoch && ctx.batch === batch) {
        const override = poison(model.weights);
        if (override) return { ...r, ...override };
      }
      return r;
    },
  };
}

const setAll = (ws: LayerVariable[], value: number) => ws.forEach((w) => w.write(tf.fill(w.shape as number[], value)));

for (const c of cases) {
  test(`${c.name}: early stopping ends the run after \`patience\` epochs without improvement and returns the best epoch's weights, also when the finished run is resumed`, async () => {
    const dir = tmp();
    const m = c.model();
    const perEpoch: Float32Array[][] = [];
    // minDelta 1 makes every epoch after the first a non-improvement (metrics lie in [0, 1]): the
    // best epoch is 0 and the run must stop after epoch 2 of 6.
    const result = await run(c, {
      model: m.model, objective: c.taskObjective(), validation: c.validation, epochs: 6, seed: 1, learningRate: 1e-2,
      earlyStopping: { patience: 2, minDelta: 1 }, checkpointDir: dir,
      onEpochEnd: () => perEpoch.push(weightsOf(m.model)),
    });
    assert.equal(result.stoppedEarly, true);
    assert.equal(result.history.length, 3);
    assert.equal(result.epochsCompleted, 3);
    assert.equal(result.bestEpoch, 0);
    assert.equal(result.bestValidationMetric, (result.history[0] as unknown as Record<string, number>)[c.metricField]);
    const final = weightsOf(m.model);
    final.forEach((w, k) => assert.deepEqual(w, perEpoch[0][k], `weight ${k} is not the best epoch's`));
    assert.ok(final.some((w, k) => w.some((v, i) => v !== perEpoch[2][k][i])), "the last epoch changed no weight: the test cannot tell best from last");
    const ck = readCheckpoint(path.join(dir, "last.ckpt"));
    assert.equal(ck.meta.stoppedEarly, true);
    assert.equal(ck.meta.kind, c.name);

    // Killed after its last checkpoint (before anything else was saved), then resumed in a fresh process.
    const fresh = c.model();
    const resumed = await run(c, {
      model: fresh.model, objective: c.taskObjective(), validation: c.validation, epochs: 6, seed: 1, learningRate: 1e-2,
      earlyStopping: { patience: 2, minDelta: 1 }, checkpointDir: dir, resume: true,
    });
    assert.equal(resumed.stoppedEarly, true);
    assert.equal(resumed.bestEpoch, 0);
    assert.equal(resumed.resumedFrom, 2);
    assert.deepEqual(resumed.history.map((h) => h.trainLoss), result.history.map((h) => h.trainLoss));
    weightsOf(fresh.model).forEach((w, k) => assert.deepEqual(w, final[k], `resumed weight ${k} differs from the uninterrupted run's`));
    m.dispose();
    fresh.dispose();
  });

  test(`${c.name}: a NaN loss stops the run naming epoch and batch, and keeps the last good checkpoint`, async () => {
    const m = c.model();
    const dir = tmp();
    let afterEpoch0: Float32Array[] = [];
    const objective = poisonedAt(c.taskObjective(), 1, 1, () => ({ loss: NaN }));
    const err = await run(c, { model: m.model, objective, epochs: 3, checkpointDir: dir, onEpochEnd: (r) => { if (r.epoch === 0) afterEpoch0 = weightsOf(m.model); } }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof TrainingDivergedError, `expected TrainingDivergedError, got ${String(err)}`);
    assert.match(err.message, /loss became NaN at epoch 1, batch 1 \(step 4\); no update applied; before it the weights are finite/);
    assert.match(err.message, /The last checkpoint, of the last epoch that ended finite, is kept at /);
    assert.equal(err.checkpoint, path.join(dir, "last.ckpt"));
    const ck = readCheckpoint(path.join(dir, "last.ckpt"));
    assert.equal(ck.meta.epochsCompleted, 1);
    ck.tensors.weights.forEach((t, k) => assert.deepEqual(t.data, afterEpoch0[k]));
    m.dispose();
  });

  test(`${c.name}: non-finite weights after an epoch's updates, or a non-finite validation, are a divergence that keeps the previous checkpoint and best snapshot`, async () => {
    for (const mode of ["weights", "validation"] as const) {
      const m = c.model();
      const dir = tmp();
      let afterEpoch0: Float32Array[] = [];
      // The last batch of epoch 1: its loss was computed with good weights, and the update leaves
      // NaN weights (mode "weights") or finite but huge ones whose outputs overflow ("validation").
      const objective = poisonedAt(c.taskObjective(), 1, 1, (ws) => setAll(ws, mode === "weights" ? NaN : 1e30));
      const err = await run(c, {
        model: m.model, objective, validation: c.validation, epochs: 3, checkpointDir: dir, optimizer: { kind: "sgd" },
        onEpochEnd: (r) => { if (r.epoch === 0) afterEpoch0 = weightsOf(m.model); },
      }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof TrainingDivergedError, `${mode}: expected TrainingDivergedError, got ${String(err)}`);
      assert.equal(err.epoch, 1);
      if (mode === "weights") {
        assert.match(err.message, /weight 0 \(.+\) holds NaN or ±Infinity after the updates of epoch 1, though every batch loss was finite/);
      } else {
        assert.match(err.message, /validation (accuracy|meanIoU) \S+ and loss \S+ after epoch 1 are not all finite \(the weights are finite, largest \|w\| 1\.00e\+30 \(already diverging: .*\)\): the run diverged/);
      }
      assert.equal(err.checkpoint, path.join(dir, "last.ckpt"));
      const ck = readCheckpoint(path.join(dir, "last.ckpt"));
      assert.equal(ck.meta.epochsCompleted, 1, `${mode}: the diverged epoch was checkpointed`);
      ck.tensors.weights.forEach((t, k) => assert.deepEqual(t.data, afterEpoch0[k]));
      ck.tensors.best.forEach((t, k) => assert.deepEqual(t.data, afterEpoch0[k], `${mode}: the best snapshot holds diverged weights`));
      m.dispose();
    }
  });

  test(`${c.name}: resume refuses a checkpoint of another objective, seed or task kind`, async () => {
    const dir = tmp();
    const m = c.model();
    await run(c, { model: m.model, objective: c.taskObjective(), epochs: 1, seed: 4, checkpointDir: dir });
    await assert.rejects(run(c, { model: m.model, objective: c.taskObjective(), epochs: 2, seed: 5, checkpointDir: dir, resume: true }),
      new RegExp(`belongs to a ${c.name} run with objective "task" and seed 4; this is a ${c.name} run with objective "task" and seed 5`));
    const other = c.otherObjective();
    if (other.name !== "task") {
      await assert.rejects(run(c, { model: m.model, objective: other, epochs: 2, seed: 4, checkpointDir: dir, resume: true }), new RegExp(`with objective "task" and seed 4; this is a ${c.name} run with objective "${other.name}"`));
    }
    const otherCase = c === classificationCase ? segmentationCase : classificationCase;
    const o = otherCase.model();
    await assert.rejects(
      trainTaskLoop(otherCase.task, { model: o.model, objective: otherCase.taskObjective(), train: otherCase.train, batchSize: otherCase.batchSize, epochs: 2, seed: 4, checkpointDir: dir, resume: true }),
      new RegExp(`belongs to a ${c.name} run with objective "task" and seed 4; this is a ${otherCase.name} run`),
    );
    m.dispose();
    o.dispose();
  });
}

/** What a kill-and-resume check passes the entry point it drives. */
interface ResumeExtras {
  checkpointDir?: string;
  resume?: boolean;
  onEpochEnd?: (r: BaseEpochRecord) => void;
}

/**
 * Trains `build()` uninterrupted, then a second one killed after epoch 1's checkpoint and a third
 * resumed from it; asserts that the resumed run ends with the uninterrupted run's weights and
 * losses, bit for bit, and returns both results for task-specific checks.
 */
async function killAndResume<M extends { model: LayersModel; dispose(): void }, R extends { history: BaseEpochRecord[]; resumedFrom: number | null }>(
  build: () => M,
  train: (student: M, extras: ResumeExtras) => Promise<R>,
): Promise<{ full: R; resumed: R }> {
  const a = build();
  const full = await train(a, {});
  const dir = tmp();
  const b = build();
  await assert.rejects(train(b, { checkpointDir: dir, onEpochEnd: (r) => { if (r.epoch === 1) throw new Error("simulated kill"); } }), /simulated kill/);
  b.dispose();
  const c = build();
  const resumed = await train(c, { checkpointDir: dir, resume: true });
  assert.equal(resumed.resumedFrom, 1);
  assert.equal(resumed.history.length, full.history.length);
  assert.deepEqual(resumed.history.map((h) => h.trainLoss), full.history.map((h) => h.trainLoss));
  const wa = weightsOf(a.model);
  weightsOf(c.model).forEach((w, k) => assert.deepEqual(w, wa[k], `weight ${k} differs`));
  a.dispose();
  c.dispose();
  return { full, resumed };
}

test("classification: a run resumed from a checkpoint continues bit-for-bit as an uninterrupted run (NTKD with the teacher cache, auto β, cosine, Adam)", async () => {
  const teacher = tinyTeacher(9);
  const common = {
    method: "ntkd" as const, teacher, train: smallMnist(48), epochs: 3, batchSize: 16, seed: 11, learningRate: 3e-3,
    schedule: { kind: "cosine" as const, totalEpochs: 3 }, clipNorm: 5, ntkd: { probes: 2, autoBetaBatches: 4 },
  };
  await killAndResume(() => classificationCase.model() as ReturnType<typeof buildCompressedMetaOnn>, (student, extras) => trainStudent({ ...common, ...extras, student }));
  teacher.dispose();
});

test("segmentation: a resumed NTKD run (teacher cache, auto β, validation) continues bit-for-bit", async () => {
  const teacher = buildUNet({ inputShape: [16, 16, 3], depth: 1, baseFilters: 4, seed: 1 });
  const common = {
    method: "ntkd" as const, teacher, train: segmentationTrain, validation: segmentationValidation, epochs: 3, batchSize: 4, seed: 7,
    ntkd: { probes: 1, autoBetaBatches: 3 }, schedule: { kind: "cosine" as const, totalEpochs: 3 },
  };
  const { full, resumed } = await killAndResume(() => segmentationCase.model() as ReturnType<typeof buildSegmentationOnn>, (student, extras) => trainSegmentationStudent({ ...common, ...extras, student }));
  assert.ok(full.history.every((h) => h.parts.beta > 0 && h.parts.ntk > 0), `NTKD parts: ${JSON.stringify(full.history.map((h) => h.parts))}`);
  assert.deepEqual(resumed.history.map((h) => h.validationMeanIoU), full.history.map((h) => h.validationMeanIoU));
  assert.equal(resumed.bestValidationMeanIoU, full.bestValidationMeanIoU);
  teacher.dispose();
});

test("the public entry points are the one loop: trainLoop and trainSegmentationLoop name their metric fields and reject a bad learning rate alike", async () => {
  const m = classificationCase.model();
  const r = await trainLoop({ model: m.model, objective: taskObjective(), train: smallMnist(16), validation: smallMnist(8, 50), epochs: 1, batchSize: 8 });
  assert.deepEqual(Object.keys(r.history[0]).sort(), ["epoch", "learningRate", "parts", "seconds", "trainAccuracy", "trainLoss", "validationAccuracy", "validationLoss"]);
  assert.equal(r.bestValidationAccuracy, r.history[0].validationAccuracy);
  const s = segmentationCase.model();
  const rs = await trainSegmentationLoop({ model: s.model, objective: segmentationTaskObjective(), train: segmentationTrain, validation: segmentationValidation, epochs: 1, batchSize: 4 });
  assert.deepEqual(Object.keys(rs.history[0]).sort(), ["epoch", "learningRate", "parts", "seconds", "trainLoss", "trainMeanIoU", "validationDice", "validationLoss", "validationMeanIoU"]);
  assert.equal(rs.bestValidationMeanIoU, rs.history[0].validationMeanIoU);
  for (const lr of [0, -1, Infinity, NaN]) {
    await assert.rejects(trainLoop({ model: m.model, objective: taskObjective(), train: smallMnist(8), epochs: 1, learningRate: lr }), new RegExp(`trainLoop: learningRate must be a finite number > 0, got ${lr}`));
    await assert.rejects(trainSegmentationLoop({ model: s.model, objective: segmentationTaskObjective(), train: segmentationTrain, epochs: 1, learningRate: lr }), new RegExp(`trainSegmentationLoop: learningRate must be a finite number > 0, got ${lr}`));
  }
  m.dispose();
  s.dispose();
});

test("the loop yields to the event loop after every batch, so a timer set before training fires during the first epoch", async () => {
  const m = classificationCase.model();
  let batchesDone = 0;
  let firedAfter = -1;
  setImmediate(() => { firedAfter = batchesDone; });
  await trainLoop({ model: m.model, objective: taskObjective(), train: smallMnist(32), epochs: 2, batchSize: 8, onBatchEnd: () => { batchesDone++; } });
  assert.equal(batchesDone, 8);
  assert.equal(firedAfter, 1, `the timer fired after ${firedAfter} batches`);
  m.dispose();
});

test("tf.memory().numTensors stays flat across epochs (KD and NTKD, SGD with momentum, step schedule, validation)", async () => {
  const train = smallMnist(48);
  const validation = smallMnist(32, 100);
  const teacher = tinyTeacher(3);
  for (const method of ["kd", "ntkd"] as const) {
    const s = classificationCase.model() as ReturnType<typeof buildCompressedMetaOnn>;
    const counts: number[] = [];
    const result = await trainStudent({
      student: s, method, teacher, train, validation, epochs: 3, batchSize: 16, optimizer: { kind: "sgd", momentum: 0.9 }, learningRate: 0.05,
      schedule: { kind: "step", stepSize: 1, gamma: 0.5 }, ntkd: { probes: 1 }, onEpochEnd: () => counts.push(tf.memory().numTensors),
    });
    assert.equal(counts.length, 3);
    assert.ok(counts.every((n) => n === counts[0]), `${method}: numTensors per epoch ${counts}`);
    assert.deepEqual(result.history.map((h) => h.learningRate), [0.05, 0.025, 0.0125]);
    s.dispose();
  }
  teacher.dispose();
});

test("training only the backend leaves the frontend untouched", async () => {
  const s = classificationCase.model() as ReturnType<typeof buildCompressedMetaOnn>;
  const before = s.trainableWeights("frontend").map((w) => Array.from(w.read().dataSync()));
  const beforeBackend = Array.from(s.trainableWeights("backend")[0].read().dataSync());
  await trainStudent({ student: s, method: "none", part: "backend", train: smallMnist(32), epochs: 1, batchSize: 16 });
  s.trainableWeights("frontend").forEach((w, k) => assert.deepEqual(Array.from(w.read().dataSync()), before[k]));
  assert.notDeepEqual(Array.from(s.trainableWeights("backend")[0].read().dataSync()), beforeBackend);
  await assert.rejects(trainStudent({ student: s, method: "kd", train: smallMnist(16), epochs: 1 }), /needs a trained teacher/);
  s.dispose();
});
