/**
 * Prototype: tfjs's threaded wasm build (XNNPACK on a pthreadpool) inside this Node process,
 * timed against today's single-threaded wasm on a conv2d forward + backward (batch 128, 28x28,
 * 32 -> 32 channels, 3x3 'same') and on one `model.fit` epoch of a small user convnet, with
 * ntkd-lab's training kernels (Conv2DBackpropFilter is
 * ours; wasm has none). Three backends live side by side: "wasm" (the single-threaded SIMD build
 * ntkd-lab starts at import) and the threaded SIMD build at 1 and at 2 threads. Repeats are
 * interleaved across the backends, so that load from other processes on a shared machine hits
 * all of them alike; medians are printed, with the process's CPU time per wall time (above 1
 * when a second thread computes, on an idle machine) and, from /proc, the share of CPU time
 * spent off the main thread: the proof that the pool's thread computes even when a loaded
 * machine gives no speed-up).
 *
 *   node node_modules/typescript/bin/tsc -p tsconfig.test.json && node dist-test/bench/threads.js [repeats]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { tf } from "../src/runtime/tf";
import { createThreadedWasmBackend, registerWasmBackendAs, wasmBackendThreads } from "../src/runtime/wasm-threads";
import { buildUserConvnet } from "./user-convnet";

const BATCH = 128, SIZE = 28, CHANNELS = 32, KERNEL = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Wall and process CPU milliseconds (all threads) of one step, and the CPU ticks of threads other than the main one. */
interface StepTime { wallMs: number; cpuMs: number; otherThreadTicks: number; mainThreadTicks: number }

/** CPU clock ticks (user + system) of this process's threads from /proc (Linux), main thread apart; zeros elsewhere. */
function threadTicks(): { main: number; others: number } {
  const taskDir = "/proc/self/task";
  if (!fs.existsSync(taskDir)) return { main: 0, others: 0 };
  let main = 0, others = 0;
  for (const tid of fs.readdirSync(taskDir)) {
    let stat: string;
    try { stat = fs.readFileSync(`${taskDir}/${tid}/stat`, "utf8"); } catch { continue; } // thread ended meanwhile
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    if (Number(tid) === process.pid) main += ticks; else others += ticks;
  }
  return { main, others };
}

/** One forward + backward of a conv2d layer. Inputs are made on the active backend. */
function convStep(): StepTime {
  return tf.tidy(() => {
    const x = tf.randomUniform([BATCH, SIZE, SIZE, CHANNELS], -1, 1, "float32", 1);
    const w = tf.randomUniform([KERNEL, KERNEL, CHANNELS, CHANNELS], -0.1, 0.1, "float32", 2);
    const dy = tf.randomUniform([BATCH, SIZE, SIZE, CHANNELS], -1, 1, "float32", 3);
    x.dataSync(); w.dataSync(); dy.dataSync();
    const f = (xi: tf.Tensor, wi: tf.Tensor) => tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 1, "same");
    const start = performance.now(), cpuStart = process.cpuUsage(), ticksStart = threadTicks();
    const y = f(x, w);
    const [dx, dw] = tf.grads(f)([x, w], dy);
    y.dataSync(); dx.dataSync(); dw.dataSync();
    const cpu = process.cpuUsage(cpuStart), ticks = threadTicks();
    return { wallMs: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1000,
      otherThreadTicks: ticks.others - ticksStart.others, mainThreadTicks: ticks.main - ticksStart.main };
  });
}

function shareOffMain(t: { main: number; others: number }): string {
  return t.main + t.others === 0 ? "n/a" : `${((100 * t.others) / (t.main + t.others)).toFixed(0)}%`;
}

/**
 * One epoch of `model.fit` on a user's small convnet (bench/user-convnet.ts: two 'same' conv layers
 * with max pooling and a dense softmax, Adam, batch 128) over 512 random 28x28 images; built on
 * the active backend.
 */
async function smallConvnetEpoch(): Promise<StepTime> {
  const model = buildUserConvnet();
  model.compile({ optimizer: tf.train.adam(1e-3), loss: "categoricalCrossentropy" });
  const xs = tf.randomUniform([512, 28, 28, 1], 0, 1, "float32", 4);
  const ys = tf.oneHot(tf.randomUniform([512], 0, 10, "int32", 5) as tf.Tensor1D, 10);
  const start = performance.now(), cpuStart = process.cpuUsage(), ticksStart = threadTicks();
  await model.fit(xs, ys, { batchSize: 128, epochs: 1, verbose: 0 });
  const cpu = process.cpuUsage(cpuStart), ticks = threadTicks();
  tf.dispose([xs, ys]);
  model.dispose();
  return { wallMs: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1000,
    otherThreadTicks: ticks.others - ticksStart.others, mainThreadTicks: ticks.main - ticksStart.main };
}

/** Times `run` on every backend, repeats interleaved across backends, and prints medians. */
async function timeOnBackends(title: string, backends: { name: string; label: string }[], repeats: number,
  run: () => StepTime | Promise<StepTime>): Promise<Map<string, number>> {
  const times = new Map<string, number[]>(backends.map((b) => [b.name, []]));
  const cpuPerWall = new Map<string, number[]>(backends.map((b) => [b.name, []]));
  const ticks = new Map<string, { main: number; others: number }>(backends.map((b) => [b.name, { main: 0, others: 0 }]));
  for (const b of backends) { await tf.setBackend(b.name); await run(); } // warm-up: XNNPACK operator set-up
  for (let r = 0; r < repeats; r++) {
    for (const b of backends) {
      await tf.setBackend(b.name);
      const t = await run();
      times.get(b.name)!.push(t.wallMs);
      cpuPerWall.get(b.name)!.push(t.cpuMs / t.wallMs);
      ticks.get(b.name)!.main += t.mainThreadTicks;
      ticks.get(b.name)!.others += t.otherThreadTicks;
    }
  }
  console.log(`${title}, ${repeats} repeats`);
  const medians = new Map<string, number>();
  for (const b of backends) {
    const t = times.get(b.name)!;
    medians.set(b.name, median(t));
    console.log(`  ${b.label.padEnd(28)} wall median ${median(t).toFixed(1)} ms  (min ${Math.min(...t).toFixed(1)}, max ${Math.max(...t).toFixed(1)}), ` +
      `CPU time / wall time ${median(cpuPerWall.get(b.name)!).toFixed(2)}, ` +
      `share of CPU time off the main thread ${shareOffMain(ticks.get(b.name)!)}`);
  }
  const one = medians.get("wasm-threads-1")!, two = medians.get("wasm-threads-2")!, single = medians.get("wasm")!;
  console.log(`  ratio 1 thread / 2 threads (threaded build): ${(one / two).toFixed(2)}x; single-threaded build / 2 threads: ${(single / two).toFixed(2)}x`);
  return medians;
}

async function main(): Promise<void> {
  const repeats = Number(process.argv[2] ?? 7);
  const loadBefore = os.loadavg()[0];
  const backends: { name: string; label: string }[] = [{ name: "wasm", label: "single-threaded build" }];
  for (const threads of [1, 2]) {
    const start = performance.now();
    const backend = await createThreadedWasmBackend(threads);
    const name = `wasm-threads-${threads}`;
    registerWasmBackendAs(name, backend);
    console.log(`${name}: started in ${(performance.now() - start).toFixed(0)} ms, XNNPACK threads ${wasmBackendThreads(backend)}`);
    backends.push({ name, label: `threaded build, ${threads} thread${threads > 1 ? "s" : ""}` });
  }
  await timeOnBackends(`conv2d forward+backward, x [${BATCH},${SIZE},${SIZE},${CHANNELS}], w [${KERNEL},${KERNEL},${CHANNELS},${CHANNELS}]`,
    backends, repeats, convStep);
  await timeOnBackends("small convnet, model.fit, 1 epoch of 512 images, batch 128", backends, Math.max(1, Math.ceil(repeats / 2)), smallConvnetEpoch);
  console.log(`machine: ${os.cpus().length} logical CPUs, load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after (shared with other jobs: ratios are noisy)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
