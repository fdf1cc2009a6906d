/** LeNet-5, one training epoch on 2,048 real MNIST images, batch 128, Adam: wasm, cpu, PyTorch. */
import { initBackend } from "../../src/runtime/backend";
import { useWasmKernelOverrides, WASM_OVERRIDDEN_KERNELS } from "../../src/runtime/wasm-kernels";
import { buildLeNet5 } from "../../src/models/teachers/lenet";
import { timeLeNetEpoch } from "../lenet-epoch";
import { mnistEpochData } from "../mnist";
import { removeEpochData, writeEpochData } from "../model-epoch";
import { runTorchScript } from "../torch-run";
import type { BenchCase } from "./types";

const SAMPLES = 2048;
const BATCH = 128;
const GROUP = "lenet5 epoch (2048 MNIST, batch 128, Adam)";
/** Fast rows run this many times, fastest kept (env BENCH_REPEATS). */
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
/** cpu is ~100x slower than wasm: time this many batches and scale (env BENCH_CPU_BATCHES). */
const CPU_BATCHES = Number(process.env.BENCH_CPU_BATCHES ?? 2);

export const lenetCases: BenchCase[] = [
  {
    name: "lenet5 wasm (ntkd kernels)",
    group: GROUP,
    repeats: REPEATS,
    async run() {
      await initBackend({ backend: "wasm" });
      useWasmKernelOverrides(true);
      const r = await timeLeNetEpoch({ samples: SAMPLES, batch: BATCH });
      return { seconds: r.seconds, notes: `final loss ${r.finalLoss.toFixed(3)}` };
    },
  },
  {
    name: "lenet5 wasm (wasm's own kernels where it has them)",
    group: GROUP,
    repeats: REPEATS,
    async run() {
      await initBackend({ backend: "wasm" });
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
    name: "lenet5 cpu",
    group: GROUP,
    async run() {
      await initBackend({ backend: "cpu" });
      const r = await timeLeNetEpoch({ samples: SAMPLES, batch: BATCH, timedBatches: CPU_BATCHES });
      return { seconds: r.seconds, notes: `scaled from ${r.timedBatches} of ${r.batches} batches` };
    },
  },
  {
    name: "lenet5 pytorch cpu",
    group: GROUP,
    repeats: REPEATS,
    reference: true,
    async run() {
      // The exact arrays the tfjs rows train on, through the same PyTorch script as the other models.
      const dir = writeEpochData(mnistEpochData(SAMPLES));
      try {
        const out = runTorchScript("models.py", ["lenet", dir, String(BATCH)], 600_000);
        const expected = buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
        const params = expected.countParams();
        expected.dispose();
        if (out.params !== params) throw new Error(`bench/torch/models.py lenet: ${String(out.params)} parameters, the tfjs LeNet-5 has ${params}`);
        return { seconds: out.seconds, notes: `torch ${out.torch_version}, ${out.threads} thread(s); ${params.toLocaleString("en")} params (= tfjs); final loss ${(out.final_loss as number).toFixed(3)}` };
      } finally {
        removeEpochData(dir);
      }
    },
  },
];
