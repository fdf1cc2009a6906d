import { parseArgs } from "node:util";
import { reproduce } from "../notebook/reproduce";
import { statusLine } from "../notebook/progress";
import { MODE_FLAGS, modeFromFlags, paramsFromFlags, UsageError, type Command } from "./command";
import { checkBackendEnv } from "./backend-env";

export const reproduceCommand: Command = {
  name: "reproduce",
  summary: "run every notebooks/NN-*.ipynb in order; write summary.json, report.md and executed notebooks",
  usage: `ntkd-lab reproduce [--smoke | --quick | --full] [--out results/<mode>] [--timeout seconds] [--notebooks dir]

  --quick            default (npm start): full MNIST, one seed, a few epochs; ~10 min on 2 cores
  --full             the paper's protocol: 5 seeds, full schedules, every data set present (hours)
  --smoke            the test suite's sizes: a few thousand images, every cell still runs
  --out dir          output folder (default results/<mode>): summary.json, report.md,
                     notebooks/ (executed), runs/ (the shared run store, NTKD_RUNS_DIR)
  --timeout seconds  per-cell limit (default 1800, 21600 with --full)
  --notebooks dir    where the stage notebooks are (default the package's notebooks/)
  --only list        run only the stages whose number prefixes are listed, e.g. --only 02,03,04;
                     the other stages' entries in summary.json, report.md and notebooks/ are kept
  --param name=value with --only of one stage: run it with that parameter (repeatable), recorded
                     as a variant beside the stage, e.g. --only 04 --param frontend=fourier is
                     "04-fabrication.ipynb [frontend=fourier]" in notebooks/04-fabrication.frontend-fourier.ipynb
The running cell's progress bar (model, epoch, batch, ETA) shows as one status line on stderr,
rewritten in place on a terminal, printed at most every 10 s otherwise.
The backend is chosen once (env NTKD_BACKEND, else the fastest available) and given to every notebook.`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { ...MODE_FLAGS, out: { type: "string" }, timeout: { type: "string" }, notebooks: { type: "string" }, only: { type: "string" }, param: { type: "string", multiple: true } },
    });
    const mode = modeFromFlags("reproduce", values);
    const params = paramsFromFlags("reproduce", values.param);
    if (Object.keys(params).length > 0 && values.only === undefined) {
      throw new UsageError("reproduce: --param sets one stage's parameters; select that stage with --only, e.g. --only 04 --param frontend=fourier");
    }
    const timeoutS = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeoutS !== undefined && !(timeoutS > 0)) throw new UsageError(`reproduce: --timeout must be a positive number, got "${values.timeout}"`);
    // Loaded here, not at the top: tfjs takes a second to load and other commands do not need it.
    checkBackendEnv();
    const { initBackend } = require("../runtime/backend") as typeof import("../runtime/backend");
    const { modeNotice } = require("../experiments/mode-notice") as typeof import("../experiments/mode-notice");
    let backend: string;
    try {
      ({ backend } = await initBackend());
    } catch (err) {
      // NTKD_BACKEND names a backend this machine lacks: the user's choice, and the message says what to do.
      if (process.env.NTKD_BACKEND) throw new UsageError((err as Error).message);
      throw err;
    }
    if (mode === "full") {
      // The full protocol includes CIFAR-10: fetch it when missing. Offline, the stages run without
      // it (each says so) rather than the whole reproduction failing.
      const { ensureCifar10 } = require("../data/cifar10-download") as typeof import("../data/cifar10-download");
      await ensureCifar10({ log: (line) => process.stderr.write(`${line}\n`) }).catch((err: Error) => {
        process.stderr.write(`reproduce: CIFAR-10 could not be fetched, so the stages run without it: ${err.message}\n`);
      });
    }
    // The running cell's own progress (model, epoch, batch, ETA) under its "cell N" line.
    const status = statusLine({ prefix: "     " });
    const { ok, summary, reportPath, summaryPath } = await reproduce({
      mode,
      notice: modeNotice(mode).markdown,
      out: values.out,
      timeoutS,
      backend,
      notebooksDir: values.notebooks,
      params,
      only: values.only === undefined ? undefined : values.only.split(",").map((s) => s.trim()).filter((s) => s.length > 0),
      onEvent: (e) => {
        if (e.type === "notebook-start") process.stderr.write(`\n== [${e.index + 1}/${e.count}] ${e.notebook} (${mode}, ${backend})\n`);
        else if (e.type === "notebook-end") process.stderr.write(`== ${e.notebook}: ${e.ok ? "ok" : "FAILED"} in ${e.seconds.toFixed(1)} s${e.peakRssMiB === undefined ? "" : `, peak memory ${e.peakRssMiB.toFixed(0)} MiB`}\n${e.failure ? e.failure.message + "\n" : ""}`);
        else if (e.type === "cell-start") {
          status.reset();
          process.stderr.write(`   cell ${e.cellIndex} (${e.executionCount}/${e.codeCells})\n`);
        } else if (e.type === "cell-end") status.reset();
        else if (e.type === "progress") status.set(e.text);
      },
    });
    process.stderr.write(`\n${summary.notebooks.filter((n) => n.ok).length}/${summary.notebooks.length} notebooks ok in ${summary.seconds.toFixed(1)} s\nreport: ${reportPath}\nsummary: ${summaryPath}\n`);
    return ok ? 0 : 1;
  },
};
