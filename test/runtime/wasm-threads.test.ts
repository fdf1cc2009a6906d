/**
 * tfjs's threaded wasm build inside Node: its XNNPACK pool really has a second thread, it computes
 * what the single-threaded build and tfjs's cpu backend compute (conv2d and its gradients, matmul,
 * one training step of a small conv model through ntkd-lab's kernels), the thread count follows
 * NTKD_THREADS, and a process using it exits as soon as its work ends.
 *
 * In this process "wasm" stays the single-threaded build; the threaded one (2 threads, whatever
 * the machine) is registered beside it as "wasm-threads-2" with every "wasm" kernel.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import * as os from "node:os";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { autoWasmThreads, createThreadedWasmBackend, registerWasmBackendAs, requestedWasmThreads, wasmBackendThreads } from "../../src/runtime/wasm-threads";
import { randomTensor, relativeMaxError, HostTensor } from "./parity";

const THREADED = "wasm-threads-2";
const BACKENDS = ["cpu", "wasm", THREADED] as const;
type Backend = (typeof BACKENDS)[number];

/** Threaded vs single-threaded wasm: the same XNNPACK kernels, split over threads by output tiles. */
const TOL_WASM = 1e-5;
/** wasm vs tfjs's cpu reference kernels (other summation orders). */
const TOL_CPU = 1e-4;

let threadedBackend: tf.KernelBackend;

before(async () => {
  await initBackend({ backend: "cpu" });
  await initBackend({ backend: "wasm", threads: 1 });
  threadedBackend = await createThreadedWasmBackend(2);
  registerWasmBackendAs(THREADED, threadedBackend);
});

/** Runs `compute` on each backend from the same host inputs; returns each output on the host. */
async function onEveryBackend(inputs: HostTensor[], compute: (...xs: tf.Tensor[]) => tf.Tensor[]): Promise<Record<Backend, HostTensor[]>> {
  const results = {} as Record<Backend, HostTensor[]>;
  for (const name of BACKENDS) {
    await tf.setBackend(name);
    const before = tf.memory().numTensors;
    const xs = inputs.map((h) => tf.tensor(h.values, h.shape, h.dtype));
    const outs = compute(...xs);
    results[name] = outs.map((o) => ({ shape: o.shape, values: (o.dataSync() as Float32Array).slice(), dtype: "float32" as const }));
    tf.dispose([...xs, ...outs]);
    assert.equal(tf.memory().numTensors, before, `${name} leaked tensors`);
  }
  return results;
}

function assertAgree(results: Record<Backend, HostTensor[]>, what: string[]): void {
  what.forEach((label, i) => {
    const single = results.wasm[i];
    const threaded = relativeMaxError(results[THREADED][i], single);
    assert.ok(threaded <= TOL_WASM, `${label}: threaded vs single-threaded wasm, relative error ${threaded}`);
    const cpu = relativeMaxError(results[THREADED][i], results.cpu[i]);
    assert.ok(cpu <= TOL_CPU, `${label}: threaded wasm vs cpu, relative error ${cpu}`);
  });
}

test("the threaded backend's XNNPACK pool has 2 threads, one of them a pthread in a worker", () => {
  assert.equal(wasmBackendThreads(threadedBackend), 2);
  assert.equal(wasmBackendThreads(tf.findBackend("wasm")), 1);
  const pthread = (threadedBackend as unknown as { wasm: { PThread: { runningWorkers: unknown[] } } }).wasm.PThread;
  assert.equal(pthread.runningWorkers.length, 1);
});

test("conv2d forward and both gradients agree with single-threaded wasm and cpu", async () => {
  const x = randomTensor([8, 16, 16, 8], 11), w = randomTensor([3, 3, 8, 16], 12, (v) => 0.3 * v);
  const dy = randomTensor([8, 8, 8, 16], 13);
  const conv = (xi: tf.Tensor, wi: tf.Tensor) => tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 2, "same");
  const results = await onEveryBackend([x, w, dy], (xi, wi, dyi) => [conv(xi, wi), ...tf.grads(conv)([xi, wi], dyi)]);
  assertAgree(results, ["conv2d", "dx (Conv2DBackpropInput)", "dW (Conv2DBackpropFilter)"]);
});

test("matMul, plain and transposed, agrees with single-threaded wasm and cpu", async () => {
  const a = randomTensor([96, 128], 21), b = randomTensor([128, 80], 22), bt = randomTensor([80, 128], 23);
  const results = await onEveryBackend([a, b, bt], (ai, bi, bti) => [tf.matMul(ai, bi), tf.matMul(ai, bti, false, true)]);
  assertAgree(results, ["matMul", "matMul(a, b^T)"]);
});

test("one SGD step of a small conv model (conv, relu, max pool, dense, softmax cross-entropy) agrees", async () => {
  const x = randomTensor([16, 12, 12, 1], 31);
  const labels: HostTensor = { shape: [16, 10], values: new Float32Array(160).map((_, i) => (i % 10 === (Math.floor(i / 10) * 3) % 10 ? 1 : 0)), dtype: "float32" };
  const w1 = randomTensor([3, 3, 1, 8], 32, (v) => 0.5 * v), b1 = randomTensor([8], 33, (v) => 0.1 * v);
  const w2 = randomTensor([6 * 6 * 8, 10], 34, (v) => 0.1 * v), b2 = randomTensor([10], 35, (v) => 0.1 * v);
  const results = await onEveryBackend([x, labels, w1, b1, w2, b2], (xi, yi, ...weights) => {
    const vars = weights.map((t) => tf.variable(t));
    const [vw1, vb1, vw2, vb2] = vars;
    const loss = () => tf.tidy(() => {
      const h = tf.relu(tf.add(tf.conv2d(xi as tf.Tensor4D, vw1 as tf.Tensor4D, 1, "same"), vb1));
      const pooled = tf.maxPool(h as tf.Tensor4D, 2, 2, "valid");
      const logits = tf.add(tf.matMul(tf.reshape(pooled, [16, 6 * 6 * 8]), vw2), vb2);
      return tf.losses.softmaxCrossEntropy(yi, logits) as tf.Scalar;
    });
    const optimizer = tf.train.sgd(0.5);
    const lossBefore = optimizer.minimize(loss, true) as tf.Scalar;
    const lossAfter = loss();
    const out = [lossBefore, lossAfter, ...vars.map((v) => v.clone())];
    optimizer.dispose();
    tf.dispose(vars);
    return out;
  });
  assertAgree(results, ["loss before", "loss after", "w1", "b1", "w2", "b2"]);
  const [before, after] = [results[THREADED][0].values[0], results[THREADED][1].values[0]];
  assert.ok(after < before, `the SGD step should lower the loss: ${before} -> ${after}`);
});

test("requestedWasmThreads: NTKD_THREADS when set, else (or \"auto\") the CPUs this process may use, at most 8; one-line error on bad input", () => {
  const saved = process.env.NTKD_THREADS;
  const auto = Math.min(8, os.availableParallelism());
  try {
    process.env.NTKD_THREADS = "3";
    assert.equal(requestedWasmThreads(), 3);
    process.env.NTKD_THREADS = "1";
    assert.equal(requestedWasmThreads(), 1);
    delete process.env.NTKD_THREADS;
    assert.equal(requestedWasmThreads(), auto);
    assert.equal(autoWasmThreads(), auto);
    for (const unset of ["", " auto "]) {
      process.env.NTKD_THREADS = unset;
      assert.equal(requestedWasmThreads(), auto);
    }
    for (const bad of ["0", "-2", "1.5", "two"]) {
      process.env.NTKD_THREADS = bad;
      assert.throws(() => requestedWasmThreads(), new RegExp(`^Error: NTKD_THREADS="${bad}" is not a thread count; expected a positive integer`));
    }
  } finally {
    if (saved === undefined) delete process.env.NTKD_THREADS; else process.env.NTKD_THREADS = saved;
  }
});

const runtimeEntry = path.join(__dirname, "..", "..", "src", "runtime", "index.js");

interface ChildRun { lines: Record<string, unknown>[]; stderr: string; code: number | null; exitAfterDoneMs: number }

/** Runs `body` in a fresh node after importing src/runtime; `body` prints JSON lines, the last being {"done":true}. */
function runChild(body: string, env: Record<string, string>): Promise<ChildRun> {
  const script = `const rt = require(${JSON.stringify(runtimeEntry)}); const { tf } = rt;\n` +
    `(async () => {\n${body}\nconsole.log(JSON.stringify({ done: true }));\n})()` +
    `.catch((e) => { console.log(JSON.stringify({ error: e.message })); console.log(JSON.stringify({ done: true })); });`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NTKD_BACKEND;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], { env: childEnv });
    let stdout = "", stderr = "", doneAt = 0;
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000); // a hung child fails the exit check, not the suite
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (doneAt === 0 && stdout.includes('{"done":true}')) doneAt = performance.now();
    });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(killer);
      const lines = stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ lines, stderr, code, exitAfterDoneMs: doneAt === 0 ? Number.POSITIVE_INFINITY : performance.now() - doneAt });
    });
  });
}

const CONV_GRADIENT_STEP = `
const x = tf.randomUniform([4, 10, 10, 3], -1, 1, "float32", 1);
const w = tf.variable(tf.randomUniform([3, 3, 3, 8], -0.3, 0.3, "float32", 2));
const { grads } = tf.variableGrads(() => tf.conv2d(x, w, 1, "same").square().mean());
console.log(JSON.stringify({ gradFinite: Array.from(grads[w.name].dataSync()).every(Number.isFinite) }));
`;

test("a process on 2 wasm threads (NTKD_THREADS=2, via initBackend) reports them and exits right after its work", async () => {
  const r = await runChild(`
console.log(JSON.stringify({ atImport: rt.runtimeInfo() }));
await rt.initBackend();
console.log(JSON.stringify({ afterInit: rt.runtimeInfo(), why: rt.wasmThreadsError() }));
${CONV_GRADIENT_STEP}`, { NTKD_THREADS: "2" });
  assert.equal(r.code, 0, r.stderr);
  const atImport = r.lines[0].atImport as Record<string, unknown>;
  assert.equal(atImport.backend, "wasm");
  assert.equal(atImport.wasmThreadCount, 1, "the import-time default is the synchronous single-threaded build");
  const afterInit = r.lines[1].afterInit as Record<string, unknown>;
  assert.equal(afterInit.backend, "wasm");
  assert.equal(afterInit.wasmThreadCount, 2, `why: ${String(r.lines[1].why)}`);
  assert.equal(afterInit.wasmThreads, true);
  assert.equal(r.lines[2].gradFinite, true);
  // The pool's worker threads must not hold the event loop open.
  assert.ok(r.exitAfterDoneMs < 3000, `the process took ${r.exitAfterDoneMs.toFixed(0)} ms to exit after its work`);
});

test("NTKD_THREADS=1 keeps the single-threaded build, initBackend({ threads }) overrides it; tensors made before initBackend keep it too, with the reason", async () => {
  const one = await runChild(`await rt.initBackend(); console.log(JSON.stringify(rt.runtimeInfo()));
await rt.initBackend({ threads: 2 }); console.log(JSON.stringify(rt.runtimeInfo()));
await rt.initBackend({ threads: 1 }); console.log(JSON.stringify({ ...rt.runtimeInfo(), sum: tf.ones([4]).sum().dataSync()[0] }));`, { NTKD_THREADS: "1" });
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.lines[0].wasmThreadCount, 1);
  assert.equal(one.lines[0].wasmThreads, false);
  // The option overrides the env, and going back to 1 thread restores the single-threaded build.
  assert.equal(one.lines[1].wasmThreadCount, 2);
  assert.equal(one.lines[2].wasmThreadCount, 1);
  assert.equal(one.lines[2].sum, 4);
  const early = await runChild(`const t = tf.ones([3]); await rt.initBackend();
console.log(JSON.stringify({ info: rt.runtimeInfo(), why: rt.wasmThreadsError(), sum: t.sum().dataSync()[0] }));`, { NTKD_THREADS: "2" });
  assert.equal(early.code, 0, early.stderr);
  assert.equal((early.lines[0].info as Record<string, unknown>).wasmThreadCount, 1);
  assert.match(String(early.lines[0].why), /already holds 1 tensors/);
  assert.equal(early.lines[0].sum, 3, "the tensor made before initBackend survives");
  const bad = await runChild(`await rt.initBackend();`, { NTKD_THREADS: "lots" });
  assert.match(String(bad.lines[0].error), /^NTKD_THREADS="lots" is not a thread count/);
});
