/**
 * npm run bench [-- --only <substring>] [-- --skip <substring>] [-- --no-profile]: runs the registered cases, prints a
 * table with ratios to each group's reference row (PyTorch); in groups compared at equal threads
 * (bench/cases/thread-rows.ts), each row's ratio is against the PyTorch row with as many threads
 * (its case's compareTo), a second column is against PyTorch's default, and a line names our
 * best row against PyTorch's default. It profiles per kernel one wasm
 * LeNet-5 training step and one Compressed Meta ONN NTKD step (R = 4, teacher cache; beside
 * its plain step), each with our kernel overrides and with tfjs's own, and writes
 * bench/results.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend, runtimeInfo, RuntimeInfo } from "../src/runtime/backend";
import { profileKernels, KernelTime } from "../src/runtime/profile";
import { useWasmKernelOverrides, WASM_OVERRIDDEN_KERNELS } from "../src/runtime/wasm-kernels";
import { ALL_CASES } from "./cases/index";
import { BenchCase, BenchResult, BenchSkip } from "./cases/types";
import { checkCases, groupSummaries, tableRows, threadGroups } from "./ratios";
import { lenetStepForProfile } from "./lenet-epoch";
import { compressedMetaStepForProfile, type ProfiledStep } from "./ntkd-step";
import { repoRoot } from "./repo-root";

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => pad(c, widths[i])).join(" | ") + " |";
  console.log(line(headers));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const r of rows) console.log(line(r));
}

/** Per-kernel times of one step with our kernel overrides (after) and with tfjs's own (before). */
interface StepProfile {
  after: KernelTime[];
  before: KernelTime[];
}

/** Steps profiled per configuration; each kernel's time is its median over them. */
const PROFILED_STEPS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Per-kernel time of one warm step on wasm, with or without our overrides: each kernel's
 * median over PROFILED_STEPS separately profiled steps (the machine is shared, and a mean lets
 * one preempted call inflate a kernel several-fold). The step is built, and warmed up, under
 * the same setting it is profiled with.
 */
async function profileStep(build: () => ProfiledStep, overrides: boolean): Promise<KernelTime[]> {
  await initBackend({ backend: "wasm" });
  useWasmKernelOverrides(overrides);
  const { step, dispose } = build();
  try {
    const perStep: Map<string, KernelTime>[] = [];
    for (let i = 0; i < PROFILED_STEPS; i++) perStep.push(new Map((await profileKernels(step)).map((k) => [k.kernel, k])));
    const names = new Set(perStep.flatMap((m) => [...m.keys()]));
    return [...names].map((kernel) => ({
      kernel,
      calls: median(perStep.map((m) => m.get(kernel)?.calls ?? 0)),
      totalMs: median(perStep.map((m) => m.get(kernel)?.totalMs ?? 0)),
    })).sort((a, b) => b.totalMs - a.totalMs);
  } finally {
    dispose();
    useWasmKernelOverrides(true);
  }
}

async function profileBothWays(build: () => ProfiledStep): Promise<StepProfile> {
  return { after: await profileStep(build, true), before: await profileStep(build, false) };
}

const totalMs = (ks: KernelTime[]) => ks.reduce((s, k) => s + k.totalMs, 0);

/** The top 12 kernels with ours, beside the same kernels with tfjs's own. */
function printProfile(profile: StepProfile): void {
  const before = new Map(profile.before.map((k) => [k.kernel, k]));
  printTable(["kernel", "calls", "ms (ntkd)", "ms (tfjs's own)"], profile.after.slice(0, 12).map((k) => [
    k.kernel, String(k.calls), k.totalMs.toFixed(2), before.get(k.kernel)?.totalMs.toFixed(2) ?? "-",
  ]));
}

async function main(): Promise<void> {
  checkCases(ALL_CASES);
  const args = process.argv.slice(2);
  const onlyAt = args.indexOf("--only");
  const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
  const skipAt = args.indexOf("--skip");
  const skip = skipAt >= 0 ? args[skipAt + 1] : undefined;
  const matches = (c: BenchCase, s: string) => c.name.includes(s) || c.group.includes(s);
  const cases = ALL_CASES.filter((c) => (only === undefined || matches(c, only)) && (skip === undefined || !matches(c, skip)));
  // Repeats run round-robin across cases, so that rows compared with each other see the same
  // (shared, fluctuating) machine load; each row keeps its fastest run.
  const best = new Map<BenchCase, BenchResult>();
  const skipped = new Map<BenchCase, string>();
  const rounds = Math.max(1, ...cases.map((c) => c.repeats ?? 1));
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      if (round >= Math.max(1, c.repeats ?? 1) || skipped.has(c)) continue;
      process.stderr.write(`bench: ${c.name} (run ${round + 1}) ...\n`);
      try {
        const r = await c.run();
        if (!Number.isFinite(r.seconds)) throw new Error(`${c.name} returned seconds=${r.seconds}`);
        const prev = best.get(c);
        if (prev === undefined || r.seconds < prev.seconds) best.set(c, r);
      } catch (err) {
        if (!(err instanceof BenchSkip)) throw err;
        skipped.set(c, err.message);
      }
    }
  }
  const rows = tableRows(cases, best, skipped);
  const summaries = groupSummaries(cases, rows);
  const split = threadGroups(cases);
  let info: RuntimeInfo;
  await initBackend({ backend: "wasm" });
  info = runtimeInfo();
  const fmtRatio = (x: number | null) => (x === null ? "-" : `${x.toFixed(2)}x`);
  const fmtSeconds = (x: number | null) => (x === null ? "-" : x.toFixed(3));
  for (const group of [...new Set(rows.map((r) => r.group))]) {
    const inGroup = rows.filter((r) => r.group === group);
    if (!split.has(group)) {
      console.log(`\n${group}  (ratio = time / PyTorch time, same run)`);
      printTable(["case", "seconds", "ratio", "notes"], inGroup.map((r) => [r.name, fmtSeconds(r.seconds), fmtRatio(r.ratio), r.notes]));
      continue;
    }
    console.log(`\n${group}  (ratios = time / PyTorch time, same run; PyTorch at equal threads, and at its default)`);
    printTable(["case", "threads", "seconds", "vs pytorch, same threads", "vs pytorch default", "notes"], inGroup.map((r) => [
      r.name, r.threads === null ? "-" : String(r.threads), fmtSeconds(r.seconds), fmtRatio(r.ratio), fmtRatio(r.vsReference), r.notes,
    ]));
    const s = summaries.find((g) => g.group === group)!;
    if (s.best !== null) {
      const refThreads = s.referenceThreads === null ? "" : ` (${s.referenceThreads} thread${s.referenceThreads === 1 ? "" : "s"})`;
      console.log(`best ours: ${s.best.name}, ${s.best.seconds.toFixed(3)} s, ${fmtRatio(s.best.vsReference)} PyTorch's default${refThreads}`);
    }
  }
  let profile: StepProfile | null = null;
  let ntkdStepProfile: { ntkd: StepProfile; plain: StepProfile } | null = null;
  if (!args.includes("--no-profile")) {
    const theirs = `tfjs's own ${WASM_OVERRIDDEN_KERNELS.join(", ")}`;
    profile = await profileBothWays(() => lenetStepForProfile(128));
    console.log(`\nwasm kernel profile, one LeNet-5 training step (batch 128), median of ${PROFILED_STEPS} steps: ` +
      `${totalMs(profile.after).toFixed(1)} ms with ntkd kernels, ${totalMs(profile.before).toFixed(1)} ms with ${theirs}`);
    printProfile(profile);
    ntkdStepProfile = {
      ntkd: await profileBothWays(() => compressedMetaStepForProfile({ method: "ntkd", probes: 4, teacherProbes: 8 })),
      plain: await profileBothWays(() => compressedMetaStepForProfile({ method: "none" })),
    };
    const { ntkd, plain } = ntkdStepProfile;
    const ratio = (p: keyof StepProfile) => (totalMs(ntkd[p]) / totalMs(plain[p])).toFixed(2);
    console.log(`\nwasm kernel profile, one Compressed Meta ONN NTKD step (batch 128, R = 4, teacher cache R_T = 8), median of ${PROFILED_STEPS} steps: ` +
      `${totalMs(ntkd.after).toFixed(1)} ms with ntkd kernels (plain step ${totalMs(plain.after).toFixed(1)} ms, kernel-time ratio ${ratio("after")}x), ` +
      `${totalMs(ntkd.before).toFixed(1)} ms with ${theirs} (plain step ${totalMs(plain.before).toFixed(1)} ms, ratio ${ratio("before")}x)`);
    printProfile(ntkd);
  }
  const out = path.join(repoRoot(), "bench", "results.json");
  fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), runtime: info, rows, groups: summaries, profile, ntkdStepProfile }, null, 2) + "\n");
  console.log(`\nwrote ${out}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
