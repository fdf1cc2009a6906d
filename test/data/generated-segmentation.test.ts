import { test } from "node:test";
import assert from "node:assert/strict";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";

test("the generated car set is deterministic under a seed and per image independent of count", () => {
  const a = generateSegmentationSet({ count: 6, height: 32, width: 48, seed: 11 });
  const b = generateSegmentationSet({ count: 6, height: 32, width: 48, seed: 11 });
  assert.deepEqual(a.images, b.images);
  assert.deepEqual(a.masks, b.masks);
  const c = generateSegmentationSet({ count: 6, height: 32, width: 48, seed: 12 });
  assert.notDeepEqual(a.masks, c.masks);
  const prefix = generateSegmentationSet({ count: 2, height: 32, width: 48, seed: 11 });
  assert.deepEqual(prefix.images, a.images.subarray(0, 2 * 32 * 48 * 3));
  assert.deepEqual(prefix.masks, a.masks.subarray(0, 2 * 32 * 48));
});

test("generated images are RGB in [0, 1] with one car per binary mask, distinguishable from the background", () => {
  const h = 64;
  const w = 64;
  const ds = generateSegmentationSet({ count: 24, seed: 0 });
  assert.deepEqual([ds.count, ds.height, ds.width, ds.channels], [24, h, w, 3]);
  assert.equal(ds.images.length, 24 * h * w * 3);
  for (const v of ds.images) assert.ok(v >= 0 && v <= 1);
  for (const m of ds.masks) assert.ok(m === 0 || m === 1);
  for (let i = 0; i < ds.count; i++) {
    const mask = ds.masks.subarray(i * h * w, (i + 1) * h * w);
    let area = 0;
    let minRow = h;
    let maxRow = -1;
    for (let p = 0; p < h * w; p++) {
      if (!mask[p]) continue;
      area++;
      minRow = Math.min(minRow, Math.floor(p / w));
      maxRow = Math.max(maxRow, Math.floor(p / w));
    }
    const fraction = area / (h * w);
    assert.ok(fraction > 0.03 && fraction < 0.5, `image ${i}: car covers ${fraction}`);
    assert.ok(maxRow - minRow >= 4, `image ${i}: car is ${maxRow - minRow + 1} rows tall`);
    assert.equal(largestComponent(mask, h, w), area, `image ${i}: the car mask is one connected shape`);
  }
});

test("bad options name the argument", () => {
  assert.throws(() => generateSegmentationSet({ count: 0 }), /count: got 0; expected a positive integer/);
  assert.throws(() => generateSegmentationSet({ height: 4 }), /expected at least 8x8/);
});

/** Size of the largest 4-connected component of a binary mask (flood fill). */
function largestComponent(mask: Uint8Array, h: number, w: number): number {
  const seen = new Uint8Array(h * w);
  let best = 0;
  for (let start = 0; start < h * w; start++) {
    if (!mask[start] || seen[start]) continue;
    let size = 0;
    const stack = [start];
    seen[start] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      size++;
      const r = Math.floor(p / w);
      const c = p % w;
      for (const [dr, dc] of [[1, 0], [-1, 0], [0, 1], [0, -1]] as const) {
        const rr = r + dr;
        const cc = c + dc;
        const q = rr * w + cc;
        if (rr >= 0 && rr < h && cc >= 0 && cc < w && mask[q] && !seen[q]) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    best = Math.max(best, size);
  }
  return best;
}
