import { test } from "node:test";
import assert from "node:assert/strict";
import { makeRng } from "../../src/runtime/seed";
import { nearestNeighbourAgreement, pca2d, tsne2d } from "../../src/viz/embedding";

/** Three well-separated Gaussian clusters in 10-D. */
function clusters(perCluster: number, seed: number): { values: Float64Array; labels: number[] } {
  const rand = makeRng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
  const values: number[] = [];
  const labels: number[] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < perCluster; i++) {
      for (let d = 0; d < 10; d++) values.push((d === c ? 8 : 0) + gauss());
      labels.push(c);
    }
  }
  return { values: Float64Array.from(values), labels };
}

test("PCA of points on a line in 3-D recovers the line as the first component", () => {
  const values = Float64Array.from({ length: 30 }, (_, k) => {
    const i = Math.floor(k / 3);
    return [1, 2, -2][k % 3] * i;
  });
  const y = pca2d({ values, count: 10, dims: 3 });
  // Projections onto the unit direction (1, 2, −2)/3 are 3·i up to sign and centring.
  const first = Array.from({ length: 10 }, (_, i) => y[2 * i]);
  const steps = first.slice(1).map((v, i) => Math.abs(v - first[i]));
  steps.forEach((s) => assert.ok(Math.abs(s - 3) < 1e-6, `step ${s}`));
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(y[2 * i + 1]) < 1e-6);
});

test("t-SNE keeps separated clusters separated and is deterministic under a seed", () => {
  const { values, labels } = clusters(25, 3);
  const a = tsne2d({ values, count: 75, dims: 10 }, { perplexity: 10, iterations: 400, seed: 1 });
  const b = tsne2d({ values, count: 75, dims: 10 }, { perplexity: 10, iterations: 400, seed: 1 });
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.ok(nearestNeighbourAgreement(a, labels) > 0.95);
  assert.ok(a.every(Number.isFinite));
});

test("embeddings reject NaN and mis-sized input, naming the point", () => {
  assert.throws(() => tsne2d({ values: [1, 2, Number.NaN, 4], count: 2, dims: 2 }), /value 2 \(point 1\) is NaN/);
  assert.throws(() => pca2d({ values: [1, 2, 3], count: 2, dims: 2 }), /count\*dims/);
});
