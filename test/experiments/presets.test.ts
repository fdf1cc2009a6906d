import { test } from "node:test";
import assert from "node:assert/strict";
import { distillationPreset } from "../../src/experiments/presets";

test("quick (npm start) trains on the full MNIST training set with one seed; smoke on a few thousand images; full on five seeds", () => {
  const quick = distillationPreset("mnist", "quick");
  // No trainCount: every image left after the 10,000-image validation split (50,000), and every test image.
  assert.deepEqual(quick.sizes, { validationCount: 10000 });
  assert.deepEqual(quick.seeds, [0]);
  const full = distillationPreset("mnist", "full");
  assert.deepEqual(full.sizes, quick.sizes);
  assert.equal(full.seeds.length, 5);
  assert.ok(quick.studentEpochs < full.studentEpochs && quick.teacherEpochs < full.teacherEpochs);
  // Quick keeps the full protocol's NTKD settings but one student probe (its NTKD student is npm start's longest job).
  assert.deepEqual({ ...quick.ntkd, probes: full.ntkd.probes }, full.ntkd);
  assert.equal(quick.ntkd.probes, 1);
  const smoke = distillationPreset("mnist", "smoke");
  assert.ok((smoke.sizes.trainCount ?? Infinity) <= 5000 && (smoke.sizes.testCount ?? Infinity) <= 2000);
  assert.deepEqual(smoke.seeds, [0]);
  assert.throws(() => distillationPreset("mnist", "fast" as never), /mode must be smoke, quick or full, got "fast"/);
});

test("CIFAR-10 stays at smoke size in quick mode (its teacher takes ~40 minutes per full epoch here)", () => {
  assert.deepEqual(distillationPreset("cifar10", "quick").sizes, distillationPreset("cifar10", "smoke").sizes);
  assert.equal(distillationPreset("cifar10", "full").sizes.trainCount, undefined);
});
