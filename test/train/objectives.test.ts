import { test, before } from "node:test";
import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { buildCompressedMetaOnn } from "../../src/models/students";
import { kdObjective, ntkdObjective, relationalObjective, taskObjective, type BatchContext } from "../../src/train/objectives";
import { trainStudent } from "../../src/train/api";
import { featureForward } from "../../src/train/features";
import { relationalKdLoss, similarityPreservingLoss } from "../../src/distill/relational";
import { gatherBatch } from "../../src/data/batches";
import { nonNegativeConv, smallMnist, tinyTeacher } from "./helpers";

before(async () => {
  await initBackend({ backend: "cpu" });
});

const norm = (ts: Tensor[]) => Math.sqrt(ts.reduce((s, t) => s + tf.sum(tf.square(t)).dataSync()[0], 0));

test("automatic β balances gradient norms (default) or loss values on the calibration batches", () => {
  const s = buildCompressedMetaOnn({ frontend: nonNegativeConv(4, 5, 7), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 });
  const teacher = tinyTeacher(3);
  const ds = smallMnist(16);
  const indices = Int32Array.from({ length: 16 }, (_, i) => i);
  const { x, y } = gatherBatch(ds, indices);
  const ctx: BatchContext = { x, y, indices, epoch: 0, batch: 0, step: 0, seed: 4 };
  const weights = s.model.trainableWeights;
  const task = taskObjective().compute(s.model, weights, ctx);
  const unit = ntkdObjective({ teacher, beta: 1, probes: 2, teacherCache: "none" }).compute(s.model, weights, ctx);
  const ntkGrads = unit.grads.map((g, k) => tf.sub(g, task.grads[k]));
  for (const balance of ["gradient", "loss"] as const) {
    const auto = ntkdObjective({ teacher, beta: "auto", betaBalance: balance, autoBetaBatches: 1, probes: 2, teacherCache: "none" }).compute(s.model, weights, ctx);
    const beta = auto.parts.beta;
    if (balance === "gradient") {
      assert.ok(Math.abs(beta * norm(ntkGrads) - norm(task.grads)) < 1e-3 * norm(task.grads), `β ${beta}`);
    } else {
      assert.ok(Math.abs(beta * unit.parts.ntk - task.loss) < 1e-4 * task.loss, `β ${beta}`);
    }
    assert.ok(Math.abs(auto.loss - (task.loss + beta * unit.parts.ntk)) < 1e-4 * auto.loss);
    tf.dispose(auto.grads);
  }
  assert.throws(() => ntkdObjective({ teacher, betaBalance: "both" as never }), /betaBalance must be "gradient" or "loss"/);
  tf.dispose([x, y, ...task.grads, ...unit.grads, ...ntkGrads]);
  s.dispose();
  teacher.dispose();
});

test("KD + NTKD is KD's loss and gradient plus NTKD's kernel term, in both of NTKD's paths (β being calibrated, β known)", () => {
  const s = buildCompressedMetaOnn({ frontend: nonNegativeConv(4, 5, 7), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 });
  const teacher = tinyTeacher(3);
  const indices = Int32Array.from({ length: 16 }, (_, i) => i);
  const { x, y } = gatherBatch(smallMnist(16), indices);
  const ctx: BatchContext = { x, y, indices, epoch: 0, batch: 0, step: 0, seed: 4 };
  const weights = s.model.trainableWeights;
  const kd = { temperature: 3, alpha: 0.4 };
  const task = taskObjective().compute(s.model, weights, ctx);
  const kdOnly = kdObjective({ teacher, ...kd }).compute(s.model, weights, ctx);
  for (const beta of [0.7, "auto"] as const) {
    const settings = { teacher, beta, autoBetaBatches: 1, probes: 2, teacherCache: "none" as const };
    const ntkd = ntkdObjective(settings).compute(s.model, weights, ctx);
    const both = ntkdObjective({ ...settings, kd });
    assert.equal(both.name, "kd+ntkd");
    const before = tf.memory().numTensors;
    const r = both.compute(s.model, weights, ctx);
    assert.equal(tf.memory().numTensors, before + r.grads.length, "only the gradients are left (the teacher's logits are disposed)");
    assert.ok(Math.abs(r.parts.task - kdOnly.loss) < 1e-5, `the α-weighted term is KD's loss: ${r.parts.task} against ${kdOnly.loss}`);
    assert.ok(Math.abs(r.parts.ntk - ntkd.parts.ntk) < 1e-6 * Math.abs(ntkd.parts.ntk), "the same kernel mismatch");
    // The kernel term's own gradient, from NTKD's: (∇NTKD − ∇task) / β.
    const unit = ntkd.grads.map((g, k) => tf.div(tf.sub(g, task.grads[k]), ntkd.parts.beta));
    if (beta === "auto") {
      // Calibrated against the term it sits beside: ‖β·∇kernel‖ = ‖∇KD‖.
      assert.ok(Math.abs(r.parts.beta * norm(unit) - norm(kdOnly.grads)) < 1e-3 * norm(kdOnly.grads), `β ${r.parts.beta}`);
    } else {
      assert.equal(r.parts.beta, beta);
    }
    for (const [k, g] of r.grads.entries()) {
      const expected = tf.add(kdOnly.grads[k], tf.mul(unit[k], r.parts.beta));
      const gap = tf.max(tf.abs(tf.sub(g, expected))).dataSync()[0];
      const scale = tf.max(tf.abs(expected)).dataSync()[0];
      assert.ok(gap <= 1e-4 * scale + 1e-7, `β ${beta}, weight ${k}: |Δ| ${gap} of ${scale}`);
      expected.dispose();
    }
    tf.dispose([...r.grads, ...ntkd.grads, ...unit]);
  }
  tf.dispose([x, y, ...task.grads, ...kdOnly.grads]);
  s.dispose();
  teacher.dispose();
});

test("the relational objectives add γ times SP or RKD of the batch's features to the task loss, with its gradient", () => {
  const s = buildCompressedMetaOnn({ frontend: nonNegativeConv(4, 5, 7), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 });
  const teacher = tinyTeacher(3);
  const indices = Int32Array.from({ length: 8 }, (_, i) => i);
  const { x, y } = gatherBatch(smallMnist(8), indices);
  const ctx: BatchContext = { x, y, indices, epoch: 0, batch: 0, step: 0, seed: 4 };
  const weights = s.trainableWeights("all");
  const task = taskObjective().compute(s.model, weights, ctx);
  const studentF = featureForward(s);
  const teacherF = featureForward(teacher);
  const expected = tf.tidy(() => {
    const sf = studentF(x, true).features;
    const tfeat = teacherF(x, false).features;
    return { sp: similarityPreservingLoss(sf, tfeat).dataSync()[0]!, rkd: relationalKdLoss(sf, tfeat).loss.dataSync()[0]! };
  });
  const before = tf.memory().numTensors;
  for (const method of ["sp", "rkd"] as const) {
    const r = relationalObjective({ method, teacher, student: studentF, weight: 7 }).compute(s.model, weights, ctx);
    assert.ok(Math.abs(r.parts[method]! - expected[method]) < 1e-5 * Math.max(1, expected[method]) && expected[method] > 0, `${method} ${r.parts[method]}`);
    assert.ok(Math.abs(r.loss - (task.loss + 7 * expected[method])) < 1e-4 * r.loss);
    // γ = 0 leaves exactly the task gradient; γ > 0 changes it.
    const zero = relationalObjective({ method, teacher, student: studentF, weight: 0 }).compute(s.model, weights, ctx);
    const maxDiff = (a: Tensor, b: Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    assert.ok(zero.grads.every((g, k) => maxDiff(g, task.grads[k]!) < 1e-6));
    assert.ok(r.grads.some((g, k) => maxDiff(g, task.grads[k]!) > 1e-6));
    tf.dispose([...r.grads, ...zero.grads]);
  }
  assert.equal(tf.memory().numTensors, before, "no tensor is left behind");
  assert.throws(() => relationalObjective({ method: "fitnet" as never, teacher, student: studentF }), /method must be "sp" or "rkd"/);
  tf.dispose([x, y, ...task.grads]);
  s.dispose();
  teacher.dispose();
});

test("trainStudent with sp or rkd pulls the student's batch relations toward the teacher's", async () => {
  const train = smallMnist(64);
  const teacher = tinyTeacher(11);
  const x = tf.tensor4d(train.images, [64, 14, 14, 1]);
  const teacherFeatures = tf.tidy(() => featureForward(teacher)(x, false).features);
  const relationOf = (method: "sp" | "rkd", student: ReturnType<typeof buildCompressedMetaOnn>) => tf.tidy(() => {
    const f = featureForward(student)(x, false).features;
    return (method === "sp" ? similarityPreservingLoss(f, teacherFeatures) : relationalKdLoss(f, teacherFeatures).distance).dataSync()[0]!;
  });
  for (const method of ["sp", "rkd"] as const) {
    const after: Record<string, number> = {};
    for (const m of ["none", method] as const) {
      const s = buildCompressedMetaOnn({ frontend: nonNegativeConv(4, 5, 7), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 });
      const before = tf.memory().numTensors;
      const result = await trainStudent({
        student: s, method: m, teacher, train, epochs: 4, batchSize: 16, learningRate: 3e-3, seed: 2,
        sp: { weight: 300 }, rkd: { weight: 5 },
      });
      assert.ok(result.history.every((h) => Number.isFinite(h.trainLoss)));
      assert.equal(tf.memory().numTensors, before, `${m}: training keeps the tensor count flat`);
      after[m] = relationOf(method, s);
      s.dispose();
    }
    assert.ok(after[method]! < 0.7 * after.none!, `${method}: relational loss after training ${after[method]} vs ${after.none} with no transfer`);
  }
  await assert.rejects(trainStudent({ student: tinyTeacher(1), method: "rkd", train, epochs: 1 }), /method "rkd" needs a trained teacher/);
  tf.dispose([x, teacherFeatures]);
  teacher.dispose();
});
