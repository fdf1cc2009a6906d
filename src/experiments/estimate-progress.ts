/** Live progress of the estimation study: a bar with ETA for each estimate's kernel matrices and λ search. */
import { progress, type Progress } from "../notebook/progress";
import type { EstimateProgress } from "../estimate/estimate";
import type { EstimateUnderWay } from "./estimation";

/** An `onProgress` callback for the estimation series (estimateAcrossKernelCounts, ...), plus `done`. */
export type EstimateProgressReporter = ((what: EstimateUnderWay, p: EstimateProgress) => void) & {
  /** Closes the open bar. */
  done(): void;
};

// Each stage counts as this many steps, so the bar and its ETA move within a matrix.
const STEPS = 1000;

/**
 * Opens one bar per estimate and stage: "kernel" (the train, validation and test kernel matrices,
 * which cost the most) and "lambda" (the ridge grid search), each with its ETA.
 */
export function estimateProgressReporter(label = ""): EstimateProgressReporter {
  let bar: Progress | null = null;
  let key = "";
  const report = (what: EstimateUnderWay, p: EstimateProgress): void => {
    const k = `${what.kernels}:${what.kernelSize}:${what.trainPoints}:${p.stage}`;
    if (k !== key) {
      bar?.done();
      const count = what.kernels === "infinite" ? "∞ kernels" : `${what.kernels} kernel${what.kernels === 1 ? "" : "s"}`;
      const stage = p.stage === "kernel" ? "kernel matrices" : "λ search";
      const title = `${label}${label ? " " : ""}${count} of ${what.kernelSize} px, ${what.trainPoints} points: ${stage}`;
      bar = progress({ epochs: 1, batchesPerEpoch: STEPS, unitName: "stage", showBatch: false, title });
      key = k;
    }
    const batch = Math.max(0, Math.min(STEPS - 1, Math.round(p.fraction * STEPS) - 1));
    bar!.update({ epoch: 0, batch, note: p.detail });
  };
  return Object.assign(report, {
    done: () => {
      bar?.done();
      bar = null;
      key = "";
    },
  });
}
