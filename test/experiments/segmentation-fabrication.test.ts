import { test } from "node:test";
import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs";
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import { buildSegmentationOnn, type SegmentationOnnOptions } from "../../src/models/segmentation/segmentation-onn";
import { fabricateSegmentationOnn } from "../../src/experiments/segmentation-fabrication";

const architecture: SegmentationOnnOptions = { inputShape: [8, 8, 3], groups: [2, 3], decoderWidths: [4], seed: 3 };

function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test("without errors the fabricated copy computes exactly what the student computes", async () => {
  await initBackend({ backend: "cpu" });
  const student = buildSegmentationOnn(architecture);
  const fab = fabricateSegmentationOnn(student, architecture, { kernelErrorStd: 0, gain: 1 });
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 11);
  const [a, b] = [student.apply(x), fab.onn.apply(x)];
  assert.ok(maxAbsDiff(a, b) < 1e-5, `outputs differ by ${maxAbsDiff(a, b)}`);
  assert.equal(fab.cappedPsfs, 0);
  assert.equal(fab.onn.trainableWeights("frontend").length, 0, "the fabricated optics are frozen");
  assert.equal(fab.onn.trainableWeights("backend").length, student.trainableWeights("backend").length);
  tf.dispose([x, a, b]);
  fab.onn.dispose();
  student.dispose();
});

test("a gain alone scales every sensor map by the gain (the optics are linear)", async () => {
  await initBackend({ backend: "cpu" });
  const student = buildSegmentationOnn(architecture);
  const fab = fabricateSegmentationOnn(student, architecture, { gain: 0.5 });
  const x = tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 12);
  const designed = student.sense(x);
  const fabricated = fab.onn.sense(x);
  designed.forEach((d, g) => {
    const half = tf.mul(d, 0.5);
    assert.ok(maxAbsDiff(half, fabricated[g]) < 1e-6, `group ${g}`);
    half.dispose();
  });
  tf.dispose([x, ...designed, ...fabricated]);
  fab.onn.dispose();
  student.dispose();
});

test("kernel errors change the PSFs, keep them non-negative and at most unit energy, and are seeded", async () => {
  await initBackend({ backend: "cpu" });
  const student = buildSegmentationOnn(architecture);
  const before = tf.memory().numTensors;
  const a = fabricateSegmentationOnn(student, architecture, { kernelErrorStd: 0.8, gain: 1, seed: 4 });
  const b = fabricateSegmentationOnn(student, architecture, { kernelErrorStd: 0.8, gain: 1, seed: 4 });
  assert.ok(a.cappedPsfs > 0, "additive stray light of 0.8 x peak adds energy, so some PSFs must be capped");
  a.groups.forEach((g, i) => {
    assert.deepEqual(Array.from(g.fabricated), Array.from(b.groups[i].fabricated), "same seed, same device");
    assert.ok(g.fabricated.some((v, j) => Math.abs(v - g.designed[j]) > 1e-3));
    const [, , c, n] = g.shape;
    const sums = new Float64Array(c * n);
    g.fabricated.forEach((v, j) => {
      assert.ok(v >= 0);
      sums[j % (c * n)] += v;
    });
    sums.forEach((s) => assert.ok(s <= 1 + 1e-5, `PSF energy ${s}`));
    const stored = (a.onn.groups[i] as unknown as { psfs(): Tensor }).psfs();
    assert.ok(Math.max(...Array.from(stored.dataSync(), (v, j) => Math.abs(v - g.fabricated[j]))) < 1e-5, "the copy holds the fabricated PSFs");
    stored.dispose();
  });
  a.onn.dispose();
  b.onn.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => fabricateSegmentationOnn(student, architecture, { misalignment: { shiftRowsPx: 1 } } as never), /errors\.misalignment is not modelled/);
  assert.throws(() => fabricateSegmentationOnn(student, { ...architecture, groups: [2, 3, 4], decoderWidths: [4, 4] }, {}), /pass the options the student was built with/);
  student.dispose();
});
