/** Live progress of a study: one progress bar per model being trained. */
import { progress, type Progress } from "../notebook/progress";
import type { PoolProgress, StudyProgress } from "./distillation";

/** A study's reporter: a callback for `onProgress`, plus `pool` for `onPoolProgress` and `done`. */
export type StudyProgressReporter = ((p: StudyProgress) => void) & {
  /** Shows a pool of parallel students as one bar, with what each running student is doing. */
  pool(p: PoolProgress): void;
  /** Closes the open bar. */
  done(): void;
};

const PHASE_NAMES: Record<StudyProgress["phase"], string> = {
  teacher: "teacher", none: "no transfer", kd: "KD", ntkd: "NTKD", "kd+ntkd": "KD + NTKD", sp: "SP", rkd: "RKD", gram: "Gram KD", "compensation-e2e": "end-to-end compensation", "compensation-ntkd": "NTKD compensation",
};
const shortName = (p: StudyProgress): string => PHASE_NAMES[p.phase];

/**
 * A callback for `runDistillationStudy({ onProgress, onPoolProgress: reporter.pool })` that opens a
 * bar per phase and seed, and one bar for a pool of students training in parallel.
 */
export function studyProgressReporter(label = ""): StudyProgressReporter {
  let bar: Progress | null = null;
  let key = "";
  const report = (p: StudyProgress): void => {
    const k = `${p.phase}:${p.seed}:${p.label ?? ""}`;
    if (k !== key) {
      bar?.done();
      const who =
        p.phase === "teacher" ? "teacher"
        : p.phase.startsWith("compensation-") ? `${shortName(p)}, seed ${p.seed}`
        : `${p.label ?? "student"} (${shortName(p)}), seed ${p.seed}`;
      const where = p.label && p.phase.startsWith("compensation-") ? `, ${p.label}` : "";
      bar = progress({ epochs: p.epochs, batchesPerEpoch: p.batches, title: `${label}${label ? " " : ""}${who}${where}` });
      key = k;
    }
    bar?.update({ epoch: p.epoch, batch: p.batch, loss: p.loss });
  };
  // Fine-grained: each job counts as POOL_STEPS steps, so the bar and its ETA move within a job.
  const POOL_STEPS = 1000;
  const pool = (p: PoolProgress): void => {
    if (key !== "pool") {
      bar?.done();
      bar = progress({ epochs: p.jobs, batchesPerEpoch: POOL_STEPS, unitName: "student", showBatch: false, title: `${label}${label ? " " : ""}students in parallel` });
      key = "pool";
    }
    const runningFraction = p.running.reduce((sum, r) => sum + Math.min(1, (r.epoch * r.batches + r.batch + 1) / (r.epochs * r.batches)), 0);
    const total = Math.min(p.jobs, p.finished + runningFraction);
    const epoch = Math.min(p.jobs - 1, Math.floor(total));
    const batch = Math.max(0, Math.min(POOL_STEPS - 1, Math.floor((total - epoch) * POOL_STEPS) - 1));
    const note = p.running.map((r) => `${shortName(r)} s${r.seed} epoch ${r.epoch + 1}/${r.epochs}`).join(" | ");
    bar!.update({ epoch, batch, note: `${p.finished} done${note ? ` | ${note}` : ""}` });
  };
  return Object.assign(report, {
    pool,
    done: () => {
      bar?.done();
      bar = null;
      key = "";
    },
  });
}
