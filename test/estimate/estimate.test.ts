import { test } from "node:test";
import assert from "node:assert/strict";
import { loadMnist } from "../../src/data/mnist";
import { estimateAccuracy, estimateFromMetasurface, type EstimateProgress } from "../../src/estimate/estimate";
import { kernelBankFromFrontend } from "../../src/estimate/reference-network";
import { PsfConvFrontend } from "../../src/models/frontends/psf-conv";
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";

const mnist = loadMnist({ split: "train", limit: 1500 });

test("the infinite-kernel estimate on a small real MNIST subset is far above chance", () => {
  const progress: EstimateProgress[] = [];
  const r = estimateAccuracy({ dataset: mnist, kernels: "infinite", kernelSize: 7, trainPoints: 400, validationPoints: 100, testPoints: 300, seed: 1, onProgress: (p) => progress.push(p) });
  assert.ok(r.accuracy > 0.8, `accuracy ${r.accuracy}`);
  assert.ok(r.validationAccuracy > 0.7);
  assert.equal(r.kernelCount, "infinite");
  assert.ok(r.lambda > 0 && r.kernelMatrixSeconds >= 0);
  assert.ok(progress.some((p) => p.stage === "kernel") && progress.some((p) => p.stage === "lambda"));
  const kernelFractions = progress.filter((p) => p.stage === "kernel").map((p) => p.fraction);
  assert.ok(kernelFractions.every((f, i) => f >= 0 && f <= 1 + 1e-12 && (i === 0 || f >= kernelFractions[i - 1]!)), "progress is monotone in [0, 1]");
  assert.ok(Math.abs(kernelFractions[kernelFractions.length - 1]! - 1) < 1e-9);
});

test("finite random kernels give an estimate too, and it depends on the kernels", () => {
  const base = { dataset: mnist, kernelSize: 7, trainPoints: 300, validationPoints: 100, testPoints: 300, seed: 2 } as const;
  const one = estimateAccuracy({ ...base, kernels: 1, randomKernels: "nonnegative", network: { hiddenLayers: 0 } });
  const many = estimateAccuracy({ ...base, kernels: 16, randomKernels: "gaussian" });
  assert.equal(many.kernelCount, 16);
  assert.ok(many.accuracy > 0.7, `16 kernels: ${many.accuracy}`);
  // One blurred copy through a linear readout cannot separate digits as well as 16 random kernels with a ReLU layer.
  assert.ok(one.accuracy < many.accuracy, `1 kernel ${one.accuracy} vs 16 kernels ${many.accuracy}`);
  assert.ok(one.accuracy > 0.2);
});

test("estimateAccuracy rejects impossible sample counts with a message", () => {
  assert.throws(() => estimateAccuracy({ dataset: mnist, kernels: "infinite", kernelSize: 7, trainPoints: 1400, validationPoints: 100, testPoints: 100, seed: 1 }), /has 1500 images, fewer than the 1600/);
  assert.throws(() => estimateAccuracy({ dataset: mnist, kernels: "infinite", kernelSize: 7, trainPoints: 0, validationPoints: 100, testPoints: 100, seed: 1 }), /trainPoints is 0/);
  assert.throws(() => estimateAccuracy({ dataset: mnist, kernels: 2, kernelSize: 7, trainPoints: 10, validationPoints: 10, testPoints: 10, seed: 1, network: { trainFrontend: true } }), /no deterministic infinite-width limit/);
});

test("estimateFromMetasurface uses the layout's kernel count (hand count: 2 x 3 grid)", () => {
  // 1 mm x 1.6 mm, 0.4 mm kernels, 0.1 mm gaps: floor(1.1/0.5) = 2 rows, floor(1.7/0.5) = 3 columns.
  const { layout, estimate } = estimateFromMetasurface({
    layout: { metasurfaceHeightM: 1e-3, metasurfaceWidthM: 1.6e-3, kernelSizeM: 0.4e-3, spacingM: 0.1e-3 },
    dataset: mnist, kernelSize: 5, trainPoints: 100, validationPoints: 50, testPoints: 100, seed: 4,
  });
  assert.equal(layout.count, 6);
  assert.equal(estimate.kernelCount, 6);
  assert.ok(estimate.accuracy > 0.5, `accuracy ${estimate.accuracy}`);
  assert.throws(() => estimateFromMetasurface({
    layout: { metasurfaceHeightM: 1e-4, metasurfaceWidthM: 1e-3, kernelSizeM: 0.4e-3, spacingM: 0 },
    dataset: mnist, kernelSize: 5, trainPoints: 10, validationPoints: 10, testPoints: 10, seed: 4,
  }), /not even one kernel fits/);
});

test("estimateAccuracy takes a frontend's own kernels: the same estimate as its kernel bank", async () => {
  await initBackend({ backend: "cpu" });
  const base = { dataset: mnist, kernelSize: 5, trainPoints: 150, validationPoints: 50, testPoints: 150, seed: 3 } as const;
  const frontend = new PsfConvFrontend({ kernels: 4, kernelSize: 5, inputChannels: 1, seed: 1 });
  frontend.apply(tf.input({ shape: [28, 28, 1] }));
  const fromFrontend = estimateAccuracy({ ...base, kernels: frontend });
  const fromBank = estimateAccuracy({ ...base, kernels: kernelBankFromFrontend(frontend) });
  assert.equal(fromFrontend.kernelCount, 4);
  assert.equal(fromFrontend.accuracy, fromBank.accuracy);
  frontend.dispose();
});
