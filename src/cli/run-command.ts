import { parseArgs } from "node:util";
import * as path from "node:path";
import { runNotebook } from "../notebook/runner";
import { statusLine } from "../notebook/progress";
import { paramsFromFlags, UsageError, type Command } from "./command";
import { checkBackendEnv } from "./backend-env";

export const runCommand: Command = {
  name: "run",
  summary: "execute one notebook top to bottom through tslab (no Python)",
  usage: `ntkd-lab run <notebook.ipynb> [--param name=value ...] [--out executed.ipynb] [--timeout seconds] [--quiet]

  --param name=value   set a notebook parameter (repeatable); values are JSON when they parse
                       (5, true, [1,2]) and strings otherwise. Injected after the cell tagged
                       "parameters" and passed as env NTKD_PARAM_<name> (read by params()).
  --out path           where to write the executed notebook (default runs/executed/<name>.ipynb)
  --timeout seconds    per-cell limit (default 1800); a cell past it stops the run
  --quiet              do not echo cell output to the terminal
The running cell's progress bar (model, epoch, batch, ETA) shows as one status line on stderr,
rewritten in place on a terminal, printed at most every 10 s otherwise.
Exit code 0 when every cell succeeded, 1 when a cell failed, timed out or the kernel died.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { param: { type: "string", multiple: true }, out: { type: "string" }, timeout: { type: "string" }, quiet: { type: "boolean" } },
    });
    if (positionals.length !== 1) throw new UsageError("run: expected exactly one notebook path");
    const params = paramsFromFlags("run", values.param);
    const timeoutS = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeoutS !== undefined && !(timeoutS > 0)) throw new UsageError(`run: --timeout must be a positive number of seconds, got "${values.timeout}"`);
    checkBackendEnv();
    const file = positionals[0]!;
    // The running cell's own progress (model, epoch, batch, ETA) under its "cell N" line.
    const status = statusLine({ prefix: "  " });
    const result = await runNotebook(file, {
      params,
      out: values.out,
      timeoutS,
      onEvent: (e) => {
        if (e.type === "cell-start") {
          status.reset();
          process.stderr.write(`[${path.basename(file)}] cell ${e.cellIndex} (${e.executionCount}/${e.codeCells})\n`);
        } else if (e.type === "cell-end") status.reset();
        else if (e.type === "progress") status.set(e.text);
        else if (e.type === "stream" && !values.quiet) {
          status.clear();
          (e.name === "stdout" ? process.stdout : process.stderr).write(e.text);
          status.redraw();
        }
      },
    });
    if (!result.ok) {
      process.stderr.write(`\nntkd-lab run: ${result.failure!.message}\npartial notebook: ${result.outPath}\n`);
      return 1;
    }
    process.stderr.write(`ntkd-lab run: ${path.basename(file)} ok in ${result.seconds.toFixed(1)} s -> ${result.outPath}\n`);
    return 0;
  },
};
