/**
 * A user's small convnet (bench/user-convnet.ts: tf.layers + model.fit, not ntkd-lab's loop),
 * one epoch on 2,048 real MNIST images, batch 128, Adam: ours at 1 and 2 threads against the
 * same network in PyTorch at 1 and 2 threads and at its default. PyTorch trains on the arrays the
 * tfjs rows train on, and the parameter counts are checked equal.
 */
import { removeEpochData, writeEpochData } from "../model-epoch";
import { mnistEpochData } from "../mnist";
import { useOurWasm } from "../ours-backend";
import { runTorchScript, torchNote } from "../torch-run";
import { buildUserConvnet, timeUserConvnetFit } from "../user-convnet";
import { threadRows, torchThreadArgs } from "./thread-rows";
import type { BenchCase } from "./types";

const SAMPLES = 2048;
const BATCH = 128;
/** Rows run this many times, fastest kept (env BENCH_REPEATS, as the other rows). */
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

let dataMemo: ReturnType<typeof mnistEpochData> | null = null;
const data = () => (dataMemo ??= mnistEpochData(SAMPLES));

function tfjsParams(): number {
  const model = buildUserConvnet();
  try {
    return model.countParams();
  } finally {
    model.dispose();
  }
}

export const convnetCases: BenchCase[] = threadRows({
  label: "user convnet",
  group: "user convnet epoch (tf.layers + model.fit, 2048 MNIST, batch 128, Adam)",
  repeats: REPEATS,
  async ours(threads) {
    const actual = await useOurWasm(threads);
    const r = await timeUserConvnetFit(data(), BATCH);
    const notes = `${r.params.toLocaleString("en")} params; fit's epoch loss ${r.epochLoss.toFixed(3)}`;
    return { seconds: r.seconds, threads: actual, notes };
  },
  async torch(threads) {
    await useOurWasm(1);
    const expected = tfjsParams();
    const dir = writeEpochData(data());
    try {
      const args = ["convnet", dir, "--batch", String(BATCH), ...torchThreadArgs(threads)];
      const out = runTorchScript("models.py", args);
      if (out.params !== expected) {
        throw new Error(`bench/torch/models.py convnet: ${String(out.params)} parameters, ` +
          `the tfjs convnet has ${expected}; the architectures differ`);
      }
      return {
        seconds: out.seconds,
        threads: out.threads,
        notes: `${torchNote(out)}; ${expected.toLocaleString("en")} params (= tfjs); ` +
          `final loss ${(out.final_loss as number).toFixed(3)}`,
      };
    } finally {
      removeEpochData(dir);
    }
  },
});
