/**
 * One warm training step of the Compressed Meta ONN student (batch 128, real MNIST, Adam), as a
 * plain function for the kernel profiler: plain (cross-entropy only) or NTKD (sketch NTK, R
 * student probes, LeNet-5 teacher, dataset-wide teacher sketch cache). It runs the same
 * objective and optimizer as `trainStudent` (and as bench/cases/ntkd.ts times), without the
 * loop's bookkeeping, so that tf.profile sees exactly one step per call.
 */
import { tf } from "../src/runtime/tf";
import { loadMnist } from "../src/data/mnist";
import { buildLeNet5 } from "../src/models/teachers/lenet";
import { buildCompressedMetaOnn, defaultPsfFrontend } from "../src/models/students";
import { ntkdObjective, taskObjective, type Objective } from "../src/train/objectives";
import { Optimizer } from "../src/train/optimizers";
import { gatherBatch } from "../src/data/batches";

/** Options of {@link compressedMetaStepForProfile}. */
export interface CompressedMetaStepOptions {
  /** "none": cross-entropy only (the reference); "ntkd": α·CE + β·NTK mismatch. */
  method: "none" | "ntkd";
  /** Batch size (default 128, the paper's). */
  batch?: number;
  /** Student probes R of the NTK sketch (default 4, as bench/cases/ntkd.ts). */
  probes?: number;
  /** Cached teacher probes R_T (default 8, as bench/cases/ntkd.ts). */
  teacherProbes?: number;
}

/** A warm step and a cleanup; `step()` runs one forward/backward/update on a fixed batch. */
export interface ProfiledStep {
  step: () => void;
  dispose: () => void;
}

/**
 * Builds the student (PsfConvFrontend, 8 kernels of 7x7, 4x4 binning, 128 hidden), a LeNet-5
 * teacher (untrained: the step's cost does not depend on its weights) and the objective; runs
 * one warm-up step, which for NTKD also calibrates β (autoBetaBatches 1), so every later
 * `step()` takes the steady-state path (one tape over the R + 1 forwards).
 */
export function compressedMetaStepForProfile(opts: CompressedMetaStepOptions): ProfiledStep {
  const batch = opts.batch ?? 128;
  const train = loadMnist({ split: "train", limit: batch });
  const student = buildCompressedMetaOnn({ frontend: defaultPsfFrontend({ kernels: 8, kernelSize: 7, inputChannels: 1, seed: 1 }), seed: 1 });
  const teacher = opts.method === "ntkd" ? buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, seed: 1 }) : null;
  const objective: Objective = teacher === null
    ? taskObjective()
    : ntkdObjective({ teacher, probes: opts.probes ?? 4, teacherProbes: opts.teacherProbes ?? 8, teacherCache: "dataset", autoBetaBatches: 1 });
  const weights = student.trainableWeights("all");
  const optimizer = new Optimizer({}, weights);
  const seed = 1;
  objective.prepare?.({ train, seed });
  const indices = Int32Array.from({ length: train.count }, (_, i) => i);
  const { x, y } = gatherBatch(train, indices);
  let count = 0;
  const step = () => {
    const r = objective.compute(student.model, weights, { x, y, indices, epoch: 0, batch: count, step: optimizer.step, seed });
    optimizer.applyGradients(r.grads, 1e-3);
    tf.dispose(r.grads);
    count++;
  };
  step();
  return {
    step,
    dispose: () => {
      tf.dispose([x, y]);
      optimizer.dispose();
      student.dispose();
      teacher?.dispose();
    },
  };
}
