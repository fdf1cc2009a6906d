import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { tf } from "../../../src/runtime/tf";
import { initBackend } from "../../../src/runtime/backend";
import { loadMnist } from "../../../src/data/mnist";
import { frontendSnippet } from "./public-api-snippet";

// dist-test/test/models/frontends -> the repository root.
const ROOT = path.resolve(__dirname, "../../../..");
const SNIPPET = path.join(ROOT, "test/models/frontends/public-api-snippet.ts");

test("the frontend snippet runs: a metasurface student trains one NTKD epoch and draws its optics", async () => {
  await initBackend({ backend: "cpu" });
  const train = loadMnist({ split: "train", limit: 16 });
  const teacher = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
    ],
  });
  const before = tf.memory().numTensors;
  const out = await frontendSnippet(teacher, train);
  assert.equal(out.history.length, 1);
  assert.ok(Number.isFinite(out.history[0].trainLoss));
  assert.deepEqual(out.kernelShape, [5, 5, 1, 2]);
  const chart = out.frontendChart as { vconcat?: unknown[] };
  assert.equal(chart.vconcat?.length, 2, "heights above PSFs");
  assert.ok(tf.memory().numTensors <= before, "the snippet leaks no tensors");
  teacher.dispose();
});

test("the frontend snippet type-checks against dist/'s declarations with no cast", (t) => {
  const dts = path.join(ROOT, "dist/index.d.ts");
  if (!fs.existsSync(dts)) {
    t.skip("dist/ is not built (npm run build)");
    return;
  }
  const builtAt = fs.statSync(dts).mtimeMs;
  const newestSource = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true })
    .reduce((m, e) => Math.max(m, e.isDirectory() ? newestSource(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs), 0);
  if (newestSource(path.join(ROOT, "src")) > builtAt) {
    t.skip("dist/ is older than src/ (npm run build)");
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-snippet-"));
  try {
    const source = fs.readFileSync(SNIPPET, "utf8").replace('"../../../src/index"', JSON.stringify(path.join(ROOT, "dist/index")));
    assert.ok(!/\bas (any|never|unknown)\b/.test(source), "the snippet holds no cast");
    fs.writeFileSync(path.join(dir, "snippet.ts"), source);
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, module: "commonjs", target: "es2022", moduleResolution: "node", types: [], typeRoots: [path.join(ROOT, "node_modules/@types")], baseUrl: ROOT, paths: { "@tensorflow/tfjs": [path.join(ROOT, "node_modules/@tensorflow/tfjs")] } },
      files: ["snippet.ts"],
    }));
    try {
      execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      assert.fail(`tsc rejected the snippet against dist/:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
