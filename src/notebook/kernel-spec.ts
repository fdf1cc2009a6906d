import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { isNotebookMode, type NotebookMode } from "./params";
import { packageRoot } from "./self-link";

/** The kernel spec's name (its folder under kernels/) and what Jupyter shows. */
export const KERNEL_NAME = "ntkd-lab";
export const KERNEL_DISPLAY_NAME = "TypeScript (ntkd-lab)";

/** Options of {@link installKernelSpec}. */
export interface KernelInstallOptions {
  /** Install under `<prefix>/share/jupyter/kernels/`; default `<repo>/.jupyter` (project-local). */
  prefix?: string;
  /** Install into the per-user kernels folder instead (what `jupyter kernelspec list` sees everywhere). */
  user?: boolean;
  /** Default NTKD_MODE of the kernel (the caller's env still wins); default "quick". */
  mode?: NotebookMode;
  /** Default NTKD_BACKEND of the kernel; default: none (the fastest available). */
  backend?: "node" | "wasm" | "cpu";
  /** A python with jupyter_client, used for --user installs; default: found on PATH or /usr/bin/python3. */
  python?: string;
  /** Node binary the kernel runs with; default the one running now. */
  node?: string;
}

/** Where a kernel spec went and how to point Jupyter at it. */
export interface KernelInstallResult {
  /** The kernel spec folder (holding kernel.json). */
  dir: string;
  /** The value to put in JUPYTER_PATH (project-local installs), or null (user installs are found anyway). */
  jupyterPath: string | null;
  kernelJson: KernelJson;
}

/** Jupyter's kernel.json. */
export interface KernelJson {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "signal";
  metadata: Record<string, unknown>;
}

/** The project-local prefix `npm run kernel:install` uses by default. */
export function defaultKernelPrefix(root = packageRoot()): string {
  return path.join(root, ".jupyter");
}

/** The kernel.json that starts this checkout's tslab through kernels-config/launch-kernel.js. */
export function kernelJson(opts: KernelInstallOptions = {}, root = packageRoot()): KernelJson {
  const mode = opts.mode ?? "quick";
  if (!isNotebookMode(mode)) throw new Error(`kernel-install: --mode must be smoke, quick or full, got ${mode}`);
  if (opts.backend !== undefined && !["node", "wasm", "cpu"].includes(opts.backend)) {
    throw new Error(`kernel-install: --backend must be node, wasm or cpu, got ${opts.backend}`);
  }
  const launcher = path.join(root, "kernels-config", "launch-kernel.js");
  if (!fs.existsSync(launcher)) throw new Error(`kernel-install: ${launcher} is missing`);
  const argv = [opts.node ?? process.execPath, launcher, `--mode=${mode}`];
  if (opts.backend) argv.push(`--backend=${opts.backend}`);
  argv.push("--config-path", "{connection_file}");
  return { argv, display_name: KERNEL_DISPLAY_NAME, language: "typescript", interrupt_mode: "signal", metadata: { ntkd_lab: { root, mode, backend: opts.backend ?? null } } };
}

/** Finds a python that has jupyter_client, or null. */
export function findJupyterPython(preferred?: string): string | null {
  const candidates = [preferred, process.env.NTKD_PYTHON, "python3", "/usr/bin/python3", "python"].filter((c): c is string => Boolean(c));
  for (const py of candidates) {
    const r = spawnSync(py, ["-c", "import jupyter_client"], { stdio: "ignore" });
    if (r.status === 0) return py;
  }
  return null;
}

function userKernelsDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return path.join(process.env.JUPYTER_DATA_DIR, "kernels");
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Jupyter", "kernels");
  if (process.platform === "win32") return path.join(process.env.APPDATA ?? os.homedir(), "jupyter", "kernels");
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), ".local", "share"), "jupyter", "kernels");
}

/**
 * Registers the "TypeScript (ntkd-lab)" kernel. Project-local by default (no Python needed: a
 * kernel spec is a folder with kernel.json); `user: true` asks jupyter_client for the per-user
 * folder when a python with it exists, else uses Jupyter's documented default location.
 */
export function installKernelSpec(opts: KernelInstallOptions = {}): KernelInstallResult {
  if (opts.user && opts.prefix) throw new Error("kernel-install: give either --user or --prefix, not both");
  const root = packageRoot();
  const spec = kernelJson(opts, root);
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-kernel-"));
  try {
    fs.writeFileSync(path.join(staging, "kernel.json"), JSON.stringify(spec, null, 2) + "\n");
    const logo = path.join(root, "kernels-config", "logo-64x64.png");
    if (fs.existsSync(logo)) fs.copyFileSync(logo, path.join(staging, "logo-64x64.png"));
    if (opts.user) {
      const python = findJupyterPython(opts.python);
      if (python) {
        const script = "import sys\nfrom jupyter_client.kernelspec import KernelSpecManager\nprint(KernelSpecManager().install_kernel_spec(sys.argv[1], sys.argv[2], user=True, replace=True))";
        const r = spawnSync(python, ["-c", script, staging, KERNEL_NAME], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`kernel-install: ${python} could not install the kernel spec: ${r.stderr || r.error?.message}`);
        return { dir: r.stdout.trim(), jupyterPath: null, kernelJson: spec };
      }
      return { dir: copySpec(staging, path.join(userKernelsDir(), KERNEL_NAME)), jupyterPath: null, kernelJson: spec };
    }
    const prefix = path.resolve(opts.prefix ?? defaultKernelPrefix(root));
    const dir = copySpec(staging, path.join(prefix, "share", "jupyter", "kernels", KERNEL_NAME));
    return { dir, jupyterPath: path.join(prefix, "share", "jupyter"), kernelJson: spec };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function copySpec(from: string, to: string): string {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(to, f));
  return to;
}
