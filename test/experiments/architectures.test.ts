import { test, before } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../src/runtime/backend";
import { buildStudentFor, buildTeacherFor, studentFrontendFor, QUICK_ALEXNET_WIDTH } from "../../src/experiments/architectures";
import { buildCompressedMetaOnn, buildPolychromaticMetaOnn } from "../../src/models/students";
import { PsfConvFrontend } from "../../src/models/frontends/psf-conv";
import { MetasurfaceFrontend } from "../../src/models/frontends/metasurface-frontend";
import { FourierFrontend } from "../../src/models/frontends/fourier";
import { IdealConvFrontend } from "../../src/models/frontends/ideal";
import { CIFAR10_CLASS_NAMES } from "../../src/data/cifar10";
import type { ImageDataset } from "../../src/data/types";

before(async () => {
  await initBackend({ backend: "cpu" });
});

const shaped = (height: number, channels: number): ImageDataset => ({
  name: "shape-only", images: new Float32Array(0), labels: new Uint8Array(0), count: 0, height, width: height, channels, classNames: CIFAR10_CLASS_NAMES,
});

/** Parameters of the AlexNet-style teacher at width multiplier m, by hand from its layer list. */
function alexNetParameters(m: number): number {
  const w = (n: number) => Math.max(4, Math.round(n * m));
  const convs = [3, w(64), w(192), w(384), w(256), w(256)];
  let total = 0;
  for (let i = 1; i < convs.length; i++) total += 9 * convs[i - 1]! * convs[i]! + convs[i]!;
  const flat = 4 * 4 * w(256); // 32 -> three 2x2 pools -> 4x4
  return total + flat * w(1024) + w(1024) + w(1024) * w(512) + w(512) + w(512) * 10 + 10;
}

test("the CIFAR-10 teacher is full width in full mode only; the MNIST teacher does not depend on the mode", () => {
  const full = buildTeacherFor(shaped(32, 3), 1, "full");
  const quick = buildTeacherFor(shaped(32, 3), 1, "quick");
  assert.equal(full.countParams(), alexNetParameters(1));
  assert.equal(quick.countParams(), alexNetParameters(QUICK_ALEXNET_WIDTH));
  assert.ok(quick.countParams() < full.countParams() / 10, `quick ${quick.countParams()} vs full ${full.countParams()}`);
  const mnistFull = buildTeacherFor(shaped(28, 1), 1, "full");
  const mnistQuick = buildTeacherFor(shaped(28, 1), 1, "quick");
  assert.equal(mnistQuick.countParams(), mnistFull.countParams());
  for (const m of [full, quick, mnistFull, mnistQuick]) m.dispose();
});

test("a study's student on each frontend: the default psf student is the paper's own, weight for weight; the others bring their physics", () => {
  const grey = { ...shaped(28, 1), classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] };
  const sameWeights = (a: { model: { getWeights(): { dataSync(): Float32Array | Int32Array | Uint8Array }[] } }, b: typeof a) => {
    const wa = a.model.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = b.model.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(wa, wb);
  };
  sameWeights(buildStudentFor(grey, 3), buildCompressedMetaOnn({ inputShape: [28, 28, 1], numClasses: 10, seed: 3 }));
  sameWeights(buildStudentFor(grey, 3, { frontend: "psf" }), buildCompressedMetaOnn({ inputShape: [28, 28, 1], numClasses: 10, seed: 3 }));
  sameWeights(buildStudentFor(shaped(32, 3), 2), buildPolychromaticMetaOnn({ inputShape: [32, 32, 3], numClasses: 10, seed: 2 }));
  const rgbPsf = studentFrontendFor(shaped(32, 3), 0) as PsfConvFrontend;
  assert.equal(rgbPsf.colorMode, "sum", "the Polychromatic Meta ONN's monochrome sensor");
  assert.ok(studentFrontendFor(grey, 0, { frontend: "metasurface" }) instanceof MetasurfaceFrontend);
  assert.ok(studentFrontendFor(grey, 0, { frontend: "fourier" }) instanceof FourierFrontend);
  assert.ok(studentFrontendFor(grey, 0, { frontend: "ideal" }) instanceof IdealConvFrontend);
  const meta = studentFrontendFor(grey, 0, { frontend: "metasurface", kernels: 4 });
  assert.equal((meta as MetasurfaceFrontend).kernelCount, 4);
  assert.equal(meta.kernelSize, 7);
  assert.throws(() => studentFrontendFor(grey, 0, { frontend: "lens" as never }), /frontend: expected one of ideal, psf, metasurface, fourier, got "lens"/);
});
