import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import { makeRng } from "../../src/runtime/seed";
import { openRun } from "../../src/notebook/run-store";
import type { ImageDataset } from "../../src/data/types";
import { resolvePreset } from "../../src/experiments/distillation";
import type { FabricationContext } from "../../src/experiments/fabrication";
import { heightErrorRows, runHeightErrorSweep } from "../../src/experiments/height-error-sweep";

/** Two classes of 12×12 grey images: the bright half is the left (0) or the right (1). */
function halves(count: number, seed: number): ImageDataset {
  const rand = makeRng(seed);
  const images = new Float32Array(count * 144);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = n % 2;
    for (let p = 0; p < 144; p++) images[n * 144 + p] = 0.2 * rand() + ((p % 12 < 6) === (labels[n] === 0) ? 0.7 : 0);
  }
  return { name: "halves", images, labels, count, height: 12, width: 12, channels: 1, classNames: ["left", "right"] };
}

test("height-error sweep: at σ = 0 the fabricated metasurface student scores its simulated accuracy; the student is saved and loaded", async () => {
  await initBackend({ backend: "cpu" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-height-sweep-"));
  try {
    const run = openRun("fabrication", "test", { root });
    const preset = resolvePreset("mnist", "smoke", { seeds: [0] });
    const splits = { name: "mnist" as const, train: halves(64, 1), validation: halves(16, 2), test: halves(32, 3) };
    const ctx: FabricationContext = { dataset: "mnist", preset, splits, teacher: tf.sequential(), distillRun: run, studentMethod: "none" };
    const student = { kernels: 2, kernelSize: 3, gridSize: 8, epochs: 1, trainCount: 64, batchSize: 32 };
    const before = tf.memory().numTensors;
    const first = await runHeightErrorSweep(ctx, { mode: "smoke", run, heightErrorsNm: [0, 300], student, settings: { fraction: 0.5 } });
    assert.equal(first.loaded, false);
    assert.equal(first.points[0].accuracy.none, first.simulated);
    assert.deepEqual(first.points.map((p) => p.heightErrorNm), [0, 300]);
    const again = await runHeightErrorSweep(ctx, { mode: "smoke", run, heightErrorsNm: [0, 300], student, settings: { fraction: 0.5 } });
    assert.equal(again.loaded, true);
    assert.equal(again.simulated, first.simulated);
    assert.deepEqual(again.points, first.points);
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(heightErrorRows(first).map((r) => [r.heightErrorNm, r.compensation]), [[0, "none"], [300, "none"]]);
    await assert.rejects(runHeightErrorSweep(ctx, { mode: "smoke", run, heightErrorsNm: [-5] }), /runHeightErrorSweep: heightErrorsNm must be a non-empty list of finite numbers >= 0/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
