/**
 * Per-channel standardisation. Statistics come from the training split only and are then
 * applied unchanged to validation and test data, so no information leaks from held-out data.
 */
import type { AnyDataset } from "./splits";

/** Per-channel mean and standard deviation of pixel values. */
export interface ChannelStats {
  /** Mean of each channel, length = channels. */
  mean: number[];
  /** Population standard deviation of each channel, length = channels (always > 0). */
  std: number[];
}

/**
 * Mean and standard deviation of each channel over the given samples (all when `indices` is
 * omitted). Accumulates in float64, so 60,000 MNIST images sum without float32 drift.
 * A constant channel gets std 1 instead of 0 so that applying the statistics never divides by 0.
 */
export function computeChannelStats(ds: AnyDataset, indices?: ArrayLike<number>): ChannelStats {
  const c = ds.channels;
  const pixels = ds.height * ds.width;
  const samples = indices ?? { length: ds.count };
  if (samples.length === 0) throw new Error(`computeChannelStats: no samples in ${ds.name}; expected at least one`);
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  for (let k = 0; k < samples.length; k++) {
    const i = indices ? indices[k]! : k;
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) {
      throw new Error(`indices[${k}]: got ${i}; expected an integer in 0..${ds.count - 1} (${ds.name})`);
    }
    const base = i * pixels * c;
    for (let p = 0; p < pixels; p++) {
      for (let ch = 0; ch < c; ch++) {
        const v = ds.images[base + p * c + ch]!;
        sum[ch]! += v;
        sumSq[ch]! += v * v;
      }
    }
  }
  const n = samples.length * pixels;
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    const m = sum[ch]! / n;
    if (!Number.isFinite(m)) throw new Error(`${ds.name}: channel ${ch} has non-finite pixel values (NaN or Infinity); expected finite pixels`);
    const variance = Math.max(0, sumSq[ch]! / n - m * m);
    mean.push(m);
    std.push(variance > 1e-12 ? Math.sqrt(variance) : 1);
  }
  return { mean, std };
}

/**
 * A copy of the data set with every pixel replaced by (value - mean[c]) / std[c].
 * The result no longer lies in [0, 1]; keep the original for previews.
 */
export function applyChannelStats<T extends AnyDataset>(ds: T, stats: ChannelStats): T {
  const c = ds.channels;
  if (stats.mean.length !== c || stats.std.length !== c) {
    throw new Error(`stats: ${stats.mean.length} means and ${stats.std.length} stds; expected ${c} each for ${ds.name}`);
  }
  if (stats.std.some((s) => !(s > 0))) throw new Error(`stats.std: got [${stats.std.join(", ")}]; expected positive values`);
  const images = new Float32Array(ds.images.length);
  for (let i = 0; i < images.length; i++) {
    const ch = i % c;
    images[i] = (ds.images[i]! - stats.mean[ch]!) / stats.std[ch]!;
  }
  return { ...ds, images };
}
