/**
 * Empirical neural tangent kernels of a minibatch, three ways (digest §4.2-4.4):
 *
 * - {@link exactNtk}: per-sample Jacobians, Θ = J Jᵀ. n·C backward passes: small models only.
 * - {@link sketchNtk}: the random finite-difference sketch Θ ≈ (1/R) Σ_r D_r D_rᵀ with
 *   D_r = (f(x; θ + εΔ_r) − f(x; θ)) / ε, E[Δ_r Δ_rᵀ] = I (a full-matrix generalisation of the
 *   NTK-SAP trace estimator). R + 1 forward passes; any model.
 * - {@link traceNtk}: only the diagonal tr Θ(x_i, x_i) ≈ (1/R) Σ_r ‖D_r[i]‖² (NTK-SAP proper).
 *
 * Choices the paper leaves open, made here:
 * - Contraction over outputs: Θ[i, j] = Σ_p Σ_c J[i, p, c] J[j, p, c], i.e. the trace of each
 *   C×C block, so Θ is n×n as the paper states. f is the logit vector (before softmax), for
 *   teacher and student alike.
 * - Δ_r perturbs every parameter and ε is its absolute scale, as in NTK-SAP (whose runs use
 *   ε = 0.01). ε too small drowns D_r in float32 rounding (relative error ≈ 1e-7·|f| / (ε·|JΔ|));
 *   too large adds curvature bias O(ε). 1e-2 is the default.
 * - Δ_r's entries are Rademacher (±1, independent, equally likely) by default, or standard normal
 *   (NTK-SAP's choice; `distribution: "normal"`). Both give E[Δ Δᵀ] = I, which is all the sketch
 *   needs to be unbiased: E[(JΔ)(JΔ)ᵀ] = J E[ΔΔᵀ] Jᵀ = J Jᵀ. Why Rademacher: its variance is never
 *   larger (for one output per sample, Var Θ̂_ij = (Θ_ii Θ_jj + Θ_ij² − 2 Σ_p J_ip² J_jp²) / R,
 *   against (Θ_ii Θ_jj + Θ_ij²) / R for normal probes, since E[Δ⁴] is 1 instead of 3; Hutchinson's
 *   trace estimator is the diagonal case),
 *   ‖Δ‖² = P exactly (no heavy tail feeding the O(ε) curvature bias), and it costs one random bit
 *   per parameter instead of a seedrandom draw and a Box-Muller transform in JS (tf.randomNormal
 *   runs in JS on wasm and cpu; measured 2.7 ms of a 65 ms NTKD step at R = 2).
 * - Probe r of a variable is drawn from a seed derived from (seed, r, variable index), so probes
 *   are regenerated rather than stored, and a run's probes depend only on its counters. (Seeds
 *   change every batch, so there is nothing to cache across steps.)
 *
 * Gradients of a kernel-dependent loss with respect to the parameters are computed with
 * first-order autodiff only ({@link kernelLossAndGrads}): the loss is differentiated with
 * respect to the outputs f(x; θ) and f(x; θ + εΔ_r), then each output's gradient is pulled back
 * by a vector-Jacobian product evaluated at the weights that produced it. That is exactly the
 * gradient NTK-SAP obtains by backpropagating through a perturbed copy of the model.
 */
import type { LayersModel, NamedTensorMap, Scalar, Tensor, Variable } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import { deriveSeed, makeRng, tfSeed } from "../runtime/seed";

/** A network seen as a function of its inputs and of a chosen list of its parameters. */
export interface NtkSubject {
  /** Outputs (logits) [n, C] for inputs x; must read the current values of `variables`. */
  forward: (x: Tensor) => Tensor;
  /** The parameters θ the NTK is taken with respect to (e.g. all, or the backend only). */
  variables: Variable[];
}

/**
 * An {@link NtkSubject} for a LayersModel in inference mode, with respect to the given layer
 * variables (default: all its trainable weights).
 */
export function ntkSubject(model: LayersModel, weights?: { read(): Tensor }[]): NtkSubject {
  const variables = (weights ?? model.trainableWeights).map((w) => w.read() as Variable);
  if (variables.length === 0) throw new Error(`ntkSubject: model ${model.name} has no trainable weights to take the NTK over`);
  return { forward: (x) => model.apply(x, { training: false }) as Tensor, variables };
}

/**
 * The subject `forward` / `variables` with its outputs flattened to [n, D] (e.g. a mask-logit
 * map [n, H, W, 1] to [n, H·W]), so the NTK is contracted over every output value: Θ[i, j] =
 * Σ_p Σ_d J[i, p, d] J[j, p, d] (digest §4.5: "for segmentation, n_class is the flattened
 * per-pixel output"). For outputs that already are [n, C] the reshape changes nothing.
 */
export function flattenedSubject(forward: (x: Tensor) => Tensor, variables: Variable[]): NtkSubject {
  return {
    forward: (x) => {
      const outputs = forward(x);
      return outputs.rank === 2 ? outputs : tf.reshape(outputs, [x.shape[0] as number, -1]);
    },
    variables,
  };
}

/** Which kernel an estimate returns. */
export type KernelKind = "matrix" | "trace";

/** Options of the finite-difference estimators. */
export interface SketchOptions {
  /** Number of random probes R (≥ 1). The estimate's relative error falls like 1/√R. */
  probes: number;
  /** Absolute perturbation scale ε of the probes (default 1e-2, NTK-SAP's value). */
  epsilon?: number;
  /** Seed of the probes; the same seed (and distribution) gives the same Δ_r. */
  seed: number;
  /** Distribution of Δ_r's entries (default "rademacher"; see the module comment). */
  distribution?: ProbeDistribution;
}

/** Distribution of the entries of a probe Δ_r: both have mean 0 and E[ΔΔᵀ] = I. */
export type ProbeDistribution = "rademacher" | "normal";

/** `distribution` with its default, validated (`where` names the caller in the error). */
export function probeDistribution(distribution: ProbeDistribution | undefined, where: string): ProbeDistribution {
  const d = distribution ?? "rademacher";
  if (d !== "rademacher" && d !== "normal") {
    throw new Error(`${where}: distribution must be "rademacher" or "normal", got ${JSON.stringify(d)}`);
  }
  return d;
}

function checkSketch(opts: SketchOptions, where: string): { eps: number; distribution: ProbeDistribution } {
  if (!Number.isInteger(opts.probes) || opts.probes < 1) throw new Error(`${where}: probes must be an integer >= 1, got ${opts.probes}`);
  const eps = opts.epsilon ?? 1e-2;
  if (!(eps > 0) || !Number.isFinite(eps)) throw new Error(`${where}: epsilon must be a positive number, got ${eps}`);
  if (!Number.isFinite(opts.seed)) throw new Error(`${where}: seed must be a finite number, got ${opts.seed}`);
  return { eps, distribution: probeDistribution(opts.distribution, where) };
}

function checkOutputs(f: Tensor, where: string): void {
  if (f.rank !== 2) throw new Error(`${where}: the network must output [batch, outputs], got shape ${JSON.stringify(f.shape)}`);
}

/**
 * ε·Δ for `size` parameters, Rademacher: ±ε from the bits of a mulberry32 stream seeded with
 * `seed`, 32 entries per 32-bit draw, entry j from bit j mod 32 of draw ⌊j / 32⌋ (1 → +ε).
 */
function rademacherValues(size: number, seed: number, epsilon: number): Float32Array {
  const out = new Float32Array(size);
  const rng = makeRng(seed);
  for (let i = 0; i < size; i += 32) {
    // makeRng returns a uint32 / 2^32, so this recovers the draw's 32 bits exactly.
    let bits = rng() * 4294967296;
    const end = Math.min(size, i + 32);
    for (let j = i; j < end; j++) {
      out[j] = bits & 1 ? epsilon : -epsilon;
      bits >>>= 1;
    }
  }
  return out;
}

/** ε·Δ for a variable of `shape`, Δ's entries drawn from `seed` (derived per probe and variable). */
function probeDelta(shape: number[], seed: number, epsilon: number, distribution: ProbeDistribution): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (distribution === "rademacher") return tf.tensor(rademacherValues(size, seed, epsilon), shape, "float32");
  // tfSeed: deriveSeed may return 0, which tf.randomNormal would read as "unseeded".
  return tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, "float32", tfSeed(seed)), epsilon));
}

/**
 * Probe `probe` of variable number `variable` (of `size` entries) for `seed`, scaled by
 * `epsilon`: the ε·Δ_r that the estimators add to that variable, as a flat float32 array.
 * Deterministic in (seed, probe, variable, distribution); exported for tests and for callers
 * that must reproduce a sketch's probes.
 */
export function probeValues(
  size: number,
  seed: number,
  probe: number,
  variable: number,
  epsilon: number,
  distribution: ProbeDistribution = "rademacher",
): Float32Array {
  const d = probeDistribution(distribution, "probeValues");
  if (!Number.isInteger(size) || size < 0) throw new Error(`probeValues: size must be an integer >= 0, got ${size}`);
  if (!Number.isFinite(seed)) throw new Error(`probeValues: seed must be a finite number, got ${seed}`);
  const delta = probeDelta([size], deriveSeed(seed, probe, variable), epsilon, d);
  try {
    return delta.dataSync() as Float32Array;
  } finally {
    delta.dispose();
  }
}

/** Sets every variable to θ + ε·Δ_r (probe r of `seed`), θ being `originals`. */
function assignProbe(
  variables: Variable[],
  originals: Tensor[],
  probe: number,
  seed: number,
  epsilon: number,
  distribution: ProbeDistribution,
): void {
  variables.forEach((v, k) => {
    tf.tidy(() => {
      const delta = probeDelta(v.shape, deriveSeed(seed, probe, k), epsilon, distribution);
      v.assign(tf.add(originals[k], delta));
    });
  });
}

/**
 * Runs `fn(r)` for r = 0 … probes − 1 with every variable set to θ + ε·Δ_r, then restores θ
 * bit-for-bit. θ is copied once for all probes (not once per probe) and written back once.
 */
export function forEachProbe(
  variables: Variable[],
  probes: number,
  seed: number,
  epsilon: number,
  fn: (probe: number) => void,
  distribution: ProbeDistribution = "rademacher",
): void {
  const d = probeDistribution(distribution, "forEachProbe");
  const originals = variables.map((v) => tf.clone(v));
  try {
    for (let r = 0; r < probes; r++) {
      assignProbe(variables, originals, r, seed, epsilon, d);
      fn(r);
    }
  } finally {
    variables.forEach((v, k) => v.assign(originals[k]));
    tf.dispose(originals);
  }
}

/**
 * Runs `fn` with every variable set to θ + ε·Δ_r (probe r of `seed`), then restores θ
 * bit-for-bit (the original values are kept, not recomputed as θ + εΔ − εΔ).
 */
export function withProbe<T>(
  variables: Variable[],
  probe: number,
  seed: number,
  epsilon: number,
  fn: () => T,
  distribution: ProbeDistribution = "rademacher",
): T {
  const d = probeDistribution(distribution, "withProbe");
  const originals = variables.map((v) => tf.clone(v));
  try {
    assignProbe(variables, originals, probe, seed, epsilon, d);
    return fn();
  } finally {
    variables.forEach((v, k) => v.assign(originals[k]));
    tf.dispose(originals);
  }
}

/**
 * The kernel estimate from the outputs at θ (`f0`, [n, C]) and at the R probes (`perturbed`):
 * Θ ≈ (1/R) Σ_r D_r D_rᵀ ([n, n]) or its diagonal ([n]). Differentiable in all outputs.
 */
export function kernelFromOutputs(f0: Tensor, perturbed: Tensor[], epsilon: number, kind: KernelKind): Tensor {
  if (perturbed.length === 0) throw new Error("kernelFromOutputs: need at least one perturbed output");
  return tf.tidy(() => {
    let acc: Tensor | null = null;
    for (const fr of perturbed) {
      const d = tf.div(tf.sub(fr, f0), epsilon);
      const term = kind === "matrix" ? tf.matMul(d, d, false, true) : tf.sum(tf.square(d), 1);
      acc = acc === null ? term : tf.add(acc, term);
    }
    return tf.div(acc as Tensor, perturbed.length);
  });
}

/** Outputs at θ and at each probe (no gradient). */
function probeOutputs(
  subject: NtkSubject,
  x: Tensor,
  opts: SketchOptions,
  eps: number,
  distribution: ProbeDistribution,
): { f0: Tensor; perturbed: Tensor[] } {
  const f0 = tf.tidy(() => subject.forward(x));
  checkOutputs(f0, "NTK sketch");
  const perturbed: Tensor[] = [];
  try {
    forEachProbe(subject.variables, opts.probes, opts.seed, eps, () => {
      perturbed.push(tf.tidy(() => subject.forward(x)));
    }, distribution);
  } catch (err) {
    tf.dispose([f0, ...perturbed]);
    throw err;
  }
  return { f0, perturbed };
}

/** Random finite-difference sketch of the n×n empirical NTK of batch `x` (no gradient). */
export function sketchNtk(subject: NtkSubject, x: Tensor, opts: SketchOptions): Tensor {
  const { eps, distribution } = checkSketch(opts, "sketchNtk");
  const { f0, perturbed } = probeOutputs(subject, x, opts, eps, distribution);
  try {
    return kernelFromOutputs(f0, perturbed, eps, "matrix");
  } finally {
    tf.dispose([f0, ...perturbed]);
  }
}

/** NTK-SAP trace estimate: tr Θ(x_i, x_i) for each sample, shape [n] (no gradient). */
export function traceNtk(subject: NtkSubject, x: Tensor, opts: SketchOptions): Tensor {
  const { eps, distribution } = checkSketch(opts, "traceNtk");
  const { f0, perturbed } = probeOutputs(subject, x, opts, eps, distribution);
  try {
    return kernelFromOutputs(f0, perturbed, eps, "trace");
  } finally {
    tf.dispose([f0, ...perturbed]);
  }
}

/**
 * Per-sample Jacobians J [n, C·P] (outputs of one sample concatenated), from n·C backward
 * passes. Memory n·C·P floats: meant for small models and tests.
 */
export function perSampleJacobians(subject: NtkSubject, x: Tensor): Tensor {
  const n = x.shape[0] as number;
  const rows: Tensor[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const xi = tf.slice(x, i, 1);
      const numOutputs = tf.tidy(() => {
        const f = subject.forward(xi);
        checkOutputs(f, "exactNtk");
        return f.shape[1] as number;
      });
      for (let c = 0; c < numOutputs; c++) {
        rows.push(
          tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => tf.sum(tf.slice(subject.forward(xi), [0, c], [1, 1])) as Scalar, subject.variables);
            value.dispose();
            return tf.concat(subject.variables.map((v) => tf.reshape(grads[v.name] ?? tf.zerosLike(v), [-1])));
          }),
        );
      }
      xi.dispose();
    }
    return tf.tidy(() => tf.reshape(tf.stack(rows), [n, -1]));
  } finally {
    tf.dispose(rows);
  }
}

/** Exact empirical NTK Θ = J Jᵀ ([n, n]) or its diagonal ([n]), from per-sample Jacobians. */
export function exactNtk(subject: NtkSubject, x: Tensor, kind: KernelKind = "matrix"): Tensor {
  const j = perSampleJacobians(subject, x);
  try {
    return tf.tidy(() => (kind === "matrix" ? tf.matMul(j, j, false, true) : tf.sum(tf.square(j), 1)));
  } finally {
    j.dispose();
  }
}

/** Value of a kernel-dependent loss and its gradient for each of the subject's variables. */
export interface KernelLossAndGrads {
  /** The loss, a scalar. */
  value: Tensor;
  /** d loss / d variable, keyed by variable name (same keys as `tf.variableGrads`). */
  grads: NamedTensorMap;
}

/**
 * Evaluates `lossOfKernel(Θ̂(θ))` for the sketch (or trace) estimate Θ̂ of the subject's NTK on
 * `x`, and its gradient with respect to θ by first-order autodiff (see the module comment):
 * R + 1 forward passes and one backward pass through all of them.
 *
 * Why one tape is enough: the R + 1 forwards run inside a single `tf.variableGrads`, the
 * variables being reassigned to θ + εΔ_r between them. tfjs saves a copy of every tensor a
 * gradient needs when the op runs (`saveTensorsForBackwardMode`), so each forward's backward
 * sees the weights that forward used, and the variables' gradients are accumulated over all
 * forwards: Σ_r VJP at θ + εΔ_r, the same sum the module comment describes, without the R + 1
 * extra forward passes that separate pull-backs would need. `extraLoss` adds terms of the
 * outputs at θ to the loss (e.g. α·task), sharing that forward.
 */
export function kernelLossAndGrads(
  subject: NtkSubject,
  x: Tensor,
  kind: KernelKind,
  opts: SketchOptions,
  lossOfKernel: (kernel: Tensor) => Tensor,
  extraLoss?: (outputsAtTheta: Tensor) => Tensor,
): KernelLossAndGrads {
  const { eps, distribution } = checkSketch(opts, "kernelLossAndGrads");
  const variables = subject.variables;
  const originals = variables.map((v) => tf.clone(v));
  try {
    const { value, grads } = tf.variableGrads(() => {
      const f0 = subject.forward(x);
      checkOutputs(f0, "NTK sketch");
      const perturbed: Tensor[] = [];
      for (let r = 0; r < opts.probes; r++) {
        assignProbe(variables, originals, r, opts.seed, eps, distribution);
        perturbed.push(subject.forward(x));
      }
      variables.forEach((v, k) => v.assign(originals[k]));
      const kernelLoss = lossOfKernel(kernelFromOutputs(f0, perturbed, eps, kind));
      return (extraLoss ? tf.add(kernelLoss, extraLoss(f0)) : kernelLoss) as Scalar;
    }, variables);
    return { value, grads };
  } finally {
    variables.forEach((v, k) => v.assign(originals[k]));
    tf.dispose(originals);
  }
}
