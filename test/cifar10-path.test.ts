/**
 * The CIFAR-10 path end to end on fixtures in the official binary format: load, train the
 * AlexNet-style teacher, then the Polychromatic Meta ONN (16 RGB 7x7 PSFs) with no transfer,
 * KD and NTKD for one epoch each, and evaluate. Tiny (a few dozen images) so it runs in CI.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { tf } from "../src/runtime/tf";
import { initBackend } from "../src/runtime/backend";
import { CIFAR10_FILES, loadCifar10 } from "../src/data/cifar10";
import { buildAlexNetSmall } from "../src/models/teachers/alexnet";
import { buildPolychromaticMetaOnn } from "../src/models/students";
import { trainStudent, trainTeacher } from "../src/train/api";
import { evaluate } from "../src/train/metrics";
import { cifarPixel, tempDir, writeCifarBatch } from "./data/fixtures";

before(async () => {
  await initBackend({ backend: "wasm" });
});

/** Writes the six batch files with `perFile` records each (labels cycle through the ten classes). */
function writeFixtures(perFile: number): string {
  const dir = tempDir("ntkd-cifar-path-");
  let record = 0;
  for (const file of [...CIFAR10_FILES.train, ...CIFAR10_FILES.test]) {
    const labels = Array.from({ length: perFile }, () => record++ % 10);
    const first = record - perFile;
    writeCifarBatch(path.join(dir, file), labels, (r, c, row, col) => cifarPixel(first + r, c, row, col));
  }
  return dir;
}

test("CIFAR-10 path on binary fixtures: AlexNet-style teacher, Polychromatic Meta ONN with none, KD and NTKD", async () => {
  const dir = writeFixtures(8);
  const train = loadCifar10({ dir, split: "train" });
  const testSet = loadCifar10({ dir, split: "test" });
  assert.equal(train.count, 40);
  assert.equal(testSet.count, 8);
  assert.deepEqual([train.height, train.width, train.channels], [32, 32, 3]);

  const teacher = buildAlexNetSmall({ inputShape: [32, 32, 3], numClasses: 10, widthMultiplier: 0.125, seed: 1 });
  const t = await trainTeacher({ model: teacher, train, epochs: 1, batchSize: 16, seed: 2 });
  assert.equal(t.epochsCompleted, 1);
  assert.ok(Number.isFinite(t.history[0].trainLoss));

  for (const method of ["none", "kd", "ntkd"] as const) {
    const student = buildPolychromaticMetaOnn({ seed: 3 });
    const before = student.model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
    const counts: number[] = [];
    const r = await trainStudent({
      student, method, teacher: method === "none" ? undefined : teacher, train, epochs: 1, batchSize: 8, seed: 4, ntkd: { probes: 1 },
      onBatchEnd: () => counts.push(tf.memory().numTensors),
    });
    assert.equal(counts.length, 5);
    assert.ok(counts.every((c) => c === counts[0]), `${method}: tensor count changed from batch to batch: ${counts.join(", ")}`);
    assert.ok(Number.isFinite(r.history[0].trainLoss), `${method}: loss ${r.history[0].trainLoss}`);
    if (method === "ntkd") assert.ok(r.history[0].parts.ntk > 0, `ntkd: NTK term ${r.history[0].parts.ntk}`);
    const moved = student.model.weights.some((w, k) => (w.read().dataSync() as Float32Array).some((v, i) => v !== before[k][i]));
    assert.ok(moved, `${method}: no weight changed`);
    const ev = evaluate(student, testSet);
    assert.equal(ev.count, 8);
    assert.ok(ev.accuracy >= 0 && ev.accuracy <= 1 && Number.isFinite(ev.loss), `${method}: evaluation ${JSON.stringify(ev)}`);
    assert.equal(ev.confusion.flat().reduce((a, b) => a + b, 0), 8);
    student.dispose();
  }
  teacher.dispose();
});
