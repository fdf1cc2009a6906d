import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { initBackend, runtimeInfo } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";

const backendModule = path.join(__dirname, "..", "..", "src", "runtime", "backend.js");

/** Runs initBackend() in a fresh node with the given NTKD_BACKEND; returns stdout/stderr/status. */
function initInChild(env: string) {
  const script = `require(${JSON.stringify(backendModule)}).initBackend()` +
    `.then((i) => { console.log(JSON.stringify(i)); })` +
    `.catch((e) => { console.error(e.message); process.exit(3); });`;
  return spawnSync(process.execPath, ["-e", script], { env: { ...process.env, NTKD_BACKEND: env }, encoding: "utf8", timeout: 60_000 });
}

test("NTKD_BACKEND=bogus fails with a message naming the value and the choices", () => {
  const r = initInChild("bogus");
  assert.equal(r.status, 3, `child exited ${r.status}: ${r.stderr}`);
  assert.match(r.stderr, /NTKD_BACKEND="bogus"/);
  assert.match(r.stderr, /node, wasm, cpu/);
});

test("NTKD_BACKEND=cpu forces the cpu backend", () => {
  const r = initInChild("cpu");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split("\n").pop() as string).backend, "cpu");
});

test("without NTKD_BACKEND the fastest available backend is chosen (node, else wasm)", () => {
  const r = initInChild("");
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout.trim().split("\n").pop() as string);
  let nodeInstalled = true;
  try { require.resolve("@tensorflow/tfjs-node"); } catch { nodeInstalled = false; }
  assert.equal(info.backend, nodeInstalled ? "node" : "wasm");
});

test("initBackend is idempotent and runtimeInfo describes the runtime", async () => {
  const a = await initBackend({ backend: "wasm" });
  const b = await initBackend({ backend: "wasm" });
  assert.deepEqual(a, b);
  assert.equal(tf.getBackend(), "wasm");
  const info = runtimeInfo();
  assert.equal(info.backend, "wasm");
  assert.equal(info.tfjsVersion, tf.version.tfjs);
  assert.equal(typeof info.wasmSimd, "boolean");
  // initBackend starts tfjs's threaded build unless NTKD_THREADS or threads is 1 (test/runtime/wasm-threads.test.ts).
  assert.equal(info.wasmThreads, info.wasmThreadCount > 1);
  assert.match(info.nodeVersion, /^v\d+/);
  assert.ok(info.cpus >= 1);
  assert.match(info.ntkdLabVersion, /^\d+\.\d+\.\d+/);
  // A kernel wasm lacks out of the box must now be registered.
  assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
  await initBackend({ backend: "cpu" });
  assert.equal(runtimeInfo().backend, "cpu");
  assert.equal(runtimeInfo().wasmSimd, false);
});

test("an unknown or unavailable explicit backend is a clear error", async () => {
  await assert.rejects(initBackend({ backend: "gpu" as never }), /unknown backend "gpu"; expected one of node, wasm, cpu/);
  let nodeInstalled = true;
  try { require.resolve("@tensorflow/tfjs-node"); } catch { nodeInstalled = false; }
  if (!nodeInstalled) await assert.rejects(initBackend({ backend: "node" }), /tfjs-node is not usable/);
});
