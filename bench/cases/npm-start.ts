/**
 * `npm start` end to end: the quick reproduction of every stage notebook (full MNIST, one seed),
 * in a fresh output folder (nothing reused), with the MNIST accuracies and each stage's time and
 * peak memory from the reproduction's own summary.
 * It takes minutes, so it runs only when BENCH_E2E=1 (or `--only "npm start"` with BENCH_E2E=1).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ReproduceSummary } from "../../src/notebook/reproduce";
import { BenchCase, BenchSkip } from "./types";
import { repoRoot } from "../repo-root";


export const npmStartCases: BenchCase[] = [
  {
    name: "npm start (reproduce --quick, every stage, nothing cached)",
    group: "end to end (wasm)",
    async run() {
      if (process.env.BENCH_E2E !== "1") throw new BenchSkip("set BENCH_E2E=1 to run it (several minutes)");
      const root = repoRoot();
      const cli = path.join(root, "dist", "cli", "main.js");
      if (!fs.existsSync(cli)) throw new Error(`bench: ${cli} is missing; run npm run build first`);
      const out = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-bench-e2e-"));
      try {
        const t0 = performance.now();
        const r = spawnSync(process.execPath, [cli, "reproduce", "--quick", "--out", out], { cwd: root, encoding: "utf8", env: { ...process.env, NTKD_BACKEND: "wasm" }, timeout: 3_600_000 });
        const seconds = (performance.now() - t0) / 1000;
        if (r.status !== 0) throw new Error(`npm start failed (${r.status}): ${r.stderr.split("\n").slice(-12).join("\n")}`);
        const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8")) as ReproduceSummary;
        const stages = summary.notebooks.map((n) => `${n.notebook.slice(0, 2)} ${n.seconds.toFixed(0)} s/${n.peakRssMiB === undefined ? "?" : n.peakRssMiB.toFixed(0)} MiB`).join(", ");
        // The numbers the run is for, so a faster row that trains less shows it.
        const mnist = summary.datasets.mnist as { teacher?: { accuracy?: number }; students?: Record<string, { mean?: number }> } | undefined;
        const pct = (x: number | undefined): string => (x === undefined ? "?" : (100 * x).toFixed(2));
        const accuracies = `MNIST teacher ${pct(mnist?.teacher?.accuracy)} %, students ${["none", "kd", "ntkd"].map((m) => `${m} ${pct(mnist?.students?.[m]?.mean)}`).join(" / ")} %`;
        return { seconds, notes: `${accuracies}; per stage (time/peak memory): ${stages}` };
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    },
  },
];
