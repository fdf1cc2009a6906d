/**
 * A new user's first lines: import the package, build a conv model, take a gradient step, with
 * no initBackend() and no tf.ready(). Each case runs in a fresh node, because readiness is about
 * what the import alone sets up.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const packageEntry = path.join(__dirname, "..", "..", "src", "index.js");
const syncInitModule = path.join(__dirname, "..", "..", "src", "runtime", "wasm-sync-init.js");

/** Runs `body` (which ends by printing one JSON line) after `prelude` and the package import. */
function runFresh(body: string, opts: { env?: Record<string, string>; prelude?: string } = {}): Record<string, unknown> {
  const script = `${opts.prelude ?? ""}\nconst { tf } = require(${JSON.stringify(packageEntry)});\n` +
    `(async () => {\n${body}\n})().catch((e) => { console.error("CHILD ERROR: " + e.message); process.exit(3); });`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (opts.env?.NTKD_BACKEND === undefined) delete env.NTKD_BACKEND;
  const r = spawnSync(process.execPath, ["-e", script], { env, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `child exited ${r.status}:\n${r.stderr}`);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

// One SGD step on a conv filter, synchronously right after the import. The same step is then
// recomputed on the cpu backend (tfjs's reference kernels) from the same numbers.
const CONV_STEP = `
const x = tf.tensor4d(Array.from({ length: 2 * 6 * 6 * 2 }, (_, i) => Math.sin(i * 0.37)), [2, 6, 6, 2]);
const w = tf.variable(tf.tensor4d(Array.from({ length: 3 * 3 * 2 * 3 }, (_, i) => Math.cos(i * 0.91) * 0.3), [3, 3, 2, 3]));
const loss = () => tf.conv2d(x, w, [2, 2], "same").square().mean();
const lossBefore = loss().dataSync()[0];
const backend = tf.getBackend();
let grad;
const profile = await tf.profile(() => {
  const { value, grads } = tf.variableGrads(loss);
  grad = Array.from(grads[w.name].dataSync());
  w.assign(w.sub(grads[w.name].mul(0.5)));
  return value;
});
const lossAfter = loss().dataSync()[0];
const kernel = tf.getKernel("Conv2DBackpropFilter", backend);
const xs = x.arraySync(), w0 = w.add(tf.tensor1d(grad).reshape(w.shape).mul(0.5)).arraySync();
await tf.setBackend("cpu");
const wCpu = tf.variable(tf.tensor4d(w0));
const cpuGrad = Array.from(tf.variableGrads(() => tf.conv2d(tf.tensor4d(xs), wCpu, [2, 2], "same").square().mean()).grads[wCpu.name].dataSync());
console.log(JSON.stringify({ backend, lossBefore, lossAfter, grad, cpuGrad, kernels: profile.kernelNames,
  filterGradKernel: kernel === undefined ? null : kernel.kernelFunc.name }));
`;

function assertConvStepOnWasm(r: Record<string, unknown>): void {
  assert.equal(r.backend, "wasm");
  assert.ok((r.kernels as string[]).includes("Conv2DBackpropFilter"), `kernels run: ${String(r.kernels)}`);
  // wasm 4.22 has no Conv2DBackpropFilter of its own: the one registered is ntkd-lab's.
  assert.equal(r.filterGradKernel, "conv2DBackpropFilter");
  const grad = r.grad as number[], cpuGrad = r.cpuGrad as number[];
  assert.equal(grad.length, 3 * 3 * 2 * 3);
  for (let i = 0; i < grad.length; i++) assert.ok(Math.abs(grad[i] - cpuGrad[i]) <= 1e-5 + 1e-4 * Math.abs(cpuGrad[i]), `dW[${i}]: wasm ${grad[i]}, cpu ${cpuGrad[i]}`);
  assert.ok((r.lossAfter as number) < (r.lossBefore as number), `one SGD step should lower the loss: ${r.lossBefore} -> ${r.lossAfter}`);
}

test("after the import alone, the first op runs on wasm and a conv gradient step uses ntkd-lab's filter gradient", () => {
  assertConvStepOnWasm(runFresh(CONV_STEP));
});

test("a user who awaits tf.ready() first (tfjs's advice) gets the same training kernels", () => {
  assertConvStepOnWasm(runFresh(`await tf.ready();\n${CONV_STEP}`));
});

test("tf.layers + model.fit right after the import trains a conv net on wasm", () => {
  const r = runFresh(`
const xs = tf.tensor4d(Array.from({ length: 8 * 8 * 8 }, (_, i) => Math.sin(i * 0.13)), [8, 8, 8, 1]);
const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 1, 0, 0, 1], "int32"), 2);
const model = tf.sequential({ layers: [
  tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, activation: "relu" }),
  tf.layers.maxPooling2d({ poolSize: 2 }),
  tf.layers.depthwiseConv2d({ kernelSize: 2 }),
  tf.layers.flatten(),
  tf.layers.dense({ units: 2, activation: "softmax" }),
] });
model.compile({ optimizer: tf.train.sgd(0.1), loss: "categoricalCrossentropy" });
const before = model.getWeights()[0].arraySync();
let history;
const profile = await tf.profile(async () => { history = await model.fit(xs, ys, { epochs: 2, batchSize: 4, verbose: 0, shuffle: false }); });
const after = model.getWeights()[0].arraySync();
console.log(JSON.stringify({ backend: tf.getBackend(), loss: history.history.loss, kernels: profile.kernelNames,
  changed: JSON.stringify(before) !== JSON.stringify(after) }));
`);
  assert.equal(r.backend, "wasm");
  const loss = r.loss as number[];
  assert.equal(loss.length, 2);
  assert.ok(loss.every(Number.isFinite), `losses: ${loss}`);
  assert.equal(r.changed, true, "fit must move the conv filter");
  for (const k of ["Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropFilter", "MaxPoolGrad"]) {
    assert.ok((r.kernels as string[]).includes(k), `${k} should run in fit; ran: ${String(r.kernels)}`);
  }
});

test("NTKD_BACKEND=cpu at import puts the first op on cpu", () => {
  const r = runFresh(`tf.tensor1d([1, 2]).square().dataSync();\nconsole.log(JSON.stringify({ backend: tf.getBackend() }));`, { env: { NTKD_BACKEND: "cpu" } });
  assert.equal(r.backend, "cpu");
});

test("when wasm cannot start synchronously, an early op names tf.ready() and initBackend() then trains with our kernels", () => {
  // Blocks the synchronous compile only; tfjs's own path uses WebAssembly.instantiate.
  const prelude = `WebAssembly.Module = function () { throw new Error("sync compile blocked by the test"); };`;
  const r = runFresh(`
let earlyError = null;
try { tf.tensor1d([1]); } catch (e) { earlyError = e.message; }
await require(${JSON.stringify(packageEntry)}).initBackend();
const why = require(${JSON.stringify(syncInitModule)}).wasmSyncInitError();
${CONV_STEP.replace("console.log(JSON.stringify({", "console.log(JSON.stringify({ earlyError, why,")}
`, { prelude });
  assert.match(String(r.earlyError), /not yet been initialized.*await tf\.ready\(\)/);
  assert.match(String(r.why), /sync compile blocked by the test/);
  assertConvStepOnWasm(r);
});

test("runtimeInfo() as the very first call makes tfjs's choice instead of failing on an unset backend", () => {
  const r = runFresh(`const info = require(${JSON.stringify(packageEntry)}).runtimeInfo();\nconsole.log(JSON.stringify(info));`);
  assert.equal(r.backend, "wasm");
  assert.equal(typeof r.wasmSimd, "boolean");
});
