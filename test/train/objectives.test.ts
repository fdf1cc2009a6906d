import { test, before } from "node:test";
import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { buildCompressedMetaOnn } from "../../src/models/students";
import { ntkdObjective, taskObjective, type BatchContext } from "../../src/train/objectives";
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
