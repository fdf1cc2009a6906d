/**
 * Both cores: the same students (4 jobs: no transfer and NTKD, 2 seeds, one epoch on 2,048 MNIST
 * images) trained one after another in this process, and in two worker processes. The ratio is
 * the speed-up `reproduce --full` gets from `workers: 2` on its student phase.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/runtime/backend";
import { openRun } from "../../src/notebook/run-store";
import { runDistillationStudy } from "../../src/experiments/distillation";
import type { DistillationPreset } from "../../src/experiments/presets";
import type { BenchCase } from "./types";

const GROUP = "study students: 4 jobs, 1 epoch on 2,048 MNIST images (wasm)";
const PRESET: Partial<DistillationPreset> = { sizes: { trainCount: 2048, validationCount: 500, testCount: 500 }, seeds: [0, 1], teacherEpochs: 1, studentEpochs: 1 };

async function timeStudents(workers: number): Promise<number> {
  process.env.NTKD_BACKEND = "wasm";
  await initBackend({ backend: "wasm" });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-bench-workers-"));
  try {
    const run = openRun("bench", "workers", { root });
    // The teacher is trained first (not timed): workers load it.
    await runDistillationStudy({ dataset: "mnist", mode: "quick", preset: PRESET, methods: [], run });
    const t0 = performance.now();
    await runDistillationStudy({ dataset: "mnist", mode: "quick", preset: PRESET, methods: ["none", "ntkd"], run, workers });
    return (performance.now() - t0) / 1000;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

export const workerCases: BenchCase[] = [
  { name: "students, 1 process", group: GROUP, reference: true, run: async () => ({ seconds: await timeStudents(1) }) },
  { name: "students, 2 worker processes", group: GROUP, run: async () => ({ seconds: await timeStudents(2), notes: "includes starting the workers and loading MNIST in each" }) },
];
