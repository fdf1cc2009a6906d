import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { kernelJson, installKernelSpec, findJupyterPython, KERNEL_DISPLAY_NAME } from "../../src/notebook/kernel-spec";
import { packageRoot } from "../../src/notebook/self-link";

test("kernel.json starts the pinned tslab through our launcher with default mode and backend", () => {
  const spec = kernelJson({ mode: "full", backend: "wasm", node: "/opt/node" });
  const root = packageRoot();
  assert.deepEqual(spec.argv, ["/opt/node", path.join(root, "kernels-config", "launch-kernel.js"), "--mode=full", "--backend=wasm", "--config-path", "{connection_file}"]);
  assert.equal(spec.display_name, KERNEL_DISPLAY_NAME);
  assert.equal(spec.language, "typescript");
  assert.throws(() => kernelJson({ mode: "fast" as never }), /--mode must be smoke, quick or full/);
  assert.throws(() => kernelJson({ backend: "gpu" as never }), /--backend must be node, wasm or cpu/);
  // The launcher resolves the same tslab the package pins.
  assert.ok(fs.existsSync(path.join(root, "node_modules", "tslab", "dist", "main.js")));
});

test("installKernelSpec writes a project-local spec that jupyter_client finds through JUPYTER_PATH", (t) => {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-kernel-test-"));
  try {
    const result = installKernelSpec({ prefix });
    assert.equal(result.dir, path.join(prefix, "share", "jupyter", "kernels", "ntkd-lab"));
    assert.equal(result.jupyterPath, path.join(prefix, "share", "jupyter"));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(result.dir, "kernel.json"), "utf8")), result.kernelJson);
    assert.throws(() => installKernelSpec({ prefix, user: true }), /either --user or --prefix/);
    const python = findJupyterPython();
    if (!python) {
      t.skip("no python with jupyter_client here");
      return;
    }
    const r = spawnSync(python, ["-c", "from jupyter_client.kernelspec import KernelSpecManager as K; s = K().get_kernel_spec('ntkd-lab'); print(s.display_name); print(s.argv[1])"], {
      env: { ...process.env, JUPYTER_PATH: result.jupyterPath! },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), [KERNEL_DISPLAY_NAME, path.join(packageRoot(), "kernels-config", "launch-kernel.js")]);
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
});
