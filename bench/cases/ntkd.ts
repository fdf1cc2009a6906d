/**
 * One training step of the Compressed Meta ONN student (batch 128, real MNIST, Adam) with no
 * transfer (reference), KD, and NTKD (sketch NTK, R = 4 student probes, LeNet-5 teacher), on
 * wasm. NTKD is timed with the dataset-wide teacher sketch cache (the default; R_T = 8 cached
 * probes) and without it (R_T = 4 fresh probes per batch: R_T + 1 teacher forwards per step).
 * Either way the student costs R + 1 forward passes and one backward pass through them, the
 * task term sharing the forward at θ once β is calibrated; the timed steps are after the
 * calibration batch (autoBetaBatches 1), i.e. the steady state of a run.
 */
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import { loadMnist } from "../../src/data/mnist";
import { buildLeNet5 } from "../../src/models/teachers/lenet";
import { buildCompressedMetaOnn, defaultPsfFrontend } from "../../src/models/students";
import type { FrontendLayer } from "../../src/models/optical-student";
import { trainStudent } from "../../src/train/api";
import type { BenchCase } from "./types";

const BATCH = 128;
const STEPS = 6;
const GROUP = "compressed-meta step (batch 128, MNIST, wasm)";

function frontend(): { layer: FrontendLayer; note: string } {
  try {
    return { layer: defaultPsfFrontend({ kernels: 8, kernelSize: 7, inputChannels: 1, seed: 1 }), note: "PsfConvFrontend" };
  } catch {
    const layer = tf.layers.conv2d({ filters: 8, kernelSize: 7, padding: "same", useBias: false, kernelConstraint: "nonNeg", kernelInitializer: tf.initializers.randomUniform({ minval: 0, maxval: 0.04, seed: 1 }) });
    return { layer, note: "stand-in non-negative conv frontend" };
  }
}

type Variant = "none" | "kd" | "ntkd-cached" | "ntkd-cached-r2" | "ntkd-uncached";

async function timeSteps(variant: Variant): Promise<{ seconds: number; notes: string }> {
  const method = variant.startsWith("ntkd") ? "ntkd" : (variant as "none" | "kd");
  const cached = variant.startsWith("ntkd-cached");
  const probes = variant === "ntkd-cached-r2" ? 2 : 4;
  await initBackend({ backend: "wasm" });
  const train = loadMnist({ split: "train", limit: BATCH * (STEPS + 1) });
  const teacher = buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const fe = frontend();
  const student = buildCompressedMetaOnn({ frontend: fe.layer, seed: 1 });
  const stamps: number[] = [];
  const t0 = performance.now();
  try {
    await trainStudent({
      student, method, teacher, train, epochs: 1, batchSize: BATCH, seed: 1,
      ntkd: cached ? { probes, teacherProbes: 8, teacherCache: "dataset", autoBetaBatches: 1 } : { probes, teacherCache: "none", autoBetaBatches: 1 },
      onBatchEnd: () => stamps.push(performance.now()),
    });
  } finally {
    student.dispose();
    teacher.dispose();
  }
  // The first step warms up kernels and allocations: time the following ones.
  const seconds = (stamps[stamps.length - 1] - stamps[0]) / 1000 / (stamps.length - 1);
  // With the cache, the time before the first step ends is mostly the precomputation.
  const cacheNote = cached ? `; cache of ${train.count} images + first step ${((stamps[0] - t0) / 1000).toFixed(2)} s` : "";
  return { seconds, notes: `mean of ${stamps.length - 1} steps after a warm-up step; ${fe.note}${cacheNote}` };
}

export const ntkdCases: BenchCase[] = [
  { name: "compressed-meta plain step", group: GROUP, reference: true, repeats: 2, run: () => timeSteps("none") },
  { name: "compressed-meta KD step", group: GROUP, repeats: 2, run: () => timeSteps("kd") },
  { name: "compressed-meta NTKD step (R=4, teacher cache R_T=8)", group: GROUP, repeats: 2, run: () => timeSteps("ntkd-cached") },
  { name: "compressed-meta NTKD step (R=2, teacher cache R_T=8; the full preset)", group: GROUP, repeats: 2, run: () => timeSteps("ntkd-cached-r2") },
  { name: "compressed-meta NTKD step (R=4, uncached teacher R_T=4)", group: GROUP, repeats: 2, run: () => timeSteps("ntkd-uncached") },
];
