/**
 * Adam and SGD with momentum, written out instead of using tfjs's optimizers because a resumed
 * run must continue bit-for-bit: tfjs's Adam recomputes β^t with `pow` on `setWeights` while it
 * multiplies it step by step during training, so a restored optimizer drifts in the last bits.
 * Here every piece of state (step count, moment slots) is explicit and serialisable, and the
 * bias corrections are computed in float64 from the step count.
 * Updates go through `LayerVariable.write`, so layer constraints (e.g. non-negativity) apply.
 */
import type { LayerVariable, Tensor, Variable } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";

/** Optimizer settings. */
export interface OptimizerOptions {
  /** "adam" (default) or "sgd" (with momentum). */
  kind?: "adam" | "sgd";
  /** Adam β1 (default 0.9). */
  beta1?: number;
  /** Adam β2 (default 0.999). */
  beta2?: number;
  /** Adam ε added to √v̂ (default 1e-8). */
  epsilon?: number;
  /** SGD momentum μ (default 0.9; 0 = plain SGD). buf ← μ·buf + g; θ ← θ − lr·buf (PyTorch form). */
  momentum?: number;
  /** L2 weight decay added to the gradient, as PyTorch's `weight_decay` (default 0). */
  weightDecay?: number;
}

/** Serialisable optimizer state. */
export interface OptimizerState {
  /** Number of updates applied so far. */
  step: number;
  /** Slot tensors (Adam: m then v per weight; SGD: momentum buffer per weight). */
  slots: { shape: number[]; data: Float32Array }[];
}

/** One optimizer bound to a fixed, ordered list of weights. */
export class Optimizer {
  readonly kind: "adam" | "sgd";
  private readonly slots: Variable[];
  private stepCount = 0;
  private readonly opts: Required<OptimizerOptions>;

  constructor(
    opts: OptimizerOptions,
    /** The weights updated, in the order gradients are given to {@link step}. */
    readonly weights: LayerVariable[],
  ) {
    const kind = opts.kind ?? "adam";
    if (kind !== "adam" && kind !== "sgd") throw new Error(`Optimizer: kind must be "adam" or "sgd", got ${String(kind)}`);
    this.kind = kind;
    this.opts = {
      kind,
      beta1: opts.beta1 ?? 0.9,
      beta2: opts.beta2 ?? 0.999,
      epsilon: opts.epsilon ?? 1e-8,
      momentum: opts.momentum ?? 0.9,
      weightDecay: opts.weightDecay ?? 0,
    };
    for (const [name, v, lo, hi] of [
      ["beta1", this.opts.beta1, 0, 1],
      ["beta2", this.opts.beta2, 0, 1],
      ["momentum", this.opts.momentum, 0, 1],
    ] as const) {
      if (!(v >= lo && v < hi)) throw new Error(`Optimizer: ${name} must be in [${lo}, ${hi}), got ${v}`);
    }
    if (!(this.opts.weightDecay >= 0)) throw new Error(`Optimizer: weightDecay must be >= 0, got ${this.opts.weightDecay}`);
    const perWeight = kind === "adam" ? 2 : 1;
    this.slots = [];
    for (let s = 0; s < perWeight; s++) {
      for (const w of weights) {
        // tf.variable copies its initial value, so the zeros are disposed at once (else 2 leak per weight per run).
        const zeros = tf.zeros(w.shape as number[]);
        this.slots.push(tf.variable(zeros, false));
        zeros.dispose();
      }
    }
  }

  /** Number of updates applied so far. */
  get step(): number {
    return this.stepCount;
  }

  /** Applies one update with gradients aligned with `weights`, at learning rate `lr`. */
  applyGradients(grads: Tensor[], lr: number): void {
    if (grads.length !== this.weights.length) throw new Error(`Optimizer.applyGradients: ${grads.length} gradients for ${this.weights.length} weights`);
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`Optimizer.applyGradients: learning rate must be a finite number >= 0, got ${lr}`);
    this.stepCount++;
    const { beta1, beta2, epsilon, momentum, weightDecay } = this.opts;
    const n = this.weights.length;
    const t = this.stepCount;
    const bc1 = 1 - Math.pow(beta1, t);
    const bc2 = 1 - Math.pow(beta2, t);
    tf.tidy(() => {
      this.weights.forEach((w, k) => {
        const theta = w.read();
        const g = weightDecay > 0 ? tf.add(grads[k], tf.mul(theta, weightDecay)) : grads[k];
        if (this.kind === "adam") {
          const m = this.slots[k];
          const v = this.slots[n + k];
          m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
          v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
          const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), epsilon));
          w.write(tf.sub(theta, tf.mul(update, lr)));
        } else {
          const buf = this.slots[k];
          buf.assign(momentum > 0 ? tf.add(tf.mul(buf, momentum), g) : tf.clone(g));
          w.write(tf.sub(theta, tf.mul(buf, lr)));
        }
      });
    });
  }

  /** A copy of the state, for checkpoints. */
  getState(): OptimizerState {
    return { step: this.stepCount, slots: this.slots.map((s) => ({ shape: s.shape.slice(), data: Float32Array.from(s.dataSync() as Float32Array) })) };
  }

  /** Restores a state from {@link getState}; shapes must match. */
  setState(state: OptimizerState): void {
    if (state.slots.length !== this.slots.length) {
      throw new Error(`Optimizer.setState: checkpoint has ${state.slots.length} slots, this ${this.kind} optimizer needs ${this.slots.length} (different optimizer or model?)`);
    }
    state.slots.forEach((s, k) => {
      if (!tf.util.arraysEqual(s.shape, this.slots[k].shape)) {
        throw new Error(`Optimizer.setState: slot ${k} has shape ${JSON.stringify(s.shape)}, expected ${JSON.stringify(this.slots[k].shape)}`);
      }
      tf.tidy(() => this.slots[k].assign(tf.tensor(s.data, s.shape)));
    });
    this.stepCount = state.step;
  }

  /** Frees the slot variables. */
  dispose(): void {
    this.slots.forEach((s) => s.dispose());
  }
}

/** Learning-rate schedule, evaluated once per epoch (epochs count from 0). */
export type Schedule =
  | { kind: "constant" }
  /** lr · gamma^floor(epoch / stepSize) (PyTorch StepLR). */
  | { kind: "step"; stepSize: number; gamma: number }
  /** minLr + (lr − minLr)·(1 + cos(π·epoch / totalEpochs)) / 2 (PyTorch CosineAnnealingLR). */
  | { kind: "cosine"; totalEpochs: number; minLr?: number };

/** The learning rate of `epoch` under `schedule` for a base rate `lr`. */
export function learningRateAt(schedule: Schedule, lr: number, epoch: number): number {
  switch (schedule.kind) {
    case "constant":
      return lr;
    case "step":
      if (!(schedule.stepSize >= 1)) throw new Error(`schedule: stepSize must be >= 1, got ${schedule.stepSize}`);
      return lr * Math.pow(schedule.gamma, Math.floor(epoch / schedule.stepSize));
    case "cosine": {
      if (!(schedule.totalEpochs >= 1)) throw new Error(`schedule: totalEpochs must be >= 1, got ${schedule.totalEpochs}`);
      const minLr = schedule.minLr ?? 0;
      const e = Math.min(epoch, schedule.totalEpochs);
      return minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * e) / schedule.totalEpochs))) / 2;
    }
    default:
      throw new Error(`schedule: kind must be "constant", "step" or "cosine", got ${JSON.stringify(schedule)}`);
  }
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm` (PyTorch clip_grad_norm_).
 * Returns the new gradient list (the caller disposes the old one) and the norm before clipping.
 */
export function clipByGlobalNorm(grads: Tensor[], maxNorm: number | undefined): { grads: Tensor[]; norm: number } {
  const norm = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  if (maxNorm === undefined || !(norm > maxNorm)) return { grads: grads.map((g) => tf.clone(g)), norm };
  const scale = maxNorm / (norm + 1e-6);
  return { grads: grads.map((g) => tf.mul(g, scale)), norm };
}
