/**
 * Encoder Gram KD: the Gram matrix of conv kernels by hand, its invariances, the orientation of
 * PSFs against the teacher's conv kernels, finite-difference gradients, and that training with
 * the term pulls the optics' span toward the teacher's first convolution.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import type { Tensor4D } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { centreKernels, gramMismatch, kernelGram, teacherKernelGram } from "../../src/distill/kernel-gram";
import { buildCompressedMetaOnn, defaultPsfFrontend } from "../../src/models/students";
import type { PsfConvFrontend } from "../../src/models/frontends/psf-conv";
import { psfToConv2dKernel } from "../../src/optics/psf";
import { trainStudent } from "../../src/train/api";
import { nonNegativeConv, smallMnist } from "../train/helpers";

before(async () => {
  await initBackend({ backend: "cpu" });
});

/** A conv teacher for 14x14 images whose first layer has `filters` kernels of `size`². */
function convTeacher(filters: number, size: number, seed: number) {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [14, 14, 1], filters, kernelSize: size, padding: "same", activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

test("kernelGram: WᵀW of the flattened kernels over its Frobenius norm, by hand", () => {
  // Two 1x2 kernels a = (1, 2), b = (3, 0): M = [[1, 3], [2, 0]], MMᵀ = [[10, 2], [2, 4]], ‖·‖ = √124.
  const k = tf.tensor4d([1, 3, 2, 0], [1, 2, 1, 2]);
  const g = kernelGram(k);
  const expected = [10, 2, 2, 4].map((v) => v / Math.sqrt(124));
  Array.from(g.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `entry ${i}: ${v}`));
  // The span, not the kernels: swapping the two kernels or scaling them changes nothing.
  const swapped = kernelGram(tf.tensor4d([3, 1, 0, 2], [1, 2, 1, 2]).mul(5) as Tensor4D);
  assert.ok(gramMismatch(g, swapped).dataSync()[0]! < 1e-10);
  assert.throws(() => kernelGram(tf.zeros([2, 2]) as never), /kernelGram: expected conv2d kernels \[k, k, C, n\]/);
  tf.dispose([k, g, swapped]);
});

test("centreKernels zero-pads a smaller kernel around its centre and crops a larger one to it", () => {
  const k = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3, 1, 1]);
  const padded = centreKernels(k, 5);
  assert.deepEqual(padded.shape, [5, 5, 1, 1]);
  const p = padded.dataSync();
  assert.equal(p[2 * 5 + 2], 5, "the centre stays the centre");
  assert.equal(p[1 * 5 + 1], 1);
  assert.equal(Array.from(p).reduce((a, b) => a + b, 0), 45, "nothing added but zeros");
  assert.deepEqual(Array.from(centreKernels(padded, 3).dataSync()), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(Array.from(centreKernels(k, 1).dataSync()), [5]);
  tf.dispose([k, padded]);
});

test("teacherKernelGram compares the teacher's conv kernels with the PSFs rotated by 180° (conv orientation)", () => {
  const teacher = convTeacher(2, 5, 3);
  // The teacher's kernels made non-negative with unit sums; the PSFs are them centred in 7x7 and
  // rotated by 180°, so the student's conv kernels are exactly the teacher's, and the mismatch 0.
  const [kernel, bias] = teacher.layers[0]!.getWeights();
  const unit = tf.tidy(() => {
    const a = tf.abs(kernel!);
    return tf.div(a, tf.sum(a, [0, 1], true)) as Tensor4D;
  });
  teacher.layers[0]!.setWeights([unit, bias!]);
  const psf = tf.tidy(() => psfToConv2dKernel(centreKernels(unit, 7)));
  const front = defaultPsfFrontend({ kernels: 2, kernelSize: 7, inputChannels: 1, seed: 0 });
  front.build([null, 14, 14, 1]);
  front.setPsfs(psf);
  const target = teacherKernelGram(teacher, 7, 1);
  const ours = tf.tidy(() => kernelGram(psfToConv2dKernel(front.effectiveKernels())));
  assert.ok(gramMismatch(ours, target).dataSync()[0]! < 1e-8, "same kernels, same Gram");
  // Without the rotation the PSFs are the flipped kernels: a different Gram (the test has teeth).
  const unrotated = tf.tidy(() => kernelGram(front.effectiveKernels()));
  assert.ok(gramMismatch(unrotated, target).dataSync()[0]! > 1e-3);
  assert.throws(() => teacherKernelGram(teacher, 7, 3), /reads 1 channels, the student's optical kernels 3/);
  tf.dispose([unit, psf, target, ours, unrotated]);
  teacher.dispose();
});

test("gramMismatch of kernelGram: gradient against central finite differences", () => {
  const target = kernelGram(tf.randomUniform([3, 3, 1, 2], 0, 1, "float32", 4) as Tensor4D);
  const k0 = tf.randomUniform([3, 3, 1, 3], 0.1, 1, "float32", 9) as Tensor4D;
  const f = (k: Tensor4D) => gramMismatch(kernelGram(k), target);
  const grad = tf.grad((k) => f(k as Tensor4D) as tf.Scalar)(k0);
  const g = grad.dataSync();
  const base = k0.dataSync();
  const h = 1e-2;
  for (const i of [0, 4, 13, 26]) {
    const at = (d: number) => tf.tidy(() => {
      const v = Float32Array.from(base);
      v[i]! += d;
      return f(tf.tensor4d(v, k0.shape)).dataSync()[0]!;
    });
    const fd = (at(h) - at(-h)) / (2 * h);
    assert.ok(Math.abs(fd - g[i]!) < 2e-3 + 2e-2 * Math.abs(fd), `entry ${i}: analytic ${g[i]}, finite difference ${fd}`);
  }
  tf.dispose([target, k0, grad]);
});

test("trainStudent with gram pulls the optics' span toward the teacher's first convolution; no tensor is left", async () => {
  const train = smallMnist(64);
  const teacher = convTeacher(3, 5, 11);
  // Non-negative teacher kernels: a span PSFs can reach (LeNet-5's mixed signs they only approach).
  const [k, b] = teacher.layers[0]!.getWeights();
  teacher.layers[0]!.setWeights([tf.abs(k!), b!]);
  const target = teacherKernelGram(teacher, 5, 1);
  const after: Record<string, number> = {};
  for (const method of ["none", "gram"] as const) {
    const s = buildCompressedMetaOnn({ frontend: defaultPsfFrontend({ kernels: 4, kernelSize: 5, inputChannels: 1, seed: 7 }), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 });
    const before = tf.memory().numTensors;
    const result = await trainStudent({ student: s, method, teacher, train, epochs: 3, batchSize: 16, learningRate: 3e-2, seed: 2, gram: { weight: 10 } });
    assert.equal(tf.memory().numTensors, before, `${method}: training keeps the tensor count flat`);
    if (method === "gram") assert.ok(result.history.every((h) => Number.isFinite(h.parts?.gram ?? NaN)), "the Gram term is logged");
    after[method] = tf.tidy(() => gramMismatch(kernelGram(psfToConv2dKernel((s.frontend as PsfConvFrontend).effectiveKernels())), target).dataSync()[0]!);
    s.dispose();
  }
  assert.ok(after.gram! < 0.7 * after.none!, `Gram mismatch after training: ${after.gram} with the term, ${after.none} without`);
  const plain = buildCompressedMetaOnn({ frontend: nonNegativeConv(4, 5, 7), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 });
  await assert.rejects(trainStudent({ student: plain, method: "gram", teacher, train, epochs: 1 }), /method "gram" needs an OpticalStudent whose optical layer has PSF kernels/);
  plain.dispose();
  target.dispose();
  teacher.dispose();
});
