import { test, before } from "node:test";
import { Conv2dFrontend } from "../../../src/models/frontends/conv2d-adapter";
import assert from "node:assert/strict";
import { tf } from "../../../src/runtime/tf";
import { initBackend } from "../../../src/runtime/backend";
import { buildSegmentationOnn, FIRST_SEGMENTATION_DECODER, SENSOR_CENTERING_SCALE } from "../../../src/models/segmentation/segmentation-onn";
import { PsfConvFrontend } from "../../../src/models/frontends/psf-conv";
import { randomTensor } from "../../runtime/parity";

before(async () => {
  await initBackend({ backend: "cpu" });
});

test("segmentation ONN: 56 RGB 3x3 kernels in groups of 8, 16, 32 at full, half and quarter resolution; mask logits", () => {
  const onn = buildSegmentationOnn({ inputShape: [16, 16, 3], seed: 1 });
  assert.deepEqual(onn.groups.map((g) => (g.trainableWeights[0].shape as number[]).join("x")), ["3x3x3x8", "3x3x3x16", "3x3x3x32"]);
  assert.equal(onn.groups.reduce((s, g) => s + (g.trainableWeights[0].shape as number[])[3], 0), 56);
  const x = tf.ones([2, 16, 16, 3]);
  const maps = onn.sense(x);
  assert.deepEqual(maps.map((m) => m.shape.join("x")), ["2x16x16x24", "2x8x8x48", "2x4x4x96"]);
  const logits = onn.apply(x);
  assert.deepEqual(logits.shape, [2, 16, 16, 1]);
  tf.dispose([x, logits, ...maps]);
  // frontend and backend partition the weights; the frontend holds only the optics
  const all = onn.trainableWeights("all").map((w) => w.name);
  const front = onn.trainableWeights("frontend").map((w) => w.name);
  const back = onn.trainableWeights("backend").map((w) => w.name);
  assert.deepEqual(all, [...front, ...back]);
  assert.equal(front.length, 3);
  assert.equal(onn.countParams("frontend"), 27 * 56);
  assert.equal(onn.countParams("all"), onn.countParams("frontend") + onn.countParams("backend"));
  onn.freezeFrontend();
  assert.equal(onn.trainableWeights("frontend").length, 0);
  assert.equal(onn.trainableWeights("backend").length, back.length);
  onn.dispose();
});

test("each group senses the binned scene convolved with its PSFs (hand loop), colour-major channels, unit energy", () => {
  const onn = buildSegmentationOnn({ inputShape: [8, 8, 3], groups: [2, 3], seed: 4 });
  const img = randomTensor([1, 8, 8, 3], 9, (v) => (v + 1) / 2);
  const x = tf.tensor(img.values, img.shape);
  const maps = onn.sense(x);
  const psf = (onn.groups[1] as PsfConvFrontend).psfs(); // [3, 3, 3, 3] optical orientation
  const P = psf.arraySync() as number[][][][];
  const got = maps[1].arraySync() as number[][][][];
  const binned = (i: number, j: number, c: number) => {
    if (i < 0 || j < 0 || i >= 4 || j >= 4) return 0;
    let s = 0;
    for (const [di, dj] of [[0, 0], [0, 1], [1, 0], [1, 1]]) s += img.values[((2 * i + di) * 8 + 2 * j + dj) * 3 + c];
    return s / 4;
  };
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) {
    let want = 0;
    for (let u = -1; u <= 1; u++) for (let v = -1; v <= 1; v++) want += binned(i - u, j - v, c) * P[1 + u][1 + v][c][k];
    const have = got[0][i][j][c * 3 + k];
    assert.ok(Math.abs(have - want) < 1e-5, `group 1 map at (${i}, ${j}), colour ${c}, kernel ${k}: ${have} vs hand ${want}`);
  }
  // a uniform scene of radiance 1 gives 1 in the interior of every map (unit-energy PSFs, binning averages)
  const ones = tf.ones([1, 8, 8, 3]);
  const flat = onn.sense(ones);
  const centre = flat.map((m) => (m.arraySync() as number[][][][])[0][1][1]);
  centre.forEach((values, g) => values.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-5, `group ${g}: ${v}`)));
  tf.dispose([x, psf, ones, ...maps, ...flat]);
  onn.dispose();
});

test("buildSegmentationOnn: a custom frontend factory, and argument errors", () => {
  const onn = buildSegmentationOnn({
    inputShape: [8, 8, 3],
    groups: [2, 2],
    decoderWidths: [4],
    frontendFactory: (a) => tf.layers.conv2d({ filters: a.kernels, kernelSize: a.kernelSize, padding: "same", useBias: false, name: a.name }),
  });
  assert.deepEqual(onn.groups.map((g) => g.getClassName()), ["Conv2dFrontend", "Conv2dFrontend"], "plain conv2d groups are wrapped as frontends");
  assert.deepEqual(onn.groups.map((g) => (g as Conv2dFrontend).inner.getClassName()), ["Conv2D", "Conv2D"]);
  onn.dispose();
  assert.throws(() => buildSegmentationOnn({ inputShape: [10, 10, 3] }), /not divisible by the largest scale 4/);
  assert.throws(() => buildSegmentationOnn({ scales: [1, 3, 9] }), /double from group to group/);
  assert.throws(() => buildSegmentationOnn({ groups: [8, 16], scales: [1, 2, 4] }), /one scale per group/);
  assert.throws(() => buildSegmentationOnn({ decoderWidths: [8] }), /decoderWidths needs 2 entries/);
  assert.throws(() => buildSegmentationOnn({ groups: [8, 0, 4] }), /groups must be a non-empty list of positive integers/);
  assert.throws(() => buildSegmentationOnn({ colorMode: "mono" as never }), /colorMode/);
});

test("decoder: bottleneck and per-level conv blocks as asked; centred sensor values are 4·(v − 0.5) fed to the same decoder", () => {
  const convNames = (o: ReturnType<typeof buildSegmentationOnn>) => o.backend.layers.filter((l) => l.getClassName() === "Conv2D").map((l) => l.name);
  const first = buildSegmentationOnn({ inputShape: [8, 8, 3], groups: [2, 3], decoderWidths: [4], seed: 5, ...FIRST_SEGMENTATION_DECODER });
  assert.deepEqual(convNames(first), ["seg_onn_conv0", "seg_onn_logits"]);
  const deep = buildSegmentationOnn({ inputShape: [8, 8, 3], groups: [2, 3], decoderWidths: [4], seed: 5, bottleneckConvs: 2, decoderConvs: 2 });
  assert.deepEqual(convNames(deep), ["seg_onn_bottleneck", "seg_onn_bottleneck_1", "seg_onn_conv0", "seg_onn_conv0_1", "seg_onn_logits"]);
  // bottleneck convs read the coarsest map (3 kernels x 3 colours) and keep decoderWidths[0] channels
  assert.deepEqual(deep.backend.getLayer("seg_onn_bottleneck").getWeights()[0].shape, [3, 3, 9, 4]);
  assert.equal(deep.backend.getLayer("seg_onn_bottleneck_1").outputShape[3], 4);
  first.dispose();
  deep.dispose();

  const raw = buildSegmentationOnn({ inputShape: [8, 8, 3], groups: [2, 3], decoderWidths: [4], seed: 6, sensorNormalization: "none" });
  const centred = buildSegmentationOnn({ inputShape: [8, 8, 3], groups: [2, 3], decoderWidths: [4], seed: 6 });
  const maps = [randomTensor([2, 8, 8, 6], 1, (v) => (v + 1) / 2), randomTensor([2, 4, 4, 9], 2, (v) => (v + 1) / 2)].map((h) => tf.tensor(h.values, h.shape));
  const byHand = maps.map((m) => tf.mul(tf.sub(m, 0.5), SENSOR_CENTERING_SCALE));
  const a = centred.backend.predict(maps) as tf.Tensor;
  const b = raw.backend.predict(byHand) as tf.Tensor;
  const c = raw.backend.predict(maps) as tf.Tensor;
  const [va, vb, vc] = [a, b, c].map((t) => t.dataSync());
  va.forEach((v, i) => assert.ok(Math.abs(v - vb[i]) < 1e-4, `pixel ${i}: ${v} vs ${vb[i]}`));
  assert.ok(va.some((v, i) => Math.abs(v - vc[i]) > 1e-3), "centring changes what the decoder sees");
  tf.dispose([...maps, ...byHand, a, b, c]);
  raw.dispose();
  centred.dispose();
  assert.throws(() => buildSegmentationOnn({ bottleneckConvs: -1 }), /bottleneckConvs must be a non-negative integer/);
  assert.throws(() => buildSegmentationOnn({ decoderConvs: 1.5 }), /decoderConvs must be a non-negative integer/);
  assert.throws(() => buildSegmentationOnn({ sensorNormalization: "batch" as never }), /sensorNormalization must be "centered" or "none"/);
});
