import { test } from "node:test";
import assert from "node:assert/strict";
import { imageGrid, maskTile, mosaicTiles } from "../../src/data/preview";
import { imageGridChart } from "../../src/viz/charts";
import type { ImageDataset, SegmentationDataset } from "../../src/data/types";

test("imageGrid: tiles, class-name captions, and a mosaic with tiles at their grid places", () => {
  const n = 5;
  const ds: ImageDataset = {
    name: "t", count: n, height: 2, width: 3, channels: 1, classNames: ["zero", "one"],
    images: Float32Array.from({ length: n * 6 }, (_, i) => i / 100), labels: Uint8Array.from([0, 1, 1, 0, 1]),
  };
  const g = imageGrid(ds, { count: 5, columns: 2 });
  assert.equal(g.images.length, 5);
  assert.deepEqual(g.labels, ["zero", "one", "one", "zero", "one"]);
  assert.deepEqual(Array.from(g.images[3]!.values), Array.from(ds.images.subarray(18, 24)));
  // 3 rows x 2 columns of 2x3 tiles, 1-pixel gaps: (3*2 + 2) x (2*3 + 1)
  assert.deepEqual([g.mosaic.height, g.mosaic.width, g.mosaic.channels], [8, 7, 1]);
  const at = (r: number, c: number) => g.mosaic.values[r * 7 + c]!;
  assert.equal(at(0, 4), ds.images[6]); // tile 1, row 0, col 0
  assert.equal(at(7, 2), ds.images[4 * 6 + 5]); // tile 4, row 1, col 2
  assert.equal(at(2, 0), 1); // gap row
  assert.equal(at(7, 5), 1); // empty cell
  const picked = imageGrid(ds, { indices: [4, 0] });
  assert.deepEqual(picked.labels, ["one", "zero"]);
  assert.equal(picked.columns, 2);
});

test("imageGrid on RGB segmentation data keeps interleaved channels; maskTile gives the mask", () => {
  const seg: SegmentationDataset = {
    name: "s", count: 2, height: 1, width: 2, channels: 3,
    images: Float32Array.from({ length: 12 }, (_, i) => i / 12), masks: Uint8Array.from([1, 0, 0, 1]),
  };
  const g = imageGrid(seg, { columns: 2, gap: 0 });
  assert.deepEqual(g.labels, ["#0", "#1"]);
  assert.deepEqual([g.mosaic.height, g.mosaic.width, g.mosaic.channels], [1, 4, 3]);
  assert.deepEqual(Array.from(g.mosaic.values), Array.from(seg.images));
  assert.deepEqual(Array.from(maskTile(seg, 1).values), [0, 1]);
  assert.throws(() => mosaicTiles([g.images[0]!, maskTile(seg, 0)], 2), /mixed sizes/);
  assert.throws(() => imageGrid(seg, { indices: [2] }), /index: got 2; expected an integer in 0\.\.1/);
});

test("imageGrid output feeds the viz imageGridChart builder (grey and RGB)", () => {
  const grey: ImageDataset = {
    name: "g", count: 3, height: 2, width: 2, channels: 1, classNames: ["a", "b"],
    images: Float32Array.from({ length: 12 }, (_, i) => i / 12), labels: Uint8Array.from([0, 1, 0]),
  };
  const rgb: SegmentationDataset = {
    name: "c", count: 2, height: 2, width: 2, channels: 3,
    images: Float32Array.from({ length: 24 }, (_, i) => i / 24), masks: new Uint8Array(8),
  };
  for (const ds of [grey, rgb]) {
    const g = imageGrid(ds);
    const spec = imageGridChart(g.images, { labels: g.labels, columns: g.columns }) as { data: { values: { url: string; label: string }[] } };
    assert.equal(spec.data.values.length, ds.count);
    assert.ok(spec.data.values.every((v) => v.url.startsWith("data:image/png;base64,")));
    assert.deepEqual(spec.data.values.map((v) => v.label), g.labels);
  }
});
