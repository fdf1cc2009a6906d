import { parseArgs } from "node:util";
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { installKernelSpec, defaultKernelPrefix, KERNEL_DISPLAY_NAME } from "../notebook/kernel-spec";
import { ensureSelfLink, packageRoot } from "../notebook/self-link";
import { UsageError, type Command } from "./command";
import { isNotebookMode } from "../notebook/params";

export const kernelInstallCommand: Command = {
  name: "kernel-install",
  summary: `register the Jupyter kernel "${KERNEL_DISPLAY_NAME}" (project-local by default)`,
  usage: `ntkd-lab kernel-install [--user | --prefix dir] [--mode smoke|quick|full] [--backend node|wasm|cpu] [--python path]

  default        install into <repo>/.jupyter/share/jupyter/kernels/ntkd-lab; then run Jupyter
                 with JUPYTER_PATH=<repo>/.jupyter/share/jupyter (npm run lab does this)
  --user         install for your user (found by any Jupyter: Debian's, pip or conda JupyterLab)
  --prefix dir   install into dir/share/jupyter/kernels/ntkd-lab
  --mode         the kernel's default NTKD_MODE (default quick; the caller's env wins)
  --backend      the kernel's default NTKD_BACKEND (default: fastest available)
  --python       a python with jupyter_client, for --user (default: python3 on PATH, /usr/bin/python3)`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { user: { type: "boolean" }, prefix: { type: "string" }, mode: { type: "string" }, backend: { type: "string" }, python: { type: "string" } },
    });
    const mode = values.mode ?? "quick";
    if (!isNotebookMode(mode)) throw new UsageError(`kernel-install: --mode must be smoke, quick or full, got "${mode}"`);
    const backend = values.backend;
    if (backend !== undefined && backend !== "node" && backend !== "wasm" && backend !== "cpu") {
      throw new UsageError(`kernel-install: --backend must be node, wasm or cpu, got "${backend}"`);
    }
    ensureSelfLink();
    const result = installKernelSpec({ user: values.user, prefix: values.prefix, mode, backend, python: values.python });
    process.stdout.write(`Installed "${KERNEL_DISPLAY_NAME}" in ${result.dir}\n`);
    if (result.jupyterPath) process.stdout.write(`Use it with: JUPYTER_PATH=${result.jupyterPath} jupyter lab   (or: npm run lab)\n`);
    return 0;
  },
};

/** The first Jupyter front end that runs here: JupyterLab, else the classic Notebook. */
export function findJupyterFrontEnd(env: NodeJS.ProcessEnv = process.env): { command: string; args: string[] } | null {
  for (const jupyter of ["jupyter", "/usr/bin/jupyter"]) {
    for (const app of ["lab", "notebook"]) {
      const r = spawnSync(jupyter, [app, "--version"], { stdio: "ignore", env });
      if (r.status === 0) return { command: jupyter, args: [app] };
    }
  }
  return null;
}

/**
 * Arguments of the Jupyter front end. Jupyter refuses to start as root ("Running as root is not
 * recommended") unless told `--allow-root`; containers and CI often run as root, so root gets it.
 */
export function jupyterArgs(appArgs: string[], notebookDir: string, extra: string[], uid: number | undefined): string[] {
  const allowRoot = uid === 0 && !extra.includes("--allow-root") ? ["--allow-root"] : [];
  return [...appArgs, `--notebook-dir=${notebookDir}`, ...allowRoot, ...extra];
}

export const labCommand: Command = {
  name: "lab",
  summary: "open Jupyter on notebooks/ with the ntkd-lab kernel (or say how to install Jupyter)",
  usage: `ntkd-lab lab [-- extra jupyter arguments]

Installs the project-local kernel spec, sets JUPYTER_PATH and starts JupyterLab
(or the classic Notebook) on notebooks/. As root it adds --allow-root (Jupyter refuses root otherwise).`,
  async run(argv) {
    const root = packageRoot();
    const prefix = defaultKernelPrefix(root);
    const jupyterPath = path.join(prefix, "share", "jupyter");
    // Re-installed every time: the spec holds absolute paths (checkout, node) that may have moved.
    ensureSelfLink(root);
    installKernelSpec({ prefix });
    const env = { ...process.env, JUPYTER_PATH: [jupyterPath, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter) };
    const frontEnd = findJupyterFrontEnd(env);
    if (!frontEnd) {
      process.stderr.write(
        [
          "Jupyter is not installed (neither `jupyter lab` nor `jupyter notebook` runs). Install one of:",
          "  pip install jupyterlab            (or: pipx install jupyterlab)",
          "  conda install -c conda-forge jupyterlab",
          "  sudo apt install jupyter-notebook (Debian/Ubuntu)",
          `then run \`npm run lab\` again. The kernel spec is ready in ${path.join(jupyterPath, "kernels", "ntkd-lab")};`,
          "`npm run kernel:install -- --user` registers it for every Jupyter of your user.",
          "",
        ].join("\n"),
      );
      return 1;
    }
    const args = jupyterArgs(frontEnd.args, path.join(root, "notebooks"), argv.filter((a) => a !== "--"), process.getuid?.());
    process.stderr.write(`Starting ${frontEnd.command} ${args.join(" ")} (JUPYTER_PATH=${env.JUPYTER_PATH})\n`);
    const child = spawn(frontEnd.command, args, { stdio: "inherit", env });
    return new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
  },
};
