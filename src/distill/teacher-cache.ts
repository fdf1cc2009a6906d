/**
 * A dataset-wide cache of the teacher's finite-difference sketch rows, so that an NTKD step does
 * not pay R + 1 teacher forward passes per batch.
 *
 * The sketch's per-sample rows D_r(x_i) = (f_T(x_i; θ_T + εΔ_r) − f_T(x_i; θ_T)) / ε depend only
 * on the sample and the probe, and the teacher is frozen, so with fixed probes they are computed
 * once for the whole training set ([N, R, C] floats; 50,000 MNIST images, R = 8, C = 10: 16 MB).
 * A batch's kernel is then (1/R) Σ_r D_r[idx] D_r[idx]ᵀ (or its diagonal), one gather and one
 * matrix product.
 *
 * Statistical difference from the per-batch sketch: every batch sees the same fixed random
 * projection of the teacher's Jacobian (a Johnson-Lindenstrauss sketch of J_T with R directions)
 * instead of fresh probes per batch. Each batch's kernel is still an unbiased estimate of the
 * teacher NTK, but its error is now the same for a given pair of samples in every epoch rather
 * than averaging out over batches. Since the rows are computed once, more probes (a smaller
 * error) are cheap: the cost is R + 1 teacher forward passes over the training set, once.
 */
import type { LayersModel, Tensor } from "@tensorflow/tfjs";
import type { AnyDataset } from "../data/splits";
import { tf } from "../runtime/tf";
import { imagesTensor } from "../data/batches";
import {
  forEachProbe, ntkSubject, probeDistribution, type KernelKind, type NtkSubject, type ProbeDistribution,
} from "./ntk";

/** The largest cache (in float32 values, 1 GiB) built before the memory guard refuses: per-pixel outputs of large images grow it as N·R·H·W. */
const MAX_CACHE_FLOATS = 2 ** 28;

/** Options of {@link precomputeTeacherSketch}. */
export interface TeacherSketchOptions {
  /** Number of fixed probes R (≥ 1). */
  probes: number;
  /** Absolute perturbation scale ε (default 1e-2, as in the per-batch sketch). */
  epsilon?: number;
  /** Seed of the probes; the same seed gives the same Δ_r as `sketchNtk` with that seed. */
  seed: number;
  /** Distribution of Δ_r's entries (default "rademacher", as `sketchNtk`). */
  distribution?: ProbeDistribution;
  /** Images per teacher forward pass while precomputing (default 256; memory, not results). */
  batchSize?: number;
}

/** The teacher's sketch rows of every sample of one dataset. */
export interface TeacherSketchCache {
  /** D_r(x_i) for sample i, probe r, output c at `rows[(i·probes + r)·outputs + c]`. */
  rows: Float32Array;
  /** Samples N (the dataset's count). */
  count: number;
  /** Probes R. */
  probes: number;
  /** Teacher outputs C. */
  outputs: number;
  /** ε of the probes. */
  epsilon: number;
  /** Seed of the probes. */
  seed: number;
  /** Distribution of the probes' entries. */
  distribution: ProbeDistribution;
}

/**
 * Computes the teacher's sketch rows for every sample of `dataset` with fixed probes (see the
 * module comment). `teacher` is a LayersModel (inference mode, all trainable weights) or an
 * {@link NtkSubject}; its weights are restored bit-for-bit afterwards.
 */
export function precomputeTeacherSketch(teacher: LayersModel | NtkSubject, dataset: AnyDataset, opts: TeacherSketchOptions): TeacherSketchCache {
  const where = "precomputeTeacherSketch";
  if (!Number.isInteger(opts.probes) || opts.probes < 1) throw new Error(`${where}: probes must be an integer >= 1, got ${opts.probes}`);
  const epsilon = opts.epsilon ?? 1e-2;
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new Error(`${where}: epsilon must be a positive number, got ${epsilon}`);
  if (!Number.isFinite(opts.seed)) throw new Error(`${where}: seed must be a finite number, got ${opts.seed}`);
  const distribution = probeDistribution(opts.distribution, where);
  const batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`${where}: batchSize must be an integer >= 1, got ${batchSize}`);
  if (!dataset || !(dataset.count >= 1)) throw new Error(`${where}: dataset must hold at least one image`);
  const subject: NtkSubject = "variables" in teacher ? teacher : ntkSubject(teacher);
  const starts: number[] = [];
  for (let s = 0; s < dataset.count; s += batchSize) starts.push(s);
  const chunkIndices = (s: number) => Int32Array.from({ length: Math.min(batchSize, dataset.count - s) }, (_, i) => s + i);
  const images: Tensor[] = [];
  const f0: Tensor[] = [];
  try {
    for (const s of starts) {
      const x = imagesTensor(dataset, chunkIndices(s));
      images.push(x);
      const out = tf.tidy(() => subject.forward(x));
      f0.push(out);
      if (out.rank !== 2) throw new Error(`${where}: the teacher must output [batch, outputs], got shape ${JSON.stringify(out.shape)}`);
    }
    const outputs = f0[0].shape[1] as number;
    const { probes } = opts;
    const floats = dataset.count * probes * outputs;
    if (floats > MAX_CACHE_FLOATS) {
      throw new Error(`${where}: the cache of ${dataset.count} samples x ${probes} probes x ${outputs} outputs would hold ${(floats * 4 / 2 ** 30).toFixed(1)} GiB (limit ${MAX_CACHE_FLOATS * 4 / 2 ** 30} GiB); use fewer teacherProbes, smaller images, or teacherCache "none"`);
    }
    const rows = new Float32Array(dataset.count * probes * outputs);
    // Probes outer, chunks inner: the teacher's weights are perturbed R times in all, not R times per chunk.
    forEachProbe(subject.variables, probes, opts.seed, epsilon, (r) => {
      starts.forEach((s, k) => {
        // The same float32 ops as kernelFromOutputs (the rows differ from per-batch ones only by
        // the rounding of a forward pass over a differently sized batch).
        const d = tf.tidy(() => tf.div(tf.sub(subject.forward(images[k]), f0[k]), epsilon));
        const values = d.dataSync() as Float32Array;
        d.dispose();
        const n = values.length / outputs;
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < outputs; c++) {
            const v = values[i * outputs + c];
            if (!Number.isFinite(v)) throw new Error(`${where}: sketch row of sample ${s + i}, probe ${r} is ${v} (teacher output not finite; lower epsilon or check the inputs)`);
            rows[((s + i) * probes + r) * outputs + c] = v;
          }
        }
      });
    }, distribution);
    return { rows, count: dataset.count, probes, outputs, epsilon, seed: opts.seed, distribution };
  } finally {
    tf.dispose([...images, ...f0]);
  }
}

/**
 * The teacher's kernel of the batch of samples `indices` from the cache: the matrix
 * (1/R) Σ_r D_r[idx] D_r[idx]ᵀ ([n, n]) or its diagonal ([n]), as `sketchNtk` / `traceNtk`
 * would give with the cache's probes.
 */
export function cachedTeacherKernel(cache: TeacherSketchCache, indices: ArrayLike<number>, kind: KernelKind): Tensor {
  const n = indices.length;
  if (n < 1) throw new Error("cachedTeacherKernel: indices must name at least one sample");
  const width = cache.probes * cache.outputs;
  const gathered = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    const k = indices[i];
    if (!Number.isInteger(k) || k < 0 || k >= cache.count) throw new Error(`cachedTeacherKernel: index ${k} at position ${i} is outside the cached dataset of ${cache.count} samples`);
    gathered.set(cache.rows.subarray(k * width, (k + 1) * width), i * width);
  }
  return tf.tidy(() => {
    const d = tf.tensor2d(gathered, [n, width]);
    const k = kind === "matrix" ? tf.matMul(d, d, false, true) : tf.sum(tf.square(d), 1);
    return tf.div(k, cache.probes);
  });
}
