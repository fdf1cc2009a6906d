/**
 * Did NTKD do what its loss asks? The empirical NTKs of the teacher and of trained students on the
 * same held-out images, compared by centred kernel alignment and by the NTKD mismatch itself
 * (trace-normalised MSE, the loss the student was trained on). Kernels are random
 * finite-difference sketches (src/distill/ntk.ts) with many probes, the same for every model.
 */
import type { LayersModel } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import type { ImageDataset } from "../data/types";
import { toTensors } from "../data/batches";
import { ntkSubject, sketchNtk } from "../distill/ntk";
import { kernelMismatch, type NtkNormalisation } from "../distill/ntkd";
import { kernelAlignment } from "../distill/kernel-alignment";

/** Options of {@link ntkAgreement}. */
export interface NtkAgreementOptions {
  /** Images (the first `count` of the data set; default 256). */
  count?: number;
  /** Sketch probes per model (default 64; the sketch's relative error falls like 1/√probes). */
  probes?: number;
  /** Seed of the probes (default 0). */
  seed?: number;
  /** Normalisation of the mismatch (default "trace", the presets' NTKD setting). */
  normalisation?: NtkNormalisation;
}

/** One student's agreement with the teacher. */
export interface NtkAgreement {
  /** Centred kernel alignment of the two NTKs, in [−1, 1]; 1 = equal up to scale. */
  alignment: number;
  /** Normalised MSE between the NTKs (the NTKD loss on these images); 0 = equal. */
  mismatch: number;
}

/**
 * The agreement of each student's NTK with the teacher's on the first `count` images of `ds`
 * (models in inference mode; all trainable weights).
 */
export function ntkAgreement(teacher: LayersModel, students: Record<string, LayersModel>, ds: ImageDataset, opts: NtkAgreementOptions = {}): Record<string, NtkAgreement> {
  const count = Math.min(opts.count ?? 256, ds.count);
  if (!Number.isInteger(count) || count < 2) throw new Error(`ntkAgreement: count must be an integer >= 2 (and the data set needs 2 images), got ${count}`);
  const sketch = { probes: opts.probes ?? 64, seed: opts.seed ?? 0 };
  const normalisation = opts.normalisation ?? "trace";
  const batch = toTensors(ds, Array.from({ length: count }, (_, i) => i));
  const teacherKernel = sketchNtk(ntkSubject(teacher), batch.x, sketch);
  try {
    const out: Record<string, NtkAgreement> = {};
    for (const [name, model] of Object.entries(students)) {
      const studentKernel = sketchNtk(ntkSubject(model), batch.x, sketch);
      try {
        const mismatch = tf.tidy(() => kernelMismatch(teacherKernel, studentKernel, normalisation).dataSync()[0]);
        const alignment = kernelAlignment(teacherKernel, studentKernel);
        if (!Number.isFinite(mismatch) || !Number.isFinite(alignment)) throw new Error(`ntkAgreement: ${name}'s kernel gave alignment ${alignment}, mismatch ${mismatch}`);
        out[name] = { alignment, mismatch };
      } finally {
        studentKernel.dispose();
      }
    }
    return out;
  } finally {
    tf.dispose([teacherKernel, batch.x, batch.y, batch.labels]);
  }
}
