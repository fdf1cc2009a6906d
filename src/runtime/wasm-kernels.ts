/**
 * Training kernels for tfjs's wasm backend.
 *
 * tfjs-backend-wasm 4.22 lacks the filter gradients of conv2d and depthwise conv2d, the input
 * gradient of depthwise conv2d and UnsortedSegmentSum (gather's gradient), and its own
 * Conv2DBackpropInput, MaxPoolGrad and AvgPoolGrad are slow naive loops (and its transposed
 * matmuls, wide single-channel Conv2D and sums over an image's rows and columns run well below
 * XNNPACK's speed). Each is rebuilt
 * either on wasm's XNNPACK kernels (conv2d / depthwise conv2d over rearranged tensors) or,
 * for the scatter-like ones, as a direct loop over the wasm heap. Nothing goes through the
 * JS cpu backend and no tensor data is copied out of the wasm heap.
 *
 * The conv identities used (NHWC, stride s, dilation d, padding top/left pt/pl):
 *   dW[k,c,o] = sum_{b,y} xpad[b, y*s + k*d, c] dy[b, y, o]
 *     = conv2d(input = x^T [c, H, W, b], filter = dy^T [oh, ow, b, o], stride d, dilation s)
 *   dx[i,c] = sum_{k,o} dyd[i + pt - k*d, o] w[k,c,o]   (dyd = dy with s-1 zeros between rows)
 *     = conv2d(dyd padded by (K-1)d - pt, filter = w flipped in space with in/out swapped, dilation d)
 */
import { tf } from "./tfjs-packages";

type TensorInfo = tf.TensorInfo;
type NamedAttrMap = tf.NamedAttrMap;
type KernelFunc = tf.KernelFunc;
type Pads4 = [[number, number], [number, number], [number, number], [number, number]];

/** The parts of tfjs-backend-wasm's BackendWasm that these kernels use. */
interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Kernels whose wasm originals we replace (originals kept for the cases we delegate). */
const OVERRIDDEN = ["Conv2D", "Conv2DBackpropInput", "MaxPoolGrad", "AvgPoolGrad", "BatchMatMul", "_FusedMatMul", "Sum", "Mean"] as const;

/** Kernels wasm lacks that we add. */
const ADDED = [
  "Conv2DBackpropFilter",
  "DepthwiseConv2dNativeBackpropFilter",
  "DepthwiseConv2dNativeBackpropInput",
  "UnsortedSegmentSum",
] as const;

/** wasm kernels our implementations call, captured before anything is re-registered. */
const USED = ["Conv2D", "DepthwiseConv2dNative", "Transpose", "Reshape", "Reverse", "PadV2", "Sum", "Add", "AvgPool", "Multiply",
  "Relu", "Relu6", "Elu", "Sigmoid", "LeakyRelu", "Prelu"] as const;

const original = new Map<string, KernelFunc>();
/**
 * The setup functions of the replaced kernels (wasm's bind their C++ entry points there). They
 * stay registered with our replacements, so that the originals we delegate to (and Conv2D, which
 * the other kernels call) are set up even when registration precedes the backend's initialisation.
 */
const originalSetup = new Map<string, tf.KernelConfig["setupFunc"]>();
let registered = false;

function registerAs(name: (typeof OVERRIDDEN)[number] | (typeof ADDED)[number], kernelFunc: KernelFunc): void {
  tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc, setupFunc: originalSetup.get(name) });
}

function originalKernel(name: string): KernelFunc {
  const f = original.get(name);
  if (f === undefined) throw new Error(`wasm-kernels: wasm kernel ${name} was not captured; call registerWasmTrainingKernels() first`);
  return f;
}

/** Small toolkit over wasm's own kernels; every intermediate is freed with `free`. */
class Ops {
  constructor(readonly backend: WasmBackendLike) {}

  run(name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
    return originalKernel(name)({ inputs, attrs, backend: this.backend as unknown as tf.KernelBackend }) as TensorInfo;
  }
  free(...infos: TensorInfo[]): void {
    for (const t of infos) this.backend.disposeData(t.dataId);
  }
  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run("Reshape", { x }, { shape });
  }
  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run("Transpose", { x }, { perm });
  }
  reverse(x: TensorInfo, dims: number[]): TensorInfo {
    return this.run("Reverse", { x }, { dims });
  }
  pad(x: TensorInfo, paddings: number[][]): TensorInfo {
    return this.run("PadV2", { x }, { paddings, constantValue: 0 });
  }
  sum(x: TensorInfo, axis: number): TensorInfo {
    return this.run("Sum", { x }, { axis: [axis], keepDims: false });
  }
  /** x times a constant. */
  scale(x: TensorInfo, factor: number): TensorInfo {
    const k = this.backend.makeOutput([], "float32");
    (this.backend.typedArrayFromHeap(k) as Float32Array)[0] = factor;
    const y = this.run("Multiply", { a: x, b: k }, {});
    this.free(k);
    return y;
  }
  conv2d(x: TensorInfo, filter: TensorInfo, strides: [number, number], dilations: [number, number], pad: Pads4): TensorInfo {
    return this.run("Conv2D", { x, filter }, { strides, dilations, pad, dataFormat: "NHWC", dimRoundingMode: undefined } as unknown as NamedAttrMap);
  }
  depthwise(x: TensorInfo, filter: TensorInfo, strides: [number, number], dilations: [number, number], pad: Pads4): TensorInfo {
    return this.run("DepthwiseConv2dNative", { x, filter }, { strides, dilations, pad, dataFormat: "NHWC", dimRoundingMode: undefined } as unknown as NamedAttrMap);
  }

  /** Frees `x` and returns `next(x)`; keeps pipelines short and leak-free. */
  then(x: TensorInfo, next: (x: TensorInfo) => TensorInfo): TensorInfo {
    const y = next(x);
    this.free(x);
    return y;
  }

  /** The leading [n, h, w, c] corner of a rank-4 tensor (wasm's Slice copies the whole input through JS first). */
  crop4(x: TensorInfo, h: number, w: number): TensorInfo {
    const [n, H, W, c] = x.shape;
    if (h === H && w === W) return x;
    if (h > H || w > W) throw new Error(`wasm-kernels: crop4 of ${JSON.stringify(x.shape)} to h=${h}, w=${w} would grow it`);
    const out = this.backend.makeOutput([n, h, w, c], x.dtype);
    const src = this.backend.typedArrayFromHeap(x);
    const dst = this.backend.typedArrayFromHeap(out);
    const rowLen = w * c;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < h; i++) {
        const from = ((b * H + i) * W) * c;
        dst.set(src.subarray(from, from + rowLen), (b * h + i) * rowLen);
      }
    }
    this.free(x);
    return out;
  }

  /**
   * Inserts s-1 zero rows/columns after every row/column of an NHWC tensor (the stride
   * "holes" of a transposed convolution); shape [n, oh*sh, ow*sw, c].
   */
  dilateSpatial(x: TensorInfo, sh: number, sw: number): TensorInfo {
    if (sh === 1 && sw === 1) return this.reshape(x, x.shape);
    const [n, oh, ow, c] = x.shape;
    const six = this.reshape(x, [n * oh, 1, ow, 1, c]);
    const padded = this.pad(six, [[0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
    this.free(six);
    return this.then(padded, (p) => this.reshape(p, [n, oh * sh, ow * sw, c]));
  }
}

interface ConvGeometry {
  batch: number; inH: number; inW: number; inC: number;
  outH: number; outW: number;
  kH: number; kW: number;
  sH: number; sW: number;
  dH: number; dW: number;
  top: number; bottom: number; left: number; right: number;
}

function assertChannelsLast(kernel: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(`wasm ${kernel}: dataFormat "${String(dataFormat)}" is not supported; the wasm backend computes NHWC ("channelsLast") only`);
  }
}

function geometry(inShape: number[], filterShape: number[], attrs: NamedAttrMap, depthwise: boolean): ConvGeometry {
  const strides = attrs.strides as [number, number] | number;
  const dilations = (attrs.dilations ?? 1) as [number, number] | number;
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number], filterShape as [number, number, number, number],
    strides, dilations, attrs.pad as "same", attrs.dimRoundingMode as "floor" | undefined, depthwise, "channelsLast");
  return {
    batch: info.batchSize, inH: info.inHeight, inW: info.inWidth, inC: info.inChannels,
    outH: info.outHeight, outW: info.outWidth,
    kH: info.filterHeight, kW: info.filterWidth,
    sH: info.strideHeight, sW: info.strideWidth,
    dH: info.dilationHeight, dW: info.dilationWidth,
    top: info.padInfo.top, bottom: info.padInfo.bottom, left: info.padInfo.left, right: info.padInfo.right,
  };
}

/**
 * Padding for the "filter gradient as a convolution" trick: the original top/left pads, and
 * bottom/right pads large enough that the output covers the whole kernel (ceil rounding can
 * leave the last window hanging over the padded input; the overhang reads zeros).
 */
function filterGradPads(g: ConvGeometry): Pads4 {
  const bottom = Math.max(g.bottom, (g.outH - 1) * g.sH + (g.kH - 1) * g.dH + 1 - g.inH - g.top);
  const right = Math.max(g.right, (g.outW - 1) * g.sW + (g.kW - 1) * g.dW + 1 - g.inW - g.left);
  return [[0, 0], [g.top, bottom], [g.left, right], [0, 0]];
}

/**
 * Padding of the zero-dilated dy (height L = outH*sH) for the input gradient as a stride-1
 * correlation with the flipped kernel, or null when the forward padding exceeded the
 * kernel's reach (negative padding; delegated).
 */
function inputGradPads(g: ConvGeometry): Pads4 | null {
  const top = (g.kH - 1) * g.dH - g.top;
  const left = (g.kW - 1) * g.dW - g.left;
  if (top < 0 || left < 0) return null;
  const bottom = Math.max(0, g.inH - g.outH * g.sH - top + (g.kH - 1) * g.dH);
  const right = Math.max(0, g.inW - g.outW * g.sW - left + (g.kW - 1) * g.dW);
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}

/**
 * Conv2DBackpropFilter's route. "conv": conv2d over transposed tensors, whose XNNPACK GEMM has
 * only inC·kH·kW rows. "im2col": a JS-built patch matrix times dy in one XNNPACK GEMM. "auto"
 * (default) takes im2col for 3x3-or-smaller kernels over at most 3 input channels (the first
 * layer of a convnet on grey or RGB images: 9 to 27 GEMM rows, too few for XNNPACK's tiles) and
 * conv otherwise. Measured on 128-image batches: 3x3 1->16 at 28x28 3.2x and 3x3 3->24 at 32x32
 * 2.8x faster with im2col; LeNet-5's 5x5 layers, 7x7 PSFs and 3x3 layers over 4 to 32 channels
 * 1.1-2.3x faster with conv. The rule depends on shapes only, so a run's results do not depend
 * on timing.
 */
let filterGradStrategy: "im2col" | "conv" | "auto" = "auto";

/** Forces Conv2DBackpropFilter's route ("auto" restores the shape rule; benchmarks and tests compare them). */
export function setConv2DFilterGradStrategy(strategy: "im2col" | "conv" | "auto"): void {
  filterGradStrategy = strategy;
}

function filterGradRoute(g: ConvGeometry): "im2col" | "conv" {
  if (filterGradStrategy !== "auto") return filterGradStrategy;
  return g.inC <= 3 && g.kH * g.kW <= 9 ? "im2col" : "conv";
}

/**
 * The im2col matrix of x, transposed: row (kh, kw, c), column (b, oy, ox), zero where the
 * window reads padding. Written row by row so the stores are contiguous.
 */
function patchesTransposed(backend: WasmBackendLike, x: TensorInfo, g: ConvGeometry): TensorInfo {
  const cols = g.batch * g.outH * g.outW;
  const out = backend.makeOutput([g.kH * g.kW * g.inC, cols], "float32");
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const { inH: H, inW: W, inC: C, outH, outW, sH, sW, dH, dW, top, left } = g;
  let o = 0;
  for (let kh = 0; kh < g.kH; kh++) {
    for (let kw = 0; kw < g.kW; kw++) {
      // Output columns whose input column lies inside the image: ox in [oxLo, oxHi).
      const colOffset = kw * dW - left;
      const oxLo = Math.min(outW, Math.max(0, Math.ceil(-colOffset / sW)));
      const oxHi = Math.max(oxLo, Math.min(outW, Math.floor((W - 1 - colOffset) / sW) + 1));
      for (let c = 0; c < C; c++) {
        for (let b = 0; b < g.batch; b++) {
          for (let oy = 0; oy < outH; oy++) {
            const iy = oy * sH + kh * dH - top;
            if (iy < 0 || iy >= H) {
              dst.fill(0, o, o + outW);
              o += outW;
              continue;
            }
            const rowBase = ((b * H + iy) * W + colOffset) * C + c;
            let ox = 0;
            for (; ox < oxLo; ox++) dst[o++] = 0;
            if (sW * C === 1) {
              // One channel at stride 1: the row's inside part is contiguous in x.
              dst.set(src.subarray(rowBase + oxLo, rowBase + oxHi), o);
              o += oxHi - oxLo;
              ox = oxHi;
            }
            for (; ox < oxHi; ox++) dst[o++] = src[rowBase + ox * sW * C];
            for (; ox < outW; ox++) dst[o++] = 0;
          }
        }
      }
    }
  }
  return out;
}

/**
 * Conv2D of a single-channel image with a kernel 7 or more wide (the optical frontends'
 * sensor convolution). With one input channel XNNPACK's indirect GEMM reads one float per
 * kernel tap, at about half its multi-channel speed. Here the kW horizontal taps become
 * channels first, xs[b, y, ox, j] = xpad[b, y, ox·sW + j·dW] (a conv with the kW×kW identity
 * as filter: kW² MACs per output pixel against the main conv's kH·kW·O), then a kH×1 conv with
 * kW input channels over xs does the rest (a [kH, kW, 1, O] filter is already laid out as
 * [kH, 1, kW, O]). Measured on 128x28x28x1 * 7x7x1x8 "same": 6.3 ms -> 1.3 + 3.6 ms; at 3x3
 * and 5x5 both routes took the same time, so narrower kernels are not rewritten.
 * One difference to a direct conv: an infinite input pixel meets the identity filter's zeros,
 * so the outputs whose window holds it become NaN rather than ±Infinity.
 * Several input channels, narrower kernels, non-float32 and NCHW go to wasm's own kernel.
 */
function conv2DSingleChannel(args: { inputs: tf.NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs ?? {};
  const delegate = () => originalKernel("Conv2D")(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  if (x.shape.length !== 4 || x.shape[3] !== 1 || filter.shape[1] < 7 || x.dtype !== "float32" || filter.dtype !== "float32") return delegate();
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NHWC" && attrs.dataFormat !== "channelsLast") return delegate();
  const [kH, kW, , outC] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    attrs.strides as [number, number] | number, (attrs.dilations ?? 1) as [number, number] | number, attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined, false, "channelsLast");
  const { top, left } = info.padInfo;
  const { strideHeight: sH, strideWidth: sW, dilationHeight: dH, dilationWidth: dW, batchSize: B, inHeight: H, inWidth: W } = info;
  // With ceil rounding the last window may hang over the bottom/right padding; it reads zeros,
  // as on tfjs's cpu backend, so the explicit pads are grown to cover it.
  const bottom = Math.max(info.padInfo.bottom, (info.outHeight - 1) * sH + (kH - 1) * dH + 1 - H - top);
  const right = Math.max(info.padInfo.right, (info.outWidth - 1) * sW + (kW - 1) * dW + 1 - W - left);
  const shiftInfo = tf.backend_util.computeConv2DInfo([B, H, W, 1], [1, kW, 1, kW], [1, sW], [1, dW], [[0, 0], [0, 0], [left, right], [0, 0]], undefined, false, "channelsLast");
  const rowInfo = tf.backend_util.computeConv2DInfo([B, H, shiftInfo.outWidth, kW], [kH, 1, kW, outC], [sH, 1], [dH, 1], [[0, 0], [top, bottom], [0, 0], [0, 0]], undefined, false, "channelsLast");
  if (!tf.util.arraysEqual(rowInfo.outShape, info.outShape)) return delegate();
  const ops = new Ops(args.backend as WasmBackendLike);
  const eye = ops.backend.makeOutput([1, kW, 1, kW], "float32");
  const e = ops.backend.typedArrayFromHeap(eye) as Float32Array;
  e.fill(0);
  for (let j = 0; j < kW; j++) e[j * kW + j] = 1;
  const shifted = ops.conv2d(x, eye, [1, sW], [1, dW], [[0, 0], [0, 0], [left, right], [0, 0]]);
  ops.free(eye);
  const rows = ops.reshape(filter, [kH, 1, kW, outC]);
  const out = ops.conv2d(shifted, rows, [sH, 1], [dH, 1], [[0, 0], [top, bottom], [0, 0], [0, 0]]);
  ops.free(shifted, rows);
  return out;
}

function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs ?? {};
  assertChannelsLast("Conv2DBackpropFilter", attrs.dataFormat);
  const filterShape = attrs.filterShape as number[];
  const g = geometry(x.shape, filterShape, { ...attrs, dilations: 1 }, false);
  const ops = new Ops(args.backend as WasmBackendLike);
  const outC = filterShape[3];
  const positions = g.batch * g.outH * g.outW;
  if (filterGradRoute(g) === "im2col") {
    // dW [kH*kW*inC, outC] = patches^T [kH*kW*inC, batch*outH*outW] @ dy [batch*outH*outW, outC].
    const colsT = patchesTransposed(ops.backend, x, g);
    const dy2 = ops.reshape(dy, [positions, outC]);
    const prod = ops.run("BatchMatMul", { a: colsT, b: dy2 }, { transposeA: false, transposeB: false });
    ops.free(colsT, dy2);
    return ops.then(prod, (p) => ops.reshape(p, [g.kH, g.kW, g.inC, outC]));
  }
  const xT = ops.transpose(x, [3, 1, 2, 0]); // [inC, H, W, batch]: channels become the batch
  const dyT = ops.transpose(dy, [1, 2, 0, 3]); // [outH, outW, batch, outC]: dy becomes the filter
  const grad = ops.conv2d(xT, dyT, [g.dH, g.dW], [g.sH, g.sW], filterGradPads(g)); // [inC, kH', kW', outC]
  ops.free(xT, dyT);
  const cropped = ops.crop4(grad, g.kH, g.kW);
  return ops.then(cropped, (c) => ops.transpose(c, [1, 2, 0, 3]));
}

function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs ?? {};
  assertChannelsLast("Conv2DBackpropInput", attrs.dataFormat);
  const inputShape = attrs.inputShape as number[];
  const g = geometry(inputShape, filter.shape, { ...attrs, dilations: 1 }, false);
  const pads = inputGradPads(g);
  if (pads === null) return originalKernel("Conv2DBackpropInput")(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  const ops = new Ops(args.backend as WasmBackendLike);
  const flipped = ops.reverse(filter, [0, 1]);
  const wT = ops.then(flipped, (f) => ops.transpose(f, [0, 1, 3, 2])); // [kH, kW, outC, inC]
  const dyd = ops.dilateSpatial(dy, g.sH, g.sW);
  const dx = ops.conv2d(dyd, wT, [1, 1], [1, 1], pads);
  ops.free(dyd, wT);
  return ops.crop4(dx, g.inH, g.inW);
}

function depthwiseBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs ?? {};
  assertChannelsLast("DepthwiseConv2dNativeBackpropFilter", attrs.dataFormat);
  const filterShape = attrs.filterShape as number[];
  const mult = filterShape[3];
  const g = geometry(x.shape, filterShape, attrs, true);
  const ops = new Ops(args.backend as WasmBackendLike);
  // One image whose channels are (channel, batch) pairs; dy as a per-(channel, batch) filter
  // with `mult` outputs each. The batch sum comes after the depthwise correlation.
  const xT = ops.transpose(x, [1, 2, 3, 0]);
  const xImg = ops.then(xT, (t) => ops.reshape(t, [1, g.inH, g.inW, g.inC * g.batch]));
  const dy5 = ops.reshape(dy, [g.batch, g.outH, g.outW, g.inC, mult]);
  const dyT = ops.then(dy5, (t) => ops.transpose(t, [1, 2, 3, 0, 4]));
  const dyFilter = ops.then(dyT, (t) => ops.reshape(t, [g.outH, g.outW, g.inC * g.batch, mult]));
  const corr = ops.depthwise(xImg, dyFilter, [g.dH, g.dW], [g.sH, g.sW], filterGradPads(g)); // [1, kH', kW', inC*batch*mult]
  ops.free(xImg, dyFilter);
  const cropped = ops.crop4(corr, g.kH, g.kW);
  const perBatch = ops.then(cropped, (c) => ops.reshape(c, [g.kH, g.kW, g.inC, g.batch, mult]));
  return ops.then(perBatch, (p) => ops.sum(p, 3));
}

function depthwiseBackpropInput(args: { inputs: tf.NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs ?? {};
  assertChannelsLast("DepthwiseConv2dNativeBackpropInput", attrs.dataFormat);
  const inputShape = attrs.inputShape as number[];
  const [kH, kW, inC, mult] = filter.shape;
  const g = geometry(inputShape, filter.shape, attrs, true);
  const pads = inputGradPads(g);
  if (pads === null) {
    throw new Error(`wasm DepthwiseConv2dNativeBackpropInput: padding (${g.top}, ${g.left}) larger than the dilated kernel reach is not supported`);
  }
  const ops = new Ops(args.backend as WasmBackendLike);
  // Every (channel, multiplier) output channel correlates with its own flipped kernel; the
  // multiplier channels of one input channel are summed afterwards.
  const flipped = ops.reverse(filter, [0, 1]);
  const wCol = ops.then(flipped, (f) => ops.reshape(f, [kH, kW, inC * mult, 1]));
  const dyd = ops.dilateSpatial(dy, g.sH, g.sW);
  const full = ops.depthwise(dyd, wCol, [1, 1], [g.dH, g.dW], pads);
  ops.free(dyd, wCol);
  const dx = ops.crop4(full, g.inH, g.inW);
  if (mult === 1) return dx;
  const split = ops.then(dx, (t) => ops.reshape(t, [g.batch, g.inH, g.inW, inC, mult]));
  return ops.then(split, (t) => ops.sum(t, 4));
}

/**
 * MaxPoolGrad with TensorFlow's semantics (the gradient goes to the first maximum of each
 * window in row-major order, ties included), as one pass over the wasm heap. wasm's own
 * kernel computes the same thing about 10x slower; a mask formulation (x == upsampled y)
 * would hand the gradient to every tied maximum.
 */
function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo {
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const attrs = args.attrs ?? {};
  if (input.dtype !== "float32" || dy.dtype !== "float32") return originalKernel("MaxPoolGrad")(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], attrs.filterSize as [number, number], attrs.strides as [number, number],
    1, attrs.pad as "same", attrs.dimRoundingMode as "floor" | undefined);
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput(input.shape, "float32");
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideHeight: sH, strideWidth: sW } = info;
  const fH = info.effectiveFilterHeight, fW = info.effectiveFilterWidth;
  const top = info.padInfo.top, left = info.padInfo.left;
  if (fH === 2 && fW === 2 && sH === 2 && sW === 2 && top === 0 && left === 0 && 2 * OH <= H && 2 * OW <= W) {
    maxPoolGrad2x2(x, g, dx, batchSize, H, W, C, OH, OW);
    return out;
  }
  // Scanning each window in row-major order with a strict '>' keeps the first maximum.
  for (let b = 0; b < batchSize; b++) {
    const xb = b * H * W * C;
    for (let oy = 0; oy < OH; oy++) {
      const y0 = Math.max(0, oy * sH - top), y1 = Math.min(H, oy * sH - top + fH);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = Math.max(0, ox * sW - left), x1 = Math.min(W, ox * sW - left + fW);
        const gBase = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let y = y0; y < y1; y++) {
            let p = xb + (y * W + x0) * C + c;
            for (let xx = x0; xx < x1; xx++, p += C) {
              const v = x[p];
              if (v > best) { best = v; at = p; }
            }
          }
          if (at >= 0) dx[at] += g[gBase + c];
        }
      }
    }
  }
  return out;
}

/** The common 2x2 stride-2 unpadded case of maxPoolGrad, unrolled (about 2x faster than the general loop). */
function maxPoolGrad2x2(x: Float32Array, g: Float32Array, dx: Float32Array, batch: number, H: number, W: number, C: number, OH: number, OW: number): void {
  const rowC = W * C;
  let gi = 0;
  for (let b = 0; b < batch; b++) {
    const xb = b * H * W * C;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const p00 = xb + (2 * oy * W + 2 * ox) * C, p01 = p00 + C, p10 = p00 + rowC, p11 = p10 + C;
        for (let c = 0; c < C; c++, gi++) {
          let m = -Infinity, pos = -1, v = x[p00 + c];
          if (v > m) { m = v; pos = p00 + c; }
          v = x[p01 + c];
          if (v > m) { m = v; pos = p01 + c; }
          v = x[p10 + c];
          if (v > m) { m = v; pos = p10 + c; }
          v = x[p11 + c];
          if (v > m) { pos = p11 + c; }
          if (pos >= 0) dx[pos] += g[gi];
        }
      }
    }
  }
}

/**
 * AvgPoolGrad for non-overlapping windows (stride equal to the window, no padding, every
 * window inside the input): each input pixel of window (oy, ox) gets dy[oy, ox] / (fH·fW), and
 * pixels no window covers (the rows and columns "valid" pooling drops) get 0. This is the
 * sensor binning at the head of the optical students' backends. One pass over dx: the first
 * row of each window band is written from dy, the band's other rows are copies of it. wasm's
 * own kernel scatters window by window and was ~15x slower on 128x28x28x8 with 4x4 windows;
 * every other geometry (overlapping windows, padding) is delegated to it.
 */
function avgPoolGrad(args: { inputs: tf.NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo {
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const attrs = args.attrs ?? {};
  const delegate = () => originalKernel("AvgPoolGrad")(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  if (dy.dtype !== "float32" || input.dtype !== "float32" || input.shape.length !== 4) return delegate();
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], attrs.filterSize as [number, number] | number, attrs.strides as [number, number] | number,
    1, attrs.pad as "valid", attrs.dimRoundingMode as "floor" | undefined);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideHeight: sH, strideWidth: sW } = info;
  const fH = info.effectiveFilterHeight, fW = info.effectiveFilterWidth;
  const { top, bottom, left, right } = info.padInfo;
  const nonOverlapping = fH === sH && fW === sW && top === 0 && bottom === 0 && left === 0 && right === 0 && OH * sH <= H && OW * sW <= W;
  if (!nonOverlapping) return delegate();
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput(input.shape, "float32");
  // Views after makeOutput: it may grow the wasm heap, which detaches earlier views.
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  const scale = 1 / (fH * fW);
  const rowLen = W * C;
  const bandLen = OW * sW * C; // the part of a row that windows cover
  let gi = 0;
  for (let b = 0; b < B; b++) {
    const image = b * H * rowLen;
    for (let oy = 0; oy < OH; oy++) {
      const first = image + oy * sH * rowLen;
      let o = first;
      for (let ox = 0; ox < OW; ox++, gi += C) {
        for (let q = 0; q < sW; q++) {
          for (let c = 0; c < C; c++) dx[o++] = g[gi + c] * scale;
        }
      }
      if (bandLen < rowLen) dx.fill(0, first + bandLen, first + rowLen);
      for (let r = 1; r < sH; r++) dx.copyWithin(first + r * rowLen, first, first + rowLen);
    }
    if (OH * sH < H) dx.fill(0, image + OH * sH * rowLen, image + H * rowLen);
  }
  return out;
}

/** UnsortedSegmentSum (gather's gradient) as one scatter-add over the wasm heap; ids outside [0, numSegments) are dropped, as in tfjs cpu. */
function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo {
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (args.attrs ?? {}).numSegments as number;
  if (x.dtype !== "float32" && x.dtype !== "int32") throw new Error(`wasm UnsortedSegmentSum: x dtype ${x.dtype} is not supported; expected float32 or int32`);
  if (segmentIds.dtype !== "int32") throw new Error(`wasm UnsortedSegmentSum: segmentIds must be int32, got ${segmentIds.dtype}`);
  const nIds = segmentIds.shape.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  const src = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  dst.fill(0);
  for (let i = 0; i < nIds; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const from = i * inner, to = s * inner;
    for (let j = 0; j < inner; j++) dst[to + j] += src[from + j];
  }
  return out;
}

/** The activation of a fused kernel, applied to `x` (which it consumes). */
function applyActivation(ops: Ops, x: TensorInfo, attrs: NamedAttrMap, inputs: tf.NamedTensorInfoMap): TensorInfo {
  const activation = (attrs.activation ?? "linear") as string;
  switch (activation) {
    case "linear": return x;
    case "relu": return ops.then(x, (t) => ops.run("Relu", { x: t }, {}));
    case "relu6": return ops.then(x, (t) => ops.run("Relu6", { x: t }, {}));
    case "elu": return ops.then(x, (t) => ops.run("Elu", { x: t }, {}));
    case "sigmoid": return ops.then(x, (t) => ops.run("Sigmoid", { x: t }, {}));
    case "leakyrelu": return ops.then(x, (t) => ops.run("LeakyRelu", { x: t }, { alpha: attrs.leakyreluAlpha as number }));
    case "prelu": return ops.then(x, (t) => ops.run("Prelu", { x: t, alpha: inputs.preluActivationWeights as TensorInfo }, {}));
    default: throw new Error(`wasm _FusedMatMul: activation "${activation}" is not supported; expected linear, relu, relu6, elu, sigmoid, leakyrelu or prelu`);
  }
}

/**
 * BatchMatMul / _FusedMatMul with transposed operands: wasm's kernels run XNNPACK's fast GEMM
 * only for untransposed operands and a naive loop otherwise (8x slower on LeNet's dense
 * gradients x^T dy and dy W^T). Transposing the operand explicitly is a cheap copy.
 */
function transposeFreeMatMul(kernel: "BatchMatMul" | "_FusedMatMul"): KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const attrs = args.attrs ?? {};
    const matmul = originalKernel(kernel);
    const batchedBias = kernel === "_FusedMatMul" && args.inputs.bias !== undefined && Math.max(a.shape[0], b.shape[0]) > 1;
    if (!attrs.transposeA && !attrs.transposeB && !batchedBias) return matmul(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const ops = new Ops(args.backend as WasmBackendLike);
    const swapLast = (t: TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      return ops.transpose(t, perm);
    };
    const aT = attrs.transposeA ? swapLast(a) : a;
    const bT = attrs.transposeB ? swapLast(b) : b;
    if (kernel === "_FusedMatMul" && args.inputs.bias !== undefined && Math.max(aT.shape[0], bT.shape[0]) > 1) {
      // wasm's _FusedMatMul adds the bias wrongly when the batch is > 1 (tfjs 4.22): unfuse.
      const product = originalKernel("BatchMatMul")({ inputs: { a: aT, b: bT }, attrs: { transposeA: false, transposeB: false }, backend: args.backend } as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
      if (aT !== a) ops.free(aT);
      if (bT !== b) ops.free(bT);
      const biased = ops.then(product, (p) => ops.run("Add", { a: p, b: args.inputs.bias as TensorInfo }, {}));
      return applyActivation(ops, biased, attrs, args.inputs);
    }
    const out = matmul({
      inputs: { ...args.inputs, a: aT, b: bT },
      attrs: { ...attrs, transposeA: false, transposeB: false },
      backend: args.backend,
    } as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    if (aT !== a) ops.free(aT);
    if (bT !== b) ops.free(bT);
    return out;
  }) as unknown as KernelFunc;
}

/**
 * Sum and Mean of an NHWC tensor over its rows and columns, with or without the batch (a conv
 * bias gradient sums dy over batch, rows and columns; global average pooling and per-image
 * losses reduce rows and columns): XNNPACK's average pooling over the whole image, then a
 * scale, then for the batch a small reduction of [batch, channels]. wasm's own kernels
 * transpose the reduced axes innermost first (a full copy of x) and then run a scalar loop:
 * 6.8 ms against 0.8 ms on a [128, 28, 28, 16] bias gradient here. The result agrees with a
 * direct sum to float32 rounding (the pooling accumulates in float32 and scales by 1/(H·W)).
 * Other axis sets, ranks and dtypes go to wasm's own kernels.
 */
function imageReduction(kernel: "Sum" | "Mean"): KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = args.attrs ?? {};
    const delegate = () => originalKernel(kernel)(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    if (x.dtype !== "float32" || x.shape.length !== 4) return delegate();
    const axes = [...new Set(tf.util.parseAxisParam(attrs.axis as number | number[], x.shape))].sort((a, b) => a - b);
    const withBatch = axes.join() === "0,1,2";
    if (!withBatch && axes.join() !== "1,2") return delegate();
    const [batch, h, w, c] = x.shape;
    // Below ~16 k values wasm's own kernel wins (its one call against four): 0.02 ms against
    // 0.05 ms for a [7, 7, 1, 8] PSF normalisation, 0.08 against 0.04 ms at [16, 8, 8, 32].
    if (batch * h * w * c < 16384 || h * w > 65536) return delegate();
    const ops = new Ops(args.backend as WasmBackendLike);
    const means = ops.run("AvgPool", { x }, { filterSize: [h, w], strides: [h, w], pad: "valid", dimRoundingMode: undefined } as unknown as NamedAttrMap);
    const perImage = ops.then(means, (m) => ops.reshape(m, [batch, c]));
    const reduced = withBatch ? ops.then(perImage, (p) => ops.run(kernel, { x: p }, { axis: [0], keepDims: false })) : perImage;
    // Sum: the pooled means times the pixels per image; Mean: they already are the mean.
    const scaled = kernel === "Sum" ? ops.then(reduced, (r) => ops.scale(r, h * w)) : reduced;
    const shape = attrs.keepDims ? (withBatch ? [1, 1, 1, c] : [batch, 1, 1, c]) : (withBatch ? [c] : [batch, c]);
    return ops.then(scaled, (t) => ops.reshape(t, shape));
  }) as unknown as KernelFunc;
}

const IMPLEMENTATIONS: Record<(typeof OVERRIDDEN)[number] | (typeof ADDED)[number], KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter as unknown as KernelFunc,
  Conv2D: conv2DSingleChannel as unknown as KernelFunc,
  Conv2DBackpropInput: conv2DBackpropInput as unknown as KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter as unknown as KernelFunc,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput as unknown as KernelFunc,
  MaxPoolGrad: maxPoolGrad as unknown as KernelFunc,
  AvgPoolGrad: avgPoolGrad as unknown as KernelFunc,
  BatchMatMul: transposeFreeMatMul("BatchMatMul"),
  _FusedMatMul: transposeFreeMatMul("_FusedMatMul"),
  UnsortedSegmentSum: unsortedSegmentSum as unknown as KernelFunc,
  Sum: imageReduction("Sum"),
  Mean: imageReduction("Mean"),
};

/** Names of the wasm kernels ntkd-lab registers or replaces. */
export const WASM_TRAINING_KERNELS: readonly string[] = [...ADDED, ...OVERRIDDEN];

/** The replaced ones: those {@link useWasmKernelOverrides} switches back to wasm's own. */
export const WASM_OVERRIDDEN_KERNELS: readonly string[] = [...OVERRIDDEN];

/**
 * Registers our training kernels on the wasm backend. Idempotent; importing src/runtime/tf
 * already calls it. Works before or after the wasm backend is initialised: tfjs keeps kernels
 * per backend name, and the setup functions run when the backend is set.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  for (const name of [...USED, ...OVERRIDDEN]) {
    const config = tf.getKernel(name, "wasm");
    if (config === undefined) throw new Error(`registerWasmTrainingKernels: wasm kernel ${name} is missing; is @tensorflow/tfjs-backend-wasm 4.22 installed?`);
    original.set(name, config.kernelFunc);
    originalSetup.set(name, config.setupFunc);
  }
  for (const name of OVERRIDDEN) tf.unregisterKernel(name, "wasm");
  for (const name of ADDED) {
    if (tf.getKernel(name, "wasm") !== undefined) tf.unregisterKernel(name, "wasm");
  }
  for (const [name, kernelFunc] of Object.entries(IMPLEMENTATIONS)) registerAs(name as keyof typeof IMPLEMENTATIONS, kernelFunc);
  registered = true;
}

/**
 * Switches between our replacements ({@link WASM_OVERRIDDEN_KERNELS}: Conv2D, Conv2DBackpropInput,
 * MaxPoolGrad, AvgPoolGrad, BatchMatMul, _FusedMatMul, Sum, Mean; true, the default after registration)
 * and wasm's own kernels (false), for before/after benchmarks. The added kernels stay.
 */
export function useWasmKernelOverrides(enabled: boolean): void {
  registerWasmTrainingKernels();
  for (const name of OVERRIDDEN) {
    tf.unregisterKernel(name, "wasm");
    registerAs(name, enabled ? IMPLEMENTATIONS[name] : originalKernel(name));
  }
}

/** Calls wasm's own (replaced) kernel, for tests and benchmarks that compare against it. */
export function runOriginalWasmKernel(name: (typeof OVERRIDDEN)[number], inputs: Record<string, tf.Tensor>, attrs: NamedAttrMap): tf.Tensor {
  if (tf.getBackend() !== "wasm") throw new Error(`runOriginalWasmKernel(${name}): the active backend is "${tf.getBackend()}", expected "wasm"`);
  const backend = tf.backend();
  const out = originalKernel(name)({ inputs, attrs, backend }) as TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(out);
}
