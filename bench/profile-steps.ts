/**
 * Where a training step's time goes: one warm step (batch 128, Adam) of each benchmarked model,
 * profiled kernel by kernel on ours at 1 thread (the single-threaded wasm build) and at 2 (the
 * threaded build), each kernel's time the median over 5 steps. Printed per model: the step's
 * wall time, the kernels' total, the time outside kernels (tape, dispatch, JS glue) and the
 * hottest kernels at both thread counts, so that a ratio to PyTorch in `npm run bench` can be
 * traced to the kernels that make it.
 *
 *   node node_modules/typescript/bin/tsc -p tsconfig.test.json && node dist-test/bench/profile-steps.js [model ...]
 *
 * Models: convnet (a user's tf.layers net, trainOnBatch), lenet5, compressed-meta, alexnet-quarter
 * (the CIFAR-10 teacher outside full mode), unet; default all.
 */
import type { LayersModel, Scalar, Tensor } from "@tensorflow/tfjs";
import { tf } from "../src/runtime/tf";
import { profileKernels, type KernelTime } from "../src/runtime/profile";
import { buildAlexNetSmall } from "../src/models/teachers/alexnet";
import { buildUNet } from "../src/models/segmentation/unet";
import { lenetStepForProfile } from "./lenet-epoch";
import { compressedMetaStepForProfile } from "./ntkd-step";
import { buildUserConvnet } from "./user-convnet";
import { useOurWasm, type OurThreads } from "./ours-backend";

const BATCH = 128;
const STEPS = 5;

interface Step { step: () => void | Promise<void>; dispose: () => void }

/** A model trained by tf's Adam on random inputs and targets of its own shapes. */
function minimiseStep(build: () => LayersModel, inputShape: number[], loss: (y: Tensor, out: Tensor) => Scalar, target: () => Tensor): Step {
  const model = build();
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomUniform([BATCH, ...inputShape], 0, 1, "float32", 1);
  const y = target();
  return {
    step: () => {
      const cost = optimizer.minimize(() => loss(y, model.apply(x, { training: true }) as Tensor), true);
      cost?.dispose();
    },
    dispose: () => { tf.dispose([x, y]); optimizer.dispose(); model.dispose(); },
  };
}

const oneHot10 = () => tf.oneHot(tf.randomUniform([BATCH], 0, 10, "int32", 2) as tf.Tensor1D, 10).toFloat();

const MODELS: Record<string, () => Step> = {
  convnet: () => {
    const model = buildUserConvnet();
    const optimizer = tf.train.adam(1e-3);
    model.compile({ optimizer, loss: "categoricalCrossentropy" });
    const x = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, "float32", 1);
    const y = oneHot10();
    return { step: async () => { await model.trainOnBatch(x, y); }, dispose: () => { tf.dispose([x, y]); optimizer.dispose(); model.dispose(); } };
  },
  lenet5: () => lenetStepForProfile(BATCH),
  "compressed-meta": () => compressedMetaStepForProfile({ method: "none" }),
  "alexnet-quarter": () => minimiseStep(() => buildAlexNetSmall({ inputShape: [32, 32, 3], numClasses: 10, seed: 1, widthMultiplier: 0.25 }),
    [32, 32, 3], (y, out) => tf.losses.softmaxCrossEntropy(y, out) as Scalar, oneHot10),
  unet: () => minimiseStep(() => buildUNet({ inputShape: [32, 32, 3], depth: 3, baseFilters: 16, seed: 1 }),
    [32, 32, 3], (y, out) => tf.losses.sigmoidCrossEntropy(y, out) as Scalar,
    () => tf.randomUniform([BATCH, 32, 32, 1], 0, 1, "float32", 3).greater(0.5).toFloat()),
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Wall time of a step and each kernel's median time over STEPS profiled steps. */
async function profile(make: () => Step): Promise<{ wallMs: number; kernels: KernelTime[] }> {
  const s = make();
  try {
    for (let i = 0; i < 2; i++) await s.step(); // XNNPACK operator set-up, optimizer slots
    const walls: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const t0 = performance.now();
      await s.step();
      walls.push(performance.now() - t0);
    }
    const runs: Map<string, KernelTime>[] = [];
    for (let i = 0; i < STEPS; i++) runs.push(new Map((await profileKernels(() => s.step())).map((k) => [k.kernel, k])));
    const names = new Set(runs.flatMap((m) => [...m.keys()]));
    const kernels = [...names].map((kernel) => ({
      kernel,
      calls: median(runs.map((m) => m.get(kernel)?.calls ?? 0)),
      totalMs: median(runs.map((m) => m.get(kernel)?.totalMs ?? 0)),
    })).sort((a, b) => b.totalMs - a.totalMs);
    return { wallMs: median(walls), kernels };
  } finally {
    s.dispose();
  }
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((m) => !(m in MODELS));
  if (unknown.length > 0) throw new Error(`profile-steps: unknown model ${unknown.join(", ")}; expected some of ${Object.keys(MODELS).join(", ")}`);
  for (const name of wanted.length > 0 ? wanted : Object.keys(MODELS)) {
    const byThreads = new Map<OurThreads, { wallMs: number; kernels: KernelTime[] }>();
    for (const threads of [1, 2] as OurThreads[]) {
      await useOurWasm(threads);
      byThreads.set(threads, await profile(MODELS[name]!));
    }
    const one = byThreads.get(1)!, two = byThreads.get(2)!;
    const total = (ks: KernelTime[]) => ks.reduce((s, k) => s + k.totalMs, 0);
    console.log(`\n${name}, one training step (batch ${BATCH}): wall ${one.wallMs.toFixed(1)} ms at 1 thread, ${two.wallMs.toFixed(1)} ms at 2; ` +
      `kernels ${total(one.kernels).toFixed(1)} / ${total(two.kernels).toFixed(1)} ms, ` +
      `outside kernels ${(one.wallMs - total(one.kernels)).toFixed(1)} / ${(two.wallMs - total(two.kernels)).toFixed(1)} ms`);
    const twoBy = new Map(two.kernels.map((k) => [k.kernel, k]));
    console.log("| kernel | calls | ms, 1 thread | ms, 2 threads |");
    console.log("|---|---|---|---|");
    for (const k of one.kernels.slice(0, 10)) {
      console.log(`| ${k.kernel} | ${k.calls} | ${k.totalMs.toFixed(2)} | ${twoBy.get(k.kernel)?.totalMs.toFixed(2) ?? "-"} |`);
    }
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
