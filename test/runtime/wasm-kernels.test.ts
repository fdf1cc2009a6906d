import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { registerWasmTrainingKernels, setConv2DFilterGradStrategy, useWasmKernelOverrides } from "../../src/runtime/wasm-kernels";
import { randomTensor, runOn, relativeMaxError, HostTensor } from "./parity";

const TOL = 1e-4;

before(async () => {
  await initBackend({ backend: "cpu" });
  await initBackend({ backend: "wasm" });
  registerWasmTrainingKernels();
});

type Pad = "same" | "valid" | number | number[][];

interface ConvCase {
  batch: number; h: number; w: number; inC: number;
  kH: number; kW: number; outCOrMult: number;
  strides: [number, number]; dilations: [number, number]; pad: Pad;
  dimRoundingMode?: "floor" | "ceil" | "round";
}

const explicit = (t: number, b: number, l: number, r: number): number[][] => [[0, 0], [t, b], [l, r], [0, 0]];

// Strides, paddings of every kind, rectangular kernels, odd sizes, batch 1 and >1.
const CONV_CASES: ConvCase[] = [
  { batch: 2, h: 8, w: 8, inC: 3, kH: 3, kW: 3, outCOrMult: 4, strides: [1, 1], dilations: [1, 1], pad: "same" },
  { batch: 1, h: 9, w: 7, inC: 2, kH: 5, kW: 5, outCOrMult: 3, strides: [1, 1], dilations: [1, 1], pad: "same" },
  { batch: 3, h: 9, w: 7, inC: 2, kH: 3, kW: 2, outCOrMult: 5, strides: [1, 1], dilations: [1, 1], pad: "valid" },
  { batch: 2, h: 9, w: 8, inC: 3, kH: 3, kW: 3, outCOrMult: 2, strides: [2, 2], dilations: [1, 1], pad: "same" },
  { batch: 2, h: 10, w: 9, inC: 1, kH: 4, kW: 3, outCOrMult: 3, strides: [2, 3], dilations: [1, 1], pad: "valid" },
  { batch: 1, h: 7, w: 8, inC: 2, kH: 3, kW: 3, outCOrMult: 2, strides: [1, 1], dilations: [1, 1], pad: 1 },
  { batch: 2, h: 11, w: 10, inC: 2, kH: 3, kW: 3, outCOrMult: 2, strides: [2, 2], dilations: [1, 1], pad: 1, dimRoundingMode: "ceil" },
  { batch: 2, h: 8, w: 9, inC: 3, kH: 3, kW: 4, outCOrMult: 2, strides: [1, 2], dilations: [1, 1], pad: explicit(1, 2, 0, 3) },
  { batch: 4, h: 28, w: 28, inC: 1, kH: 5, kW: 5, outCOrMult: 6, strides: [1, 1], dilations: [1, 1], pad: "same" },
  { batch: 3, h: 12, w: 11, inC: 1, kH: 3, kW: 3, outCOrMult: 4, strides: [1, 1], dilations: [1, 1], pad: "same" },
];

// Depthwise adds dilations (with stride 1, as TensorFlow requires for dilated depthwise).
const DEPTHWISE_CASES: ConvCase[] = [
  ...CONV_CASES,
  { batch: 2, h: 9, w: 9, inC: 3, kH: 3, kW: 3, outCOrMult: 2, strides: [1, 1], dilations: [2, 2], pad: "same" },
  { batch: 1, h: 10, w: 8, inC: 2, kH: 3, kW: 2, outCOrMult: 1, strides: [1, 1], dilations: [2, 3], pad: "valid" },
  { batch: 2, h: 9, w: 9, inC: 2, kH: 2, kW: 3, outCOrMult: 3, strides: [1, 1], dilations: [3, 1], pad: explicit(2, 1, 1, 2) },
];

function describe(c: ConvCase): string {
  return `x[${c.batch},${c.h},${c.w},${c.inC}] k${c.kH}x${c.kW} s${c.strides} d${c.dilations} pad=${JSON.stringify(c.pad)}${c.dimRoundingMode ? " " + c.dimRoundingMode : ""}`;
}

function outShape(c: ConvCase, depthwise: boolean): number[] {
  const info = tf.backend_util.computeConv2DInfo([c.batch, c.h, c.w, c.inC], [c.kH, c.kW, c.inC, c.outCOrMult], c.strides, c.dilations,
    c.pad as "same", c.dimRoundingMode, depthwise);
  return info.outShape;
}

async function expectParity(kernel: string, inputs: Record<string, HostTensor>, attrs: Record<string, unknown>, label: string): Promise<void> {
  const reference = await runOn("cpu", kernel, inputs, attrs);
  const actual = await runOn("wasm", kernel, inputs, attrs);
  const err = relativeMaxError(actual, reference);
  assert.ok(err <= TOL, `${kernel} ${label}: relative max error ${err.toExponential(2)} > ${TOL}`);
}

test("Conv2DBackpropFilter on wasm matches cpu (im2col and transposed-conv routes)", async () => {
  for (const [i, c] of CONV_CASES.entries()) for (const strategy of ["im2col", "conv"] as const) {
    setConv2DFilterGradStrategy(strategy);
    const x = randomTensor([c.batch, c.h, c.w, c.inC], 100 + i);
    const dy = randomTensor(outShape(c, false), 200 + i);
    await expectParity("Conv2DBackpropFilter", { x, dy },
      { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: c.dimRoundingMode, filterShape: [c.kH, c.kW, c.inC, c.outCOrMult] }, `${strategy} ${describe(c)}`);
  }
  setConv2DFilterGradStrategy("auto");
});

test("Conv2DBackpropInput on wasm matches cpu", async () => {
  for (const [i, c] of CONV_CASES.entries()) {
    const filter = randomTensor([c.kH, c.kW, c.inC, c.outCOrMult], 300 + i);
    const dy = randomTensor(outShape(c, false), 400 + i);
    await expectParity("Conv2DBackpropInput", { dy, filter },
      { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: c.dimRoundingMode, inputShape: [c.batch, c.h, c.w, c.inC] }, describe(c));
  }
});

// tfjs's cpu depthwise backprop kernels ignore `dilations` (tfjs refuses dilated gradients
// before reaching them), so dilated cases are checked against the identity "a conv with
// dilation d equals a conv with the kernel spread out by d-1 zeros", computed on cpu without
// dilation.
function dilatedKernelShape(c: ConvCase): [number, number] {
  return [(c.kH - 1) * c.dilations[0] + 1, (c.kW - 1) * c.dilations[1] + 1];
}

/** Spreads a [kH, kW, C, M] kernel out by dilation zeros: [(kH-1)dH+1, (kW-1)dW+1, C, M]. */
function spreadKernel(k: HostTensor, dH: number, dW: number): HostTensor {
  const [kH, kW, C, M] = k.shape;
  const eH = (kH - 1) * dH + 1, eW = (kW - 1) * dW + 1;
  const values = new Float32Array(eH * eW * C * M);
  for (let i = 0; i < kH; i++) for (let j = 0; j < kW; j++) for (let q = 0; q < C * M; q++) {
    values[((i * dH) * eW + j * dW) * C * M + q] = k.values[(i * kW + j) * C * M + q];
  }
  return { shape: [eH, eW, C, M], values, dtype: "float32" };
}

/** Takes every dH-th row and dW-th column of a spread-out kernel gradient. */
function gatherKernel(g: HostTensor, kH: number, kW: number, dH: number, dW: number): HostTensor {
  const [, eW, C, M] = g.shape;
  const values = new Float32Array(kH * kW * C * M);
  for (let i = 0; i < kH; i++) for (let j = 0; j < kW; j++) for (let q = 0; q < C * M; q++) {
    values[(i * kW + j) * C * M + q] = g.values[((i * dH) * eW + j * dW) * C * M + q];
  }
  return { shape: [kH, kW, C, M], values, dtype: "float32" };
}

test("DepthwiseConv2dNativeBackpropFilter on wasm matches cpu", async () => {
  for (const [i, c] of DEPTHWISE_CASES.entries()) {
    const x = randomTensor([c.batch, c.h, c.w, c.inC], 500 + i);
    const dy = randomTensor(outShape(c, true), 600 + i);
    const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad, dimRoundingMode: c.dimRoundingMode, filterShape: [c.kH, c.kW, c.inC, c.outCOrMult] };
    const [eH, eW] = dilatedKernelShape(c);
    const spread = await runOn("cpu", "DepthwiseConv2dNativeBackpropFilter", { x, dy },
      { ...attrs, dilations: [1, 1], filterShape: [eH, eW, c.inC, c.outCOrMult] });
    const reference = gatherKernel(spread, c.kH, c.kW, c.dilations[0], c.dilations[1]);
    const actual = await runOn("wasm", "DepthwiseConv2dNativeBackpropFilter", { x, dy }, attrs);
    const err = relativeMaxError(actual, reference);
    assert.ok(err <= TOL, `DepthwiseConv2dNativeBackpropFilter ${describe(c)}: relative max error ${err.toExponential(2)} > ${TOL}`);
  }
});

test("DepthwiseConv2dNativeBackpropInput on wasm matches cpu", async () => {
  for (const [i, c] of DEPTHWISE_CASES.entries()) {
    const filter = randomTensor([c.kH, c.kW, c.inC, c.outCOrMult], 700 + i);
    const dy = randomTensor(outShape(c, true), 800 + i);
    const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad, dimRoundingMode: c.dimRoundingMode, inputShape: [c.batch, c.h, c.w, c.inC] };
    const reference = await runOn("cpu", "DepthwiseConv2dNativeBackpropInput",
      { dy, filter: spreadKernel(filter, c.dilations[0], c.dilations[1]) }, { ...attrs, dilations: [1, 1] });
    const actual = await runOn("wasm", "DepthwiseConv2dNativeBackpropInput", { dy, filter }, attrs);
    const err = relativeMaxError(actual, reference);
    assert.ok(err <= TOL, `DepthwiseConv2dNativeBackpropInput ${describe(c)}: relative max error ${err.toExponential(2)} > ${TOL}`);
  }
});

interface PoolCase { batch: number; h: number; w: number; c: number; f: [number, number]; s: [number, number]; pad: Pad }

const POOL_CASES: PoolCase[] = [
  { batch: 3, h: 8, w: 8, c: 4, f: [2, 2], s: [2, 2], pad: "valid" },
  { batch: 2, h: 7, w: 9, c: 3, f: [2, 2], s: [2, 2], pad: "valid" },
  { batch: 2, h: 7, w: 9, c: 3, f: [2, 2], s: [2, 2], pad: "same" },
  { batch: 2, h: 9, w: 9, c: 2, f: [3, 3], s: [2, 2], pad: "same" },
  { batch: 1, h: 6, w: 7, c: 2, f: [3, 2], s: [1, 1], pad: "same" },
  { batch: 2, h: 9, w: 8, c: 2, f: [3, 3], s: [2, 1], pad: 1 },
];

test("MaxPoolGrad on wasm matches cpu, including tied maxima", async () => {
  // Realistic tie sources: ReLU outputs (windows of zeros) and quantised activations
  // (8-bit sensor-like levels), plus plain continuous values.
  const transforms: Array<[string, (v: number) => number]> = [
    ["continuous", (v) => v],
    ["relu", (v) => Math.max(0, v)],
    ["quantised", (v) => Math.round(v * 3) / 3],
  ];
  for (const [i, p] of POOL_CASES.entries()) {
    for (const [name, f] of transforms) {
      const input = randomTensor([p.batch, p.h, p.w, p.c], 900 + i, f);
      await tf.setBackend("cpu");
      const yCpu = tf.tidy(() => tf.maxPool(tf.tensor4d(input.values, input.shape as [number, number, number, number]), p.f, p.s, p.pad as "same"));
      const output: HostTensor = { shape: yCpu.shape, values: (await yCpu.data()) as Float32Array, dtype: "float32" };
      yCpu.dispose();
      const dy = randomTensor(output.shape, 1000 + i);
      await expectParity("MaxPoolGrad", { dy, input, output }, { filterSize: p.f, strides: p.s, pad: p.pad, dimRoundingMode: undefined },
        `${name} x[${input.shape}] f${p.f} s${p.s} pad=${JSON.stringify(p.pad)}`);
    }
  }
});

test("MaxPoolGrad with ties gives each window's gradient to its first maximum only", async () => {
  await tf.setBackend("wasm");
  // One 2x2 window, all four equal: TensorFlow sends dy to the top-left element.
  const dx = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid").mul(3).sum())(tf.ones([1, 2, 2, 1])));
  assert.deepEqual(Array.from(await dx.data()), [3, 0, 0, 0]);
  dx.dispose();
});

test("UnsortedSegmentSum on wasm matches cpu (repeated and out-of-range ids)", async () => {
  const x = randomTensor([7, 3, 2], 1100);
  const segmentIds: HostTensor = { shape: [7], values: Int32Array.from([0, 2, 2, 4, 0, 5, 1]), dtype: "int32" };
  await expectParity("UnsortedSegmentSum", { x, segmentIds }, { numSegments: 5 }, "7 rows into 5 segments");
});

test("gather's gradient runs on wasm", async () => {
  await tf.setBackend("wasm");
  const g = tf.tidy(() => tf.grad((p: tf.Tensor) => tf.gather(p, tf.tensor1d([2, 0, 2], "int32")).sum())(tf.zeros([3, 2])));
  assert.deepEqual(Array.from(await g.data()), [1, 1, 0, 0, 2, 2]);
  g.dispose();
});

test("BatchMatMul and _FusedMatMul with transposed operands on wasm match cpu", async () => {
  const shapes: Array<[number[], number[], boolean, boolean]> = [
    [[13, 7], [13, 5], true, false],
    [[6, 9], [4, 9], false, true],
    [[9, 6], [4, 9], true, true],
    [[3, 8, 5], [3, 4, 8], true, true],
    [[2, 5, 7], [1, 6, 7], false, true], // broadcast batch
    [[3, 5, 8], [3, 8, 4], false, false], // batched bias: wasm's own kernel gets this wrong
  ];
  for (const [i, [aShape, bShape, transposeA, transposeB]] of shapes.entries()) {
    const a = randomTensor(aShape, 1200 + i);
    const b = randomTensor(bShape, 1300 + i);
    const label = `a[${aShape}] b[${bShape}] tA=${transposeA} tB=${transposeB}`;
    await expectParity("BatchMatMul", { a, b }, { transposeA, transposeB }, label);
    const outCols = transposeB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
    const bias = randomTensor([outCols], 1400 + i);
    // tfjs's fused.matMul op hands its kernel rank-3 operands (wasm's kernel needs them).
    const to3 = (t: HostTensor): HostTensor => (t.shape.length === 3 ? t : { ...t, shape: [1, ...t.shape] });
    await expectParity("_FusedMatMul", { a: to3(a), b: to3(b), bias }, { transposeA, transposeB, activation: "relu" }, label + " +bias relu");
  }
});

interface AvgPoolCase { batch: number; h: number; w: number; c: number; f: [number, number]; s: [number, number]; pad: Pad; note: string }

// Non-overlapping windows take our loop; the rest must reach wasm's own kernel unchanged.
const AVG_POOL_CASES: AvgPoolCase[] = [
  { batch: 3, h: 28, w: 28, c: 8, f: [4, 4], s: [4, 4], pad: "valid", note: "sensor binning" },
  { batch: 2, h: 9, w: 11, c: 3, f: [2, 2], s: [2, 2], pad: "valid", note: "odd sizes: last row and column uncovered" },
  { batch: 2, h: 7, w: 9, c: 2, f: [3, 2], s: [3, 2], pad: "valid", note: "rectangular windows" },
  { batch: 1, h: 5, w: 4, c: 3, f: [1, 1], s: [1, 1], pad: "valid", note: "1x1 windows" },
  { batch: 2, h: 8, w: 8, c: 4, f: [2, 2], s: [2, 2], pad: "same", note: "'same' that needs no padding" },
  { batch: 2, h: 7, w: 9, c: 3, f: [2, 2], s: [2, 2], pad: "same", note: "delegated: 'same' padding" },
  { batch: 2, h: 9, w: 9, c: 2, f: [3, 3], s: [2, 2], pad: "valid", note: "delegated: overlapping windows" },
  { batch: 2, h: 8, w: 8, c: 2, f: [2, 2], s: [1, 1], pad: "valid", note: "delegated: stride 1" },
  { batch: 1, h: 8, w: 9, c: 2, f: [3, 3], s: [3, 3], pad: 1, note: "delegated: explicit padding" },
  { batch: 2, h: 6, w: 10, c: 2, f: [2, 3], s: [3, 2], pad: "valid", note: "delegated: gaps between windows" },
];

async function avgPoolOutputShape(p: AvgPoolCase, input: HostTensor): Promise<number[]> {
  await tf.setBackend("cpu");
  return tf.tidy(() => tf.avgPool(tf.tensor4d(input.values, input.shape as [number, number, number, number]), p.f, p.s, p.pad as "same").shape);
}

test("AvgPoolGrad on wasm matches cpu (non-overlapping windows and delegated geometries)", async () => {
  for (const [i, p] of AVG_POOL_CASES.entries()) {
    const input = randomTensor([p.batch, p.h, p.w, p.c], 1500 + i);
    const dy = randomTensor(await avgPoolOutputShape(p, input), 1600 + i);
    await expectParity("AvgPoolGrad", { dy, input }, { filterSize: p.f, strides: p.s, pad: p.pad },
      `${p.note}: x[${input.shape}] f${p.f} s${p.s} pad=${JSON.stringify(p.pad)}`);
  }
});

test("the gradient of avgPool through tf.grad on wasm matches cpu", async () => {
  for (const [i, p] of AVG_POOL_CASES.entries()) {
    const input = randomTensor([p.batch, p.h, p.w, p.c], 1700 + i);
    const weights = randomTensor(await avgPoolOutputShape(p, input), 1800 + i);
    const gradOn = async (backend: "cpu" | "wasm"): Promise<HostTensor> => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const dx = tf.tidy(() => {
        const w = tf.tensor(weights.values, weights.shape);
        return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(x as tf.Tensor4D, p.f, p.s, p.pad as "same"), w)))(tf.tensor(input.values, input.shape));
      });
      const result: HostTensor = { shape: dx.shape, values: (await dx.data()) as Float32Array, dtype: "float32" };
      dx.dispose();
      assert.equal(tf.memory().numTensors, before, `avgPool gradient on ${backend} leaked tensors`);
      return result;
    };
    const err = relativeMaxError(await gradOn("wasm"), await gradOn("cpu"));
    assert.ok(err <= TOL, `avgPool gradient, ${p.note}: relative max error ${err.toExponential(2)} > ${TOL}`);
  }
});

// Single-channel convs from 7 wide take the "taps as channels" route; the others are delegated.
const SINGLE_CHANNEL_CONV_CASES: Array<ConvCase & { note: string }> = [
  { batch: 4, h: 28, w: 28, inC: 1, kH: 7, kW: 7, outCOrMult: 8, strides: [1, 1], dilations: [1, 1], pad: "same", note: "optical frontend" },
  { batch: 2, h: 13, w: 11, inC: 1, kH: 5, kW: 7, outCOrMult: 3, strides: [1, 1], dilations: [1, 1], pad: "valid", note: "rectangular kernel" },
  { batch: 2, h: 15, w: 16, inC: 1, kH: 7, kW: 9, outCOrMult: 4, strides: [2, 3], dilations: [1, 1], pad: "same", note: "strides" },
  { batch: 1, h: 20, w: 22, inC: 1, kH: 3, kW: 7, outCOrMult: 2, strides: [1, 1], dilations: [2, 2], pad: "same", note: "dilations" },
  { batch: 2, h: 12, w: 14, inC: 1, kH: 7, kW: 7, outCOrMult: 5, strides: [1, 1], dilations: [1, 1], pad: explicit(1, 3, 2, 0), note: "explicit pads" },
  { batch: 2, h: 12, w: 13, inC: 1, kH: 7, kW: 7, outCOrMult: 2, strides: [2, 2], dilations: [1, 1], pad: 2, dimRoundingMode: "ceil", note: "ceil rounding" },
  { batch: 2, h: 12, w: 12, inC: 1, kH: 5, kW: 5, outCOrMult: 6, strides: [1, 1], dilations: [1, 1], pad: "same", note: "delegated: 5 wide" },
  { batch: 2, h: 12, w: 12, inC: 2, kH: 7, kW: 7, outCOrMult: 3, strides: [1, 1], dilations: [1, 1], pad: "same", note: "delegated: 2 channels" },
];

test("Conv2D of single-channel images on wasm matches cpu", async () => {
  for (const [i, c] of SINGLE_CHANNEL_CONV_CASES.entries()) {
    const x = randomTensor([c.batch, c.h, c.w, c.inC], 1900 + i);
    const filter = randomTensor([c.kH, c.kW, c.inC, c.outCOrMult], 2000 + i);
    await expectParity("Conv2D", { x, filter },
      { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dilations: c.dilations, dimRoundingMode: c.dimRoundingMode }, `${c.note}: ${describe(c)}`);
  }
});

test("Sum and Mean on wasm match cpu over rows and columns, with or without the batch (pooling route from 16 k values), and elsewhere (delegated)", async () => {
  const cases: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
    { shape: [12, 25, 21, 4], axis: [0, 1, 2], keepDims: false }, // a conv bias gradient
    { shape: [12, 25, 21, 4], axis: [2, 0, 1], keepDims: true }, // unordered axes, kept dims
    { shape: [12, 25, 21, 4], axis: [1, 2], keepDims: false }, // per-image sums
    { shape: [12, 25, 21, 4], axis: [-3, -2], keepDims: true }, // negative axes
    { shape: [3, 5, 7, 4], axis: [0, 1, 2], keepDims: false }, // small: wasm's own
    { shape: [64, 28, 28, 8], axis: [0, 1, 2], keepDims: false }, // a realistic size: float32 accumulation
    { shape: [3, 5, 7, 4], axis: [0, 1], keepDims: false }, // not rows and columns: wasm's own
    { shape: [3, 5, 7, 4], axis: [1, 2, 3], keepDims: false }, // wasm's own
    { shape: [5, 7, 4], axis: [0, 1], keepDims: false }, // rank 3: wasm's own
  ];
  for (const [i, c] of cases.entries()) for (const kernel of ["Sum", "Mean"]) {
    const x = randomTensor(c.shape, 2300 + i, (v) => v + 0.25); // a non-zero mean, as gradients have
    await expectParity(kernel, { x }, { axis: c.axis, keepDims: c.keepDims }, `x[${c.shape}] axis ${JSON.stringify(c.axis)} keepDims ${c.keepDims}`);
  }
  // int32 keeps wasm's own kernel and its integer result.
  const ints: HostTensor = { shape: [2, 2, 1, 3], values: Int32Array.from({ length: 12 }, (_, k) => k - 5), dtype: "int32" };
  const summed = await runOn("wasm", "Sum", { x: ints }, { axis: [0, 1, 2], keepDims: false });
  assert.equal(summed.dtype, "int32");
  assert.deepEqual([...summed.values], [-5 + -2 + 1 + 4, -4 + -1 + 2 + 5, -3 + 0 + 3 + 6]);
});

test("useWasmKernelOverrides(false) restores wasm's own AvgPoolGrad and Conv2D, and true brings ours back", async () => {
  await tf.setBackend("wasm");
  const ours = ["AvgPoolGrad", "Conv2D"].map((k) => tf.getKernel(k, "wasm")?.kernelFunc);
  useWasmKernelOverrides(false);
  try {
    const theirs = ["AvgPoolGrad", "Conv2D"].map((k) => tf.getKernel(k, "wasm")?.kernelFunc);
    theirs.forEach((f, k) => assert.notEqual(f, ours[k]));
    // wasm's own kernels still run (their setup survived the re-registration).
    const c = SINGLE_CHANNEL_CONV_CASES[0];
    await expectParity("Conv2D", { x: randomTensor([2, 12, 12, 1], 2100), filter: randomTensor([7, 7, 1, 8], 2101) },
      { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dilations: c.dilations }, "tfjs's own Conv2D");
  } finally {
    useWasmKernelOverrides(true);
  }
  assert.deepEqual(["AvgPoolGrad", "Conv2D"].map((k) => tf.getKernel(k, "wasm")?.kernelFunc), ours);
});

test("gradients of a Compressed-Meta-shaped network (7x7 single-channel conv, 4x4 binning, dense) on wasm match cpu", async () => {
  // The student's kernels in sequence: our Conv2D forward, AvgPoolGrad, and the filter gradient.
  const host = {
    x: randomTensor([3, 28, 28, 1], 2200, (v) => (v + 1) / 2),
    w: randomTensor([7, 7, 1, 8], 2201, (v) => (v + 1) / 20),
    fc: randomTensor([7 * 7 * 8, 10], 2202, (v) => v / 10),
  };
  const gradsOn = async (backend: "cpu" | "wasm"): Promise<HostTensor[]> => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const [x, w, fc] = [host.x, host.w, host.fc].map((h) => tf.tensor(h.values, h.shape));
    const loss = (wv: tf.Tensor, fcv: tf.Tensor) => {
      const sensed = tf.conv2d(x as tf.Tensor4D, wv as tf.Tensor4D, 1, "same");
      const binned = tf.avgPool(sensed, 4, 4, "valid");
      return tf.sum(tf.square(tf.matMul(tf.reshape(binned, [3, -1]), fcv as tf.Tensor2D))) as tf.Scalar;
    };
    const grads = tf.grads(loss)([w, fc]);
    const out = await Promise.all(grads.map(async (g) => ({ shape: g.shape, values: (await g.data()) as Float32Array, dtype: "float32" as const })));
    tf.dispose([...grads, x, w, fc]);
    assert.equal(tf.memory().numTensors, before, `gradients on ${backend} leaked tensors`);
    return out;
  };
  const reference = await gradsOn("cpu");
  const actual = await gradsOn("wasm");
  ["filter", "dense"].forEach((name, k) => {
    const err = relativeMaxError(actual[k], reference[k]);
    assert.ok(err <= TOL, `${name} gradient: relative max error ${err.toExponential(2)} > ${TOL}`);
  });
});
