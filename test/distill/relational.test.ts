import { test, before } from "node:test";
import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { batchSimilarity, normalisedDistances, relationalKdLoss, similarityPreservingLoss, tripletAngles } from "../../src/distill/relational";

before(async () => {
  await initBackend({ backend: "cpu" });
});

type Rows = number[][];

// Independent references in float64 with plain loops, from the papers' definitions.
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const sub = (a: number[], b: number[]) => a.map((v, i) => v - b[i]!);
const norm = (a: number[]) => Math.sqrt(dot(a, a));
const huber = (x: number) => (Math.abs(x) < 1 ? 0.5 * x * x : Math.abs(x) - 0.5);

function referenceSp(s: Rows, t: Rows): number {
  const gram = (f: Rows) => f.map((fi) => {
    const row = f.map((fj) => dot(fi, fj));
    const n = norm(row);
    return row.map((v) => v / n);
  });
  const gs = gram(s);
  const gt = gram(t);
  let sum = 0;
  for (let i = 0; i < s.length; i++) for (let j = 0; j < s.length; j++) sum += (gt[i]![j]! - gs[i]![j]!) ** 2;
  return sum / s.length ** 2;
}

function referenceRkd(s: Rows, t: Rows, distanceWeight = 25, angleWeight = 50): { distance: number; angle: number; loss: number } {
  const b = s.length;
  const potentials = (f: Rows) => {
    const d = f.map((fi) => f.map((fj) => norm(sub(fi, fj))));
    let mean = 0;
    for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) if (i !== j) mean += d[i]![j]!;
    mean /= b * (b - 1);
    const unit = (j: number, i: number) => {
      const e = sub(f[i]!, f[j]!);
      const n = norm(e);
      return n === 0 ? e.map(() => 0) : e.map((v) => v / n);
    };
    const angles: number[] = [];
    for (let j = 0; j < b; j++) for (let i = 0; i < b; i++) for (let k = 0; k < b; k++) angles.push(dot(unit(j, i), unit(j, k)));
    return { d: d.flat().map((v) => v / mean), angles };
  };
  const ps = potentials(s);
  const pt = potentials(t);
  const distance = ps.d.reduce((acc, v, i) => acc + huber(v - pt.d[i]!), 0) / (b * b);
  const angle = ps.angles.reduce((acc, v, i) => acc + huber(v - pt.angles[i]!), 0) / b ** 3;
  return { distance, angle, loss: distanceWeight * distance + angleWeight * angle };
}

const value = (t: Tensor) => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

function randomRows(rows: number, cols: number, seed: number): Rows {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  return Array.from({ length: rows }, () => Array.from({ length: cols }, next));
}

test("similarity-preserving loss: a hand-computed batch and the loops of Tung & Mori's definition", () => {
  // G̃_s = I, G̃_t = all 1/√2: (2(1 − 1/√2)² + 2 · 1/2) / 4 = 1 − √2/2.
  const hand = value(similarityPreservingLoss(tf.tensor2d([[1, 0], [0, 1]]), tf.tensor2d([[1, 0], [1, 0]])));
  assert.ok(Math.abs(hand - (1 - Math.SQRT2 / 2)) < 1e-6, String(hand));
  const s = randomRows(6, 5, 1);
  const t = randomRows(6, 3, 2);
  const got = value(similarityPreservingLoss(tf.tensor2d(s), tf.tensor2d(t)));
  assert.ok(Math.abs(got - referenceSp(s, t)) < 1e-6 * Math.max(1, referenceSp(s, t)), `${got} vs ${referenceSp(s, t)}`);
  // Feature maps [b, h, w, c] are flattened per sample.
  const maps = value(similarityPreservingLoss(tf.tensor4d(s.flat().slice(0, 24), [6, 2, 2, 1]), tf.tensor2d(t)));
  const flat = s.map((r, i) => s.flat().slice(i * 4, i * 4 + 4));
  assert.ok(Math.abs(maps - referenceSp(flat, t)) < 1e-6, `${maps}`);
  const g = batchSimilarity(tf.tensor2d([[3, 4], [0, 0]]));
  assert.deepEqual(Array.from(g.dataSync()).map((v) => Math.round(v * 1e6) / 1e6), [1, 0, 0, 0], "row-normalised; a zero row stays zero, not NaN");
  g.dispose();
});

test("similarity-preserving loss ignores the features' scale, rotation and width, and nothing else", () => {
  const t = randomRows(5, 3, 3);
  // Student = 2.5 · teacher rotated in its first two coordinates, padded to width 4.
  const [c, s] = [Math.cos(0.7), Math.sin(0.7)];
  const student = t.map(([a, b, z]) => [2.5 * (c * a! - s * b!), 2.5 * (s * a! + c * b!), 2.5 * z!, 0]);
  assert.ok(value(similarityPreservingLoss(tf.tensor2d(student), tf.tensor2d(t))) < 1e-7);
  const moved = student.map((r, i) => (i === 0 ? r.map((v) => v + 0.3) : r));
  assert.ok(value(similarityPreservingLoss(tf.tensor2d(moved), tf.tensor2d(t))) > 1e-4);
  assert.throws(() => similarityPreservingLoss(tf.zeros([4, 2]), tf.zeros([3, 2])), /student batch 4 and teacher batch 3 differ/);
});

test("relational KD: distance and angle terms match the loops of Park et al.'s definition", () => {
  const s = randomRows(5, 4, 5);
  const t = randomRows(5, 6, 6);
  const r = relationalKdLoss(tf.tensor2d(s), tf.tensor2d(t), { distanceWeight: 2, angleWeight: 3 });
  const ref = referenceRkd(s, t, 2, 3);
  for (const k of ["distance", "angle", "loss"] as const) {
    const got = value(r[k]);
    assert.ok(Math.abs(got - ref[k]) < 1e-5 * Math.max(1, ref[k]) && ref[k] > 0, `${k}: ${got} vs ${ref[k]}`);
  }
  // Three hand-placed points: the right angle at the first one has cos 0; the others cos 1/√2.
  const angles = tripletAngles(tf.tensor2d([[0, 0], [1, 0], [0, 1]]));
  const a = angles.arraySync() as number[][][];
  assert.ok(Math.abs(a[0]![1]![2]!) < 1e-7 && Math.abs(a[1]![0]![2]! - Math.SQRT1_2) < 1e-6 && a[0]![0]![2] === 0);
  angles.dispose();
  const d = normalisedDistances(tf.tensor2d([[0, 0], [1, 0], [0, 1]]));
  const mean = (4 + 2 * Math.SQRT2) / 6;
  assert.ok(Math.abs((d.arraySync() as number[][])[1]![2]! - Math.SQRT2 / mean) < 1e-6);
  d.dispose();
});

test("relational KD is zero for a scaled, rotated, shifted copy of the teacher's features", () => {
  const t = randomRows(6, 2, 7);
  const [c, s] = [Math.cos(1.1), Math.sin(1.1)];
  const student = t.map(([a, b]) => [0.4 * (c * a! - s * b!) + 3, 0.4 * (s * a! + c * b!) - 1, 0]);
  const r = relationalKdLoss(tf.tensor2d(student), tf.tensor2d(t));
  assert.ok(value(r.loss) < 1e-5);
  tf.dispose([r.distance, r.angle]);
  const bent = student.map((row, i) => (i === 2 ? [row[0]!, row[1]! + 0.5, 0] : row));
  const r2 = relationalKdLoss(tf.tensor2d(bent), tf.tensor2d(t));
  assert.ok(value(r2.distance) > 1e-4 && value(r2.angle) > 1e-4);
  r2.loss.dispose();
  assert.throws(() => relationalKdLoss(tf.zeros([4, 2]), tf.zeros([4, 2]), { angleWeight: -1 }), /angleWeight must be a finite number >= 0/);
  assert.throws(() => tripletAngles(tf.zeros([2, 2])), /tripletAngles: needs a batch of at least 3 samples, got 2/);
});

test("gradients of both losses with respect to the student's features match central differences", () => {
  const s = randomRows(5, 3, 9);
  const t = randomRows(5, 4, 10);
  const teacher = tf.tensor2d(t);
  const losses: Record<string, (x: Tensor) => Tensor> = {
    sp: (x) => similarityPreservingLoss(x, teacher),
    rkd: (x) => {
      const r = relationalKdLoss(x, teacher);
      return r.loss;
    },
  };
  for (const [name, f] of Object.entries(losses)) {
    const grad = tf.grad(f)(tf.tensor2d(s));
    const analytic = Array.from(grad.dataSync());
    grad.dispose();
    const eps = 1e-2;
    const numeric = s.flat().map((_, k) => {
      const shifted = (delta: number) => {
        const flat = s.flat();
        flat[k]! += delta;
        return tf.tidy(() => f(tf.tensor2d(flat, [5, 3])).dataSync()[0]!);
      };
      return (shifted(eps) - shifted(-eps)) / (2 * eps);
    });
    const err = Math.sqrt(analytic.reduce((acc, v, i) => acc + (v - numeric[i]!) ** 2, 0) / numeric.reduce((acc, v) => acc + v * v, 0));
    assert.ok(err < 2e-2, `${name}: relative gradient error ${err}`);
  }
  teacher.dispose();
});
