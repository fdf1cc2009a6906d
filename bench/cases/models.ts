/**
 * One training epoch (2,048 samples, batch 128, Adam lr 1e-3) per model of the pipeline, ours
 * and PyTorch's at equal threads in the same run (bench/cases/thread-rows.ts: ours at 1 and 2
 * threads, PyTorch at 1, at 2 and at its default, the group's reference):
 * - the Compressed Meta ONN student (PsfConvFrontend, plain cross-entropy), real MNIST;
 * - the Polychromatic Meta ONN student (16 RGB PSFs, monochrome sensor), 32x32x3: CIFAR-10 when
 *   src/data/cifar10.ts finds it, else MNIST padded to 32x32 and repeated on 3 channels;
 * - the AlexNet-style CIFAR-10 teacher as the CIFAR-10 work builds it outside full mode
 *   (buildTeacherFor: widthMultiplier QUICK_ALEXNET_WIDTH), and at full widths (full mode), on
 *   the same 32x32x3 data;
 * - the segmentation U-Net teacher (depth 3, 16 base filters, as the full segmentation preset),
 *   on the generated car set at 32x32 with the segmentation trainer's task loss (mean BCE).
 * The tfjs side writes the exact arrays it trains on to a temporary folder that
 * bench/torch/models.py reads, so both frameworks see identical batches; the PyTorch row also
 * checks that its model has as many parameters as the tfjs one (a mismatch is a bug: it throws).
 */
import type { LayersModel, Scalar, Tensor } from "@tensorflow/tfjs";
import { tf } from "../../src/runtime/tf";
import { buildCompressedMetaOnn, buildPolychromaticMetaOnn, defaultPsfFrontend } from "../../src/models/students";
import { buildAlexNetSmall } from "../../src/models/teachers/alexnet";
import { QUICK_ALEXNET_WIDTH } from "../../src/experiments/architectures";
import { buildUNet } from "../../src/models/segmentation/unet";
import { cifar10Available, loadCifar10 } from "../../src/data/cifar10";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import { segmentationTaskLoss } from "../../src/distill/segmentation-losses";
import { loadMnistTrain, mnistEpochData } from "../mnist";
import { EpochData, oneHotRows, removeEpochData, timeModelEpoch, writeEpochData } from "../model-epoch";
import { useOurWasm } from "../ours-backend";
import { runTorchScript, torchNote } from "../torch-run";
import { threadRows, torchThreadArgs, type TorchThreads } from "./thread-rows";
import type { BenchCase, BenchResult } from "./types";

const SAMPLES = 2048;
const BATCH = 128;
/** Fast rows run this many times, fastest kept (env BENCH_REPEATS, as the LeNet rows). */
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
/**
 * The AlexNet epoch is ~2 TFLOP (over two minutes on wasm here): time this many of its 16
 * batches and scale (env BENCH_ALEXNET_BATCHES; "all" times the whole epoch), on both sides,
 * at both widths. Per-batch time is steady after the warm-up step, so the scaled number is an
 * epoch time, at a fraction of the cost.
 */
const ALEXNET_BATCHES = ((): number | undefined => {
  const raw = process.env.BENCH_ALEXNET_BATCHES ?? "4";
  if (raw === "all") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_ALEXNET_BATCHES must be a positive integer or "all", got ${JSON.stringify(raw)}`);
  return n;
})();

/** A benchmarked model: how to build it, its data and its training loss. */
interface ModelSpec {
  /** Model name passed to bench/torch/models.py. */
  torchKey: "compressed-meta" | "polychromatic" | "alexnet" | "unet";
  /** Further arguments of bench/torch/models.py (e.g. alexnet's --width). */
  torchArgs?: string[];
  /** Row-name prefix (unique). */
  label: string;
  group: string;
  build(): LayersModel;
  /** The epoch's data, and a note saying what it is. */
  data(): { data: EpochData; note: string };
  loss(targets: Tensor, outputs: Tensor): Scalar;
  /** Batches to time, on both sides (default all). */
  timedBatches?: number;
  repeats: number;
}

const crossEntropy = (targets: Tensor, outputs: Tensor) => tf.losses.softmaxCrossEntropy(targets, outputs) as Scalar;

/** Per-source memo: the data is deterministic, and loading or generating it is not what is timed. */
const dataCache = new Map<ModelSpec["data"], { data: EpochData; note: string }>();
function cachedData(spec: ModelSpec): { data: EpochData; note: string } {
  let d = dataCache.get(spec.data);
  if (d === undefined) dataCache.set(spec.data, (d = spec.data()));
  return d;
}

/** CIFAR-10's first training images, or MNIST zero-padded to 32x32 and repeated on 3 channels. */
function colourData(): { data: EpochData; note: string } {
  if (cifar10Available()) {
    const c = loadCifar10({ split: "train", limit: SAMPLES });
    return {
      data: { inputs: c.images, inputShape: [32, 32, 3], targets: oneHotRows(c.labels, 10), targetShape: [10], count: SAMPLES },
      note: "CIFAR-10",
    };
  }
  const m = loadMnistTrain(SAMPLES);
  const side = 32, pad = (side - m.height) / 2;
  const inputs = new Float32Array(SAMPLES * side * side * 3);
  for (let n = 0; n < SAMPLES; n++) {
    for (let y = 0; y < m.height; y++) {
      for (let x = 0; x < m.width; x++) {
        const v = m.pixels[(n * m.height + y) * m.width + x];
        const at = ((n * side + y + pad) * side + x + pad) * 3;
        inputs[at] = inputs[at + 1] = inputs[at + 2] = v;
      }
    }
  }
  return {
    data: { inputs, inputShape: [side, side, 3], targets: oneHotRows(m.labels, 10), targetShape: [10], count: SAMPLES },
    note: "no CIFAR-10 here: MNIST padded to 32x32, 3 channels",
  };
}

function carData(): { data: EpochData; note: string } {
  const s = generateSegmentationSet({ count: SAMPLES, height: 32, width: 32, seed: 0 });
  return {
    data: { inputs: s.images, inputShape: [32, 32, 3], targets: Float32Array.from(s.masks), targetShape: [32, 32, 1], count: SAMPLES },
    note: "generated cars 32x32",
  };
}

const SPECS: ModelSpec[] = [
  {
    torchKey: "compressed-meta",
    label: "compressed-meta ONN",
    group: "compressed-meta ONN epoch (2048 MNIST, batch 128, Adam)",
    build: () => buildCompressedMetaOnn({ frontend: defaultPsfFrontend({ kernels: 8, kernelSize: 7, inputChannels: 1, seed: 1 }), seed: 1 }).model,
    data: () => ({ data: mnistEpochData(SAMPLES), note: "MNIST" }),
    loss: crossEntropy,
    repeats: REPEATS,
  },
  {
    torchKey: "polychromatic",
    label: "polychromatic meta ONN",
    group: "polychromatic meta ONN epoch (2048 images 32x32x3, batch 128, Adam)",
    build: () => buildPolychromaticMetaOnn({ seed: 1 }).model,
    data: colourData,
    loss: crossEntropy,
    repeats: REPEATS,
  },
  {
    torchKey: "alexnet",
    torchArgs: ["--width", String(QUICK_ALEXNET_WIDTH)],
    label: `alexnet-small x${QUICK_ALEXNET_WIDTH}`,
    group: `alexnet-small x${QUICK_ALEXNET_WIDTH} teacher epoch (the CIFAR-10 teacher outside full mode; 2048 images 32x32x3, batch 128, Adam)`,
    build: () => buildAlexNetSmall({ inputShape: [32, 32, 3], numClasses: 10, seed: 1, widthMultiplier: QUICK_ALEXNET_WIDTH }),
    data: colourData,
    loss: crossEntropy,
    timedBatches: ALEXNET_BATCHES,
    repeats: 1,
  },
  {
    torchKey: "alexnet",
    label: "alexnet-small",
    group: "alexnet-small teacher epoch (full widths, as full mode; 2048 images 32x32x3, batch 128, Adam)",
    build: () => buildAlexNetSmall({ inputShape: [32, 32, 3], numClasses: 10, seed: 1 }),
    data: colourData,
    loss: crossEntropy,
    timedBatches: ALEXNET_BATCHES,
    repeats: 1,
  },
  {
    torchKey: "unet",
    label: "unet (depth 3, 16 filters)",
    group: "unet epoch (2048 generated cars 32x32, batch 128, Adam, BCE)",
    build: () => buildUNet({ inputShape: [32, 32, 3], depth: 3, baseFilters: 16, seed: 1 }),
    data: carData,
    // The segmentation trainer's task loss (diceWeight 0 there: mean per-pixel BCE on logits).
    loss: (targets, outputs) => segmentationTaskLoss(outputs, targets) as Scalar,
    // ~30 s per wasm epoch on this machine: one run, as the AlexNet rows.
    repeats: 1,
  },
];

/** Parameters of the tfjs model (built and freed here; the PyTorch row compares against it). */
function tfjsParams(spec: ModelSpec): number {
  const model = spec.build();
  try {
    return model.countParams();
  } finally {
    model.dispose();
  }
}

const scaledNote = (timed: number, batches: number) => (timed < batches ? `scaled from ${timed} of ${batches} batches; ` : "");

async function oursRun(spec: ModelSpec, threads: 1 | 2): Promise<BenchResult> {
  const actual = await useOurWasm(threads);
  const { data, note } = cachedData(spec);
  const r = await timeModelEpoch({ build: spec.build, data, loss: spec.loss, batch: BATCH, timedBatches: spec.timedBatches });
  return {
    seconds: r.seconds,
    threads: actual,
    notes: `${scaledNote(r.timedBatches, r.batches)}${r.params.toLocaleString("en")} params; ${note}; final loss ${r.finalLoss.toFixed(3)}`,
  };
}

async function torchRun(spec: ModelSpec, threads: TorchThreads): Promise<BenchResult> {
  await useOurWasm(1);
  const expected = tfjsParams(spec);
  const dir = writeEpochData(cachedData(spec).data);
  try {
    const timed = spec.timedBatches === undefined ? [] : ["--timed-batches", String(spec.timedBatches)];
    const out = runTorchScript("models.py", [spec.torchKey, dir, "--batch", String(BATCH), ...(spec.torchArgs ?? []), ...timed, ...torchThreadArgs(threads)]);
    const params = out.params as number;
    if (params !== expected) {
      throw new Error(`bench/torch/models.py ${[spec.torchKey, ...(spec.torchArgs ?? [])].join(" ")}: ${params} parameters, the tfjs model has ${expected}; the architectures differ`);
    }
    return {
      seconds: out.seconds,
      threads: out.threads,
      notes: `${scaledNote(out.timed_batches as number, out.batches as number)}${torchNote(out)}; ` +
        `${params.toLocaleString("en")} params (= tfjs); final loss ${(out.final_loss as number).toFixed(3)}`,
    };
  } finally {
    removeEpochData(dir);
  }
}

export const modelCases: BenchCase[] = SPECS.flatMap((spec) => threadRows({
  label: spec.label,
  group: spec.group,
  repeats: spec.repeats,
  ours: (threads) => oursRun(spec, threads),
  torch: (threads) => torchRun(spec, threads),
}));
