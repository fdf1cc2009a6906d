/** Live progress of a study: one progress bar per model being trained. */
import { progress, type Progress } from "../notebook/progress";
import type { StudyProgress } from "./distillation";

/** A callback for `runDistillationStudy({ onProgress })` that opens a bar per phase and seed. */
export function studyProgressReporter(label = ""): ((p: StudyProgress) => void) & { done(): void } {
  let bar: Progress | null = null;
  let key = "";
  const report = (p: StudyProgress): void => {
    const k = `${p.phase}:${p.seed}`;
    if (k !== key) {
      bar?.done();
      const who = p.phase === "teacher" ? "teacher" : `student (${p.phase === "none" ? "no transfer" : p.phase.toUpperCase()}), seed ${p.seed}`;
      bar = progress({ epochs: p.epochs, batchesPerEpoch: p.batches, title: `${label}${label ? " " : ""}${who}` });
      key = k;
    }
    bar?.update({ epoch: p.epoch, batch: p.batch, loss: p.loss });
  };
  return Object.assign(report, {
    done: () => {
      bar?.done();
      bar = null;
      key = "";
    },
  });
}
