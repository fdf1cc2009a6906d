/**
 * Both cores: the same students (4 jobs of similar size: no transfer and KD, 2 seeds, 2 epochs on
 * 16,384 MNIST images) trained one after another in this process on 1 wasm thread and on 2, and in
 * two worker processes of one thread each. The last ratio is the speed-up `reproduce --full` gets
 * from `workers: 2` on its student phase; the 2-thread row is the other way to use both cores. Each of the
 * two worker processes starts once (node, tfjs, MNIST, the teacher: about 2 s) and then trains two
 * jobs; that start is noise beside a full-mode job (minutes) but not beside a tiny one, so the jobs
 * here are sized to be seconds long.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../src/runtime/tf";
import { THREADED_WASM, useOurWasm } from "../ours-backend";
import { openRun } from "../../src/notebook/run-store";
import { runDistillationStudy } from "../../src/experiments/distillation";
import type { DistillationPreset } from "../../src/experiments/presets";
import type { BenchCase } from "./types";

const GROUP = "study students: 4 jobs, 2 epochs on 16,384 MNIST images (wasm)";
const PRESET: Partial<DistillationPreset> = { sizes: { trainCount: 16384, validationCount: 1000, testCount: 1000 }, seeds: [0, 1], teacherEpochs: 1, studentEpochs: 2 };

async function timeStudents(workers: number, threads: 1 | 2 = 1): Promise<number> {
  process.env.NTKD_BACKEND = "wasm";
  await useOurWasm(threads);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-bench-workers-"));
  try {
    const run = openRun("bench", "workers", { root });
    // The teacher is trained first (not timed): workers load it.
    await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: PRESET, methods: [], run });
    const t0 = performance.now();
    await runDistillationStudy({ dataset: "mnist", mode: "smoke", preset: PRESET, methods: ["none", "kd"], run, workers });
    const seconds = (performance.now() - t0) / 1000;
    if (tf.getBackend() !== (threads === 1 ? "wasm" : THREADED_WASM)) throw new Error(`students bench: the study left backend ${tf.getBackend()}`);
    return seconds;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

export const workerCases: BenchCase[] = [
  { name: "students, 1 process", group: GROUP, reference: true, run: async () => ({ seconds: await timeStudents(1), notes: "1 wasm thread" }) },
  { name: "students, 1 process, 2 threads", group: GROUP, run: async () => ({ seconds: await timeStudents(1, 2), notes: "the threaded build" }) },
  { name: "students, 2 worker processes", group: GROUP, run: async () => ({ seconds: await timeStudents(2), notes: "includes starting 2 workers (2 jobs each), each loading MNIST and the teacher once" }) },
];
