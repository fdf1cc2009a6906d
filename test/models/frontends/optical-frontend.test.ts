import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../../src/runtime/tf";
import { initBackend } from "../../../src/runtime/backend";
import { createFrontend, FRONTEND_KINDS, type FrontendKind } from "../../../src/models/frontends/factory";
import { asOpticalFrontend, Conv2dFrontend, type OpticalFrontendLayer } from "../../../src/models/frontends/conv2d-adapter";
import { dilateKernels, makeOpticalKernels, type OpticalKernels } from "../../../src/models/frontends/optical-frontend";
import { kernelBankFromFrontend } from "../../../src/estimate/reference-network";
import { buildSegmentationOnn } from "../../../src/models/segmentation/segmentation-onn";
import { opticalKernelsChart } from "../../../src/viz/charts";

/**
 * Independent reference: the optical convolution y(i, j) = Σ_{r,q} K(r, q) x(i − r + c, j − q + c)
 * ("same" zero padding, c = ⌊k/2⌋) per kernel, in plain loops over the documented layout.
 * "sum" adds colours (channel j); "depthwise" keeps them (channel ch·n + j).
 */
function opticalConvolution(x: Float32Array, h: number, w: number, kernels: OpticalKernels, colorMode: "sum" | "depthwise"): Float64Array {
  const { kernelSize: k, inputChannels: c, count: n, values } = kernels;
  const outC = colorMode === "sum" ? n : c * n;
  const out = new Float64Array(h * w * outC);
  const centre = Math.floor(k / 2);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let r = 0; r < k; r++) {
        for (let q = 0; q < k; q++) {
          const yi = i - r + centre;
          const xj = j - q + centre;
          if (yi < 0 || yi >= h || xj < 0 || xj >= w) continue;
          for (let ch = 0; ch < c; ch++) {
            const v = x[(yi * w + xj) * c + ch];
            for (let m = 0; m < n; m++) {
              const o = colorMode === "sum" ? m : ch * n + m;
              out[(i * w + j) * outC + o] += values[((r * k + q) * c + ch) * n + m] * v;
            }
          }
        }
      }
    }
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function built(kind: FrontendKind, channels: number): OpticalFrontendLayer {
  const base = { kernels: 3, kernelSize: 3, inputChannels: channels, seed: 5 };
  const f = kind === "metasurface" ? createFrontend(kind, { ...base, gridSize: 8, cellPitchM: 2e-6, pixelPitchM: 4e-6 }) : createFrontend(kind, base);
  f.apply(tf.input({ shape: [6, 6, channels] }));
  return f;
}

test("every frontend kind reports its kernels in the one documented shape and orientation", async () => {
  await initBackend({ backend: "cpu" });
  const rules: Record<FrontendKind, string> = { ideal: "signed", psf: "unit", metasurface: "unit", fourier: "coherent-passive" };
  for (const kind of FRONTEND_KINDS) {
    for (const channels of [1, 3]) {
      const f = built(kind, channels);
      const k = f.opticalKernels();
      assert.deepEqual(k.shape, [3, 3, channels, f.kernelCount], `${kind}: shape`);
      assert.equal(k.values.length, 9 * channels * f.kernelCount);
      assert.equal(k.energyRule, rules[kind]);
      assert.equal(f.energyRule, rules[kind]);
      assert.equal(f.kernelSize, 3);
      assert.equal(f.inputChannels, channels);
      assert.equal(f.padding, "same");
      const x = tf.randomUniform([1, 6, 6, channels], 0, 1, "float32", 9);
      const y = f.apply(x) as tf.Tensor;
      assert.equal(y.shape[3], f.outputChannels, `${kind}: outputChannels`);
      if (kind === "fourier") {
        // Coherent: |x ⊛ h|² = (x ⊛ Re h)² + (x ⊛ Im h)², with h read from the arrays.
        assert.ok(k.imag !== null);
        const re = opticalConvolution(x.dataSync() as Float32Array, 6, 6, k, f.colorMode);
        const im = opticalConvolution(x.dataSync() as Float32Array, 6, 6, { ...k, values: k.imag }, f.colorMode);
        assert.ok(maxAbsDiff(y.dataSync(), re.map((v, i) => v * v + im[i] * im[i])) < 1e-5, "fourier: |x ⊛ h|²");
      } else {
        assert.equal(k.imag, null);
        const expected = opticalConvolution(x.dataSync() as Float32Array, 6, 6, k, f.colorMode);
        assert.ok(maxAbsDiff(y.dataSync(), expected) < 1e-5, `${kind} (${channels} channels): the layer convolves with exactly the reported kernels`);
      }
      if (rules[kind] === "unit") {
        const sums = new Float64Array(channels * f.kernelCount);
        k.values.forEach((v, i) => {
          assert.ok(v >= 0, `${kind}: intensity PSFs are non-negative`);
          sums[i % sums.length] += v;
        });
        sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-4, `${kind}: unit energy, got ${s}`));
      }
      const chart = f.draw() as Record<string, unknown>;
      assert.match(String(chart.$schema), /vega-lite/);
      // A label names whose optics these are in front of the frontend's own title.
      const titleOf = (spec: Record<string, unknown>): string => {
        const t = spec.title as string | { text: string };
        return typeof t === "string" ? t : t.text;
      };
      const labelled = titleOf(f.draw({ label: "NTKD student, seed 3" }) as Record<string, unknown>);
      assert.equal(labelled, `NTKD student, seed 3: ${titleOf(chart)}`, kind);
      tf.dispose([x, y]);
      f.dispose();
    }
  }
});

test("PSF conv frontends report their energy rule and signed readout; pairs expose both physical PSFs", async () => {
  await initBackend({ backend: "cpu" });
  const f = createFrontend("psf", { kernels: 2, kernelSize: 3, inputChannels: 1, energy: "bounded", signed: "pairs", seed: 1 });
  f.apply(tf.input({ shape: [5, 5, 1] }));
  assert.equal(f.energyRule, "bounded");
  assert.equal(f.signedReadout, "pairs");
  assert.equal(f.kernelCount, 4);
  const k = f.opticalKernels();
  assert.deepEqual(k.shape, [3, 3, 1, 4]);
  const p = f.psfs();
  assert.ok(maxAbsDiff(k.values, p.dataSync()) === 0);
  p.dispose();
  f.dispose();
  const unbuilt = createFrontend("psf", { kernels: 2, kernelSize: 3, inputChannels: 1 });
  assert.throws(() => unbuilt.opticalKernels(), /not built yet/);
});

test("a plain tf conv2d is wrapped as a frontend whose kernels are its weights flipped", async () => {
  await initBackend({ backend: "cpu" });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: "same", useBias: false, kernelInitializer: tf.initializers.randomNormal({ seed: 2 }) });
  const f = asOpticalFrontend(conv, "test");
  assert.ok(f instanceof Conv2dFrontend);
  f.apply(tf.input({ shape: [5, 5, 2] }));
  assert.equal(f.trainableWeights.length, 1);
  assert.equal(f.trainableWeights[0], conv.trainableWeights[0], "the wrapper trains the conv2d's own variable");
  assert.equal(f.inputChannels, 2);
  const k = f.opticalKernels();
  const w = conv.getWeights()[0].arraySync() as number[][][][];
  assert.equal(k.values[((0 * 3 + 1) * 2 + 1) * 2 + 0], Math.fround(w[2][1][1][0]), "optical tap (0, 1) is conv2d tap (2, 1)");
  const x = tf.randomUniform([1, 5, 5, 2], 0, 1, "float32", 3);
  const y = f.apply(x) as tf.Tensor;
  assert.ok(maxAbsDiff(y.dataSync(), opticalConvolution(x.dataSync() as Float32Array, 5, 5, k, "sum")) < 1e-5);
  assert.equal(asOpticalFrontend(f), f, "a frontend passes through");
  const restored = Conv2dFrontend.fromConfig(Conv2dFrontend, f.getConfig()) as Conv2dFrontend;
  assert.equal(restored.kernelSize, 3);
  assert.equal(restored.inner.getConfig().filters, 2, "the config carries the inner conv2d");
  assert.throws(() => asOpticalFrontend(tf.layers.dense({ units: 2 }), "buildX"), /buildX: the frontend must implement OpticalFrontend .* got a Dense/);
  assert.throws(() => asOpticalFrontend(tf.layers.conv2d({ filters: 1, kernelSize: 3, useBias: true })), /useBias: false/);
  assert.throws(() => asOpticalFrontend(tf.layers.conv2d({ filters: 1, kernelSize: 3, strides: 2, useBias: false })), /strides 1/);
  tf.dispose([x, y]);
});

test("dilateKernels moves tap (r, q) to (s·r, s·q) and keeps the energy", () => {
  const values = Float32Array.from({ length: 9 * 2 }, (_, i) => i + 1);
  const k = makeOpticalKernels(values, [3, 3, 1, 2], "unit");
  const d = dilateKernels(k, 2);
  assert.deepEqual(d.shape, [5, 5, 1, 2]);
  for (let r = 0; r < 3; r++) for (let q = 0; q < 3; q++) for (let j = 0; j < 2; j++) assert.equal(d.values[(2 * r * 5 + 2 * q) * 2 + j], values[(r * 3 + q) * 2 + j]);
  assert.equal(d.values.reduce((a, b) => a + b, 0), values.reduce((a, b) => a + b, 0));
  assert.equal(dilateKernels(k, 1), k);
  assert.throws(() => dilateKernels(makeOpticalKernels(new Float32Array(4), [2, 2, 1, 1], "unit"), 2), /even/);
  assert.throws(() => makeOpticalKernels(new Float32Array(3), [2, 2, 1, 1], "unit"), /3 values do not fill/);
});

test("kernelBankFromFrontend: conv2d with the bank reproduces the frontend's sensor channels, colour sensors included", async () => {
  await initBackend({ backend: "cpu" });
  for (const colorMode of ["sum", "depthwise"] as const) {
    const f = createFrontend("psf", { kernels: 2, kernelSize: 3, inputChannels: 3, colorMode, seed: 4 });
    const x = tf.randomUniform([1, 5, 5, 3], 0, 1, "float32", 6);
    const y = f.apply(x) as tf.Tensor;
    const bank = kernelBankFromFrontend(f);
    assert.equal(bank.count, f.outputChannels);
    const filter = tf.tensor4d(Float32Array.from(bank.values), [bank.size, bank.size, bank.channels, bank.count]);
    const z = tf.conv2d(x as tf.Tensor4D, filter, 1, "same");
    assert.ok(maxAbsDiff(y.dataSync(), z.dataSync()) < 1e-5, colorMode);
    tf.dispose([x, y, filter, z]);
    f.dispose();
  }
  const fourier = built("fourier", 1);
  assert.throws(() => kernelBankFromFrontend(fourier), /coherent/);
});

test("a segmentation ONN's frontend is one OpticalFrontend: every group's PSFs on the full-resolution grid; charts take it", async () => {
  await initBackend({ backend: "cpu" });
  const onn = buildSegmentationOnn({ inputShape: [8, 8, 3], groups: [2, 3, 1], decoderWidths: [4, 4], seed: 2 });
  const f = onn.frontend;
  assert.equal(f.kernelSize, 9, "4·(3 − 1) + 1");
  assert.equal(f.kernelCount, 6);
  assert.equal(f.outputChannels, 18);
  assert.equal(f.energyRule, "unit");
  assert.deepEqual(f.groupOfKernel, [0, 0, 1, 1, 1, 2]);
  const all = f.opticalKernels();
  assert.deepEqual(all.shape, [9, 9, 3, 6]);
  // Group 1 (binning 2): its 5×5 dilated PSF is centred in the 9×9 grid, so tap (r, q) lands at (4 + 2(r − 1), 4 + 2(q − 1)).
  const g1 = onn.groups[1].opticalKernels();
  for (let r = 0; r < 3; r++) for (let q = 0; q < 3; q++) for (let ch = 0; ch < 3; ch++) for (let j = 0; j < 3; j++) {
    const at = (((4 + 2 * (r - 1)) * 9 + 4 + 2 * (q - 1)) * 3 + ch) * 6 + 2 + j;
    assert.equal(all.values[at], g1.values[((r * 3 + q) * 3 + ch) * 3 + j]);
  }
  const sums = new Float64Array(3 * 6);
  all.values.forEach((v, i) => { sums[i % 18] += v; });
  sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-4, `energy kept: ${s}`));
  const chart = opticalKernelsChart(f, { kernels: 6 }) as { data: { values: { panel: string; row: number; col: number; value: number }[] } };
  const cell = chart.data.values.find((v) => v.panel === "kernel 5" && v.row === 4 && v.col === 4)!;
  assert.equal(cell.value, all.values[((4 * 9 + 4) * 3 + 0) * 6 + 5], "the chart shows the reported kernels");
  assert.match(JSON.stringify(f.draw()), /vconcat/);
  assert.throws(() => opticalKernelsChart(f, { channel: 3 }), /channel must be an integer in 0\.\.2/);
  onn.dispose();
});
