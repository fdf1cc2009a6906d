/**
 * LeNet-5, one training epoch on 2,048 real MNIST images, batch 128, Adam: ours at 1 and 2
 * threads against PyTorch at equal threads and at its default (bench/cases/thread-rows.ts),
 * plus wasm with tfjs's own kernels and the cpu backend, each against PyTorch at 1 thread.
 */
import { initBackend } from "../../src/runtime/backend";
import { useWasmKernelOverrides, WASM_OVERRIDDEN_KERNELS } from "../../src/runtime/wasm-kernels";
import { buildLeNet5 } from "../../src/models/teachers/lenet";
import { timeLeNetEpoch } from "../lenet-epoch";
import { mnistEpochData } from "../mnist";
import { removeEpochData, writeEpochData } from "../model-epoch";
import { useOurWasm } from "../ours-backend";
import { runTorchScript, torchNote } from "../torch-run";
import { threadRows, torchRowName, torchThreadArgs } from "./thread-rows";
import type { BenchCase } from "./types";

const SAMPLES = 2048;
const BATCH = 128;
const LABEL = "lenet5";
const GROUP = "lenet5 epoch (2048 MNIST, batch 128, Adam)";
/** Fast rows run this many times, fastest kept (env BENCH_REPEATS). */
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
/** cpu is ~100x slower than wasm: time this many batches and scale (env BENCH_CPU_BATCHES). */
const CPU_BATCHES = Number(process.env.BENCH_CPU_BATCHES ?? 2);

const threadGroup = threadRows({
  label: LABEL,
  group: GROUP,
  repeats: REPEATS,
  async ours(threads) {
    const actual = await useOurWasm(threads);
    const r = await timeLeNetEpoch({ samples: SAMPLES, batch: BATCH });
    return { seconds: r.seconds, threads: actual, notes: `ntkd kernels; final loss ${r.finalLoss.toFixed(3)}` };
  },
  async torch(threads) {
    // The exact arrays the tfjs rows train on, through the same PyTorch script as the other models.
    const dir = writeEpochData(mnistEpochData(SAMPLES));
    try {
      const out = runTorchScript("models.py", ["lenet", dir, "--batch", String(BATCH), ...torchThreadArgs(threads)], 600_000);
      await useOurWasm(1);
      const expected = buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
      const params = expected.countParams();
      expected.dispose();
      if (out.params !== params) throw new Error(`bench/torch/models.py lenet: ${String(out.params)} parameters, the tfjs LeNet-5 has ${params}`);
      return {
        seconds: out.seconds,
        threads: out.threads,
        notes: `${torchNote(out)}; ${params.toLocaleString("en")} params (= tfjs); final loss ${(out.final_loss as number).toFixed(3)}`,
      };
    } finally {
      removeEpochData(dir);
    }
  },
});

/** Single-threaded configurations beside ours, compared with PyTorch at 1 thread. */
const singleThreaded: BenchCase[] = [
  {
    name: "lenet5 wasm (wasm's own kernels where it has them), 1 thread",
    group: GROUP,
    repeats: REPEATS,
    threads: 1,
    compareTo: torchRowName(LABEL, 1),
    async run() {
      await useOurWasm(1);
      useWasmKernelOverrides(false);
      try {
        const r = await timeLeNetEpoch({ samples: SAMPLES, batch: BATCH });
        return { seconds: r.seconds, notes: `before: tfjs's own ${WASM_OVERRIDDEN_KERNELS.join(", ")}; final loss ${r.finalLoss.toFixed(3)}` };
      } finally {
        useWasmKernelOverrides(true);
      }
    },
  },
  {
    name: "lenet5 cpu, 1 thread",
    group: GROUP,
    threads: 1,
    compareTo: torchRowName(LABEL, 1),
    async run() {
      await initBackend({ backend: "cpu" });
      const r = await timeLeNetEpoch({ samples: SAMPLES, batch: BATCH, timedBatches: CPU_BATCHES });
      return { seconds: r.seconds, notes: `scaled from ${r.timedBatches} of ${r.batches} batches` };
    },
  },
];

// Ours first, then the other tfjs configurations (not ours to ship: no best-ours candidates), then PyTorch.
export const lenetCases: BenchCase[] = [
  ...threadGroup.filter((c) => c.ours),
  ...singleThreaded,
  ...threadGroup.filter((c) => !c.ours),
];
