/**
 * One training step of the Compressed Meta ONN student (batch 128, real MNIST, Adam) with no
 * transfer (reference), KD, and NTKD (sketch NTK, R = 4 probes, LeNet-5 teacher), on wasm.
 * NTKD costs 2(R + 1) student forward passes, R + 1 student backward passes and R + 1 teacher
 * forward passes per step, so about 5-10x a plain step is expected.
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

async function timeSteps(method: "none" | "kd" | "ntkd"): Promise<{ seconds: number; notes: string }> {
  await initBackend({ backend: "wasm" });
  const train = loadMnist({ split: "train", limit: BATCH * (STEPS + 1) });
  const teacher = buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const fe = frontend();
  const student = buildCompressedMetaOnn({ frontend: fe.layer, seed: 1 });
  const stamps: number[] = [];
  try {
    await trainStudent({
      student, method, teacher, train, epochs: 1, batchSize: BATCH, seed: 1,
      ntkd: { probes: 4 },
      onBatchEnd: () => stamps.push(performance.now()),
    });
  } finally {
    student.dispose();
    teacher.dispose();
  }
  // The first step warms up kernels and allocations: time the following ones.
  const seconds = (stamps[stamps.length - 1] - stamps[0]) / 1000 / (stamps.length - 1);
  return { seconds, notes: `mean of ${stamps.length - 1} steps after a warm-up step; ${fe.note}` };
}

export const ntkdCases: BenchCase[] = [
  { name: "compressed-meta plain step", group: GROUP, reference: true, run: () => timeSteps("none") },
  { name: "compressed-meta KD step", group: GROUP, run: () => timeSteps("kd") },
  { name: "compressed-meta NTKD step (R=4)", group: GROUP, run: () => timeSteps("ntkd") },
];
