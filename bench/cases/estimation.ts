/**
 * Building one estimation kernel matrix: the train x train NTK of the reference network
 * (src/estimate/infinite-width-ntk.ts) for the first 1,000 MNIST training images, as the 01
 * notebook's estimation does (7x7 kernels, "same" padding, one hidden ReLU layer), for its two
 * kinds of point:
 * - infinitely many optical kernels (the NTK regime; the optical layer trains): a diagonal
 *   patch-coverage form, one Gram product of the images;
 * - a finite bank of 16 random non-negative kernels held fixed (the notebook's largest layout,
 *   2.4 mm): the dense D x D form Σ_c T_cᵀT_c, then X·Q and (X·Q)·Xᵀ.
 * The kernel is closed-form, so bench/torch/estimation.py runs the same computation in
 * torch.float64 as the reference row, on the same images and kernel bank (written to a
 * temporary folder), and the two matrices' sums and traces are compared: a difference beyond
 * rounding throws. Compared at equal threads (bench/cases/thread-rows.ts): ntkd-lab's float64 JS
 * has no threaded build, so it has its 1-thread row only, against PyTorch at 1 thread; PyTorch
 * also runs at 2 threads and at its default (the reference), against which ours is the best row.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { infiniteWidthNtk, type NtkImages } from "../../src/estimate/infinite-width-ntk";
import { randomOpticalKernels, type ReferenceNetwork } from "../../src/estimate/reference-network";
import type { Matrix64 } from "../../src/estimate/linalg";
import { loadMnistTrain } from "../mnist";
import { runTorchScript, torchNote } from "../torch-run";
import { threadRows, torchThreadArgs, type TorchThreads } from "./thread-rows";
import type { BenchCase, BenchResult } from "./types";

const POINTS = 1000;
const KERNEL_SIZE = 7;
const BANK_KERNELS = 16;
/** Rows run this many times, fastest kept (env BENCH_REPEATS, as the other rows). */
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
/** Relative agreement required between the two frameworks' sums and traces (float64; acos near 1 amplifies rounding). */
const TOLERANCE = 1e-8;

type Variant = "infinite" | "bank";
/** Row-name part per variant (row names are unique across groups). */
const VARIANT_LABEL: Record<Variant, string> = { infinite: "∞ kernels", bank: `${BANK_KERNELS} fixed kernels` };

let imagesMemo: NtkImages | null = null;
function images(): NtkImages {
  if (imagesMemo === null) {
    const m = loadMnistTrain(POINTS);
    imagesMemo = { images: m.pixels, count: POINTS, height: m.height, width: m.width, channels: 1 };
  }
  return imagesMemo;
}

function network(variant: Variant): ReferenceNetwork {
  const kernels = variant === "infinite"
    ? "infinite" as const
    : randomOpticalKernels({ count: BANK_KERNELS, size: KERNEL_SIZE, channels: 1, distribution: "nonnegative", seed: 3 });
  return { kernelSize: KERNEL_SIZE, kernels, padding: "same", hiddenLayers: 1 };
}

function summary(k: Matrix64): { sum: number; trace: number } {
  let sum = 0, trace = 0;
  for (let i = 0; i < k.data.length; i++) sum += k.data[i];
  for (let i = 0; i < k.rows; i++) trace += k.data[i * k.cols + i];
  return { sum, trace };
}

/**
 * The ntkd-lab kernel matrix, timed after one untimed call at full size (JIT, allocations: a
 * warm session, as the PyTorch script does it too).
 */
function timeNtkd(variant: Variant): { seconds: number; sum: number; trace: number } {
  const net = network(variant);
  const x = images();
  infiniteWidthNtk(net, x);
  const t0 = performance.now();
  const k = infiniteWidthNtk(net, x).ntk;
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, ...summary(k) };
}

/** Last ntkd-lab result per variant, for the PyTorch rows' agreement check. */
const ntkdResult = new Map<Variant, { sum: number; trace: number }>();

function ntkdRun(variant: Variant): BenchResult {
  const r = timeNtkd(variant);
  ntkdResult.set(variant, r);
  return { seconds: r.seconds, threads: 1, notes: `${POINTS}x${POINTS} NTK, sum ${r.sum.toPrecision(10)}` };
}

function torchRun(variant: Variant, threads: TorchThreads): BenchResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-bench-ntk-"));
  try {
    const x = images();
    const pixels = Float32Array.from(x.images.subarray(0, x.count * x.height * x.width));
    fs.writeFileSync(path.join(dir, "images.f32"), Buffer.from(pixels.buffer));
    const net = network(variant);
    const meta: Record<string, unknown> = { count: x.count, height: x.height, width: x.width, channels: 1, kernelSize: KERNEL_SIZE, hiddenLayers: 1 };
    if (net.kernels !== "infinite") {
      fs.writeFileSync(path.join(dir, "bank.f64"), Buffer.from(Float64Array.from(net.kernels.values).buffer));
      meta.bankKernels = net.kernels.count;
    }
    fs.writeFileSync(path.join(dir, "meta.json"), JSON.stringify(meta));
    const out = runTorchScript("estimation.py", [variant, dir, ...torchThreadArgs(threads)]);
    const sum = out.sum as number, trace = out.trace as number;
    const ours = ntkdResult.get(variant) ?? timeNtkd(variant);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
    const diff = Math.max(rel(sum, ours.sum), rel(trace, ours.trace));
    if (!(diff <= TOLERANCE)) {
      throw new Error(`bench/torch/estimation.py ${variant}: sum ${sum} / trace ${trace} vs ntkd-lab ${ours.sum} / ${ours.trace} (relative difference ${diff}); the computations differ`);
    }
    return {
      seconds: out.seconds,
      threads: out.threads,
      notes: `${torchNote(out)}; sum and trace match ntkd-lab to ${diff.toExponential(1)}`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function variantRows(variant: Variant, group: string): BenchCase[] {
  return threadRows({
    label: `estimation ${VARIANT_LABEL[variant]}`,
    group,
    repeats: REPEATS,
    oursThreads: [1],
    oursEngine: () => "float64 JS",
    ours: async () => ntkdRun(variant),
    torch: async (threads) => torchRun(variant, threads),
  });
}

const INFINITE = `estimation NTK, infinite kernels (${POINTS} MNIST, 7x7, 1 hidden layer, float64)`;
const BANK = `estimation NTK, ${BANK_KERNELS} fixed random kernels (${POINTS} MNIST, 7x7, 1 hidden layer, float64)`;

export const estimationCases: BenchCase[] = [...variantRows("infinite", INFINITE), ...variantRows("bank", BANK)];
