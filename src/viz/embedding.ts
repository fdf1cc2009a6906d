/**
 * 2-D embeddings of feature vectors for scatter plots (the paper's Figure 4 uses t-SNE of the
 * backend features): principal components, and exact t-SNE (van der Maaten & Hinton 2008) with
 * a perplexity-calibrated Gaussian affinity, early exaggeration and momentum gradient descent.
 * Exact t-SNE is O(n²) per iteration: meant for up to a few thousand points.
 */
import { makeRng } from "../runtime/seed";

/** Row-major points: values[i * dims + d]. */
export interface PointMatrix {
  values: ArrayLike<number>;
  count: number;
  dims: number;
}

function check(p: PointMatrix, where: string): void {
  if (!(p.count >= 2) || !(p.dims >= 1) || p.values.length !== p.count * p.dims) {
    throw new Error(`${where}: expected count >= 2 points of dims >= 1 with count*dims values, got count ${p.count}, dims ${p.dims}, ${p.values.length} values`);
  }
  for (let i = 0; i < p.values.length; i++) {
    if (!Number.isFinite(p.values[i])) throw new Error(`${where}: value ${i} (point ${Math.floor(i / p.dims)}) is ${p.values[i]}`);
  }
}

/** Projection on the first two principal components (power iteration with deflation). */
export function pca2d(p: PointMatrix, seed = 0): Float64Array {
  check(p, "pca2d");
  const { count: n, dims: d } = p;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += p.values[i * d + j] / n;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = p.values[i * d + j] - mean[j];
  const rand = makeRng(seed);
  const out = new Float64Array(n * 2);
  const components: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: d }, () => rand() - 0.5);
    for (let it = 0; it < 200; it++) {
      const xv = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xv[i] += x[i * d + j] * v[j];
      const next = new Float64Array(d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) next[j] += x[i * d + j] * xv[i];
      for (const prev of components) {
        const dot = next.reduce((s, a, j) => s + a * prev[j], 0);
        for (let j = 0; j < d; j++) next[j] -= dot * prev[j];
      }
      const norm = Math.sqrt(next.reduce((s, a) => s + a * a, 0)) || 1;
      v = next.map((a) => a / norm);
    }
    components.push(v);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] * v[j];
      out[i * 2 + c] = s;
    }
  }
  return out;
}

/** Options of {@link tsne2d}. */
export interface TsneOptions {
  /** Effective number of neighbours (default 30; capped at (count − 1) / 3). */
  perplexity?: number;
  /** Gradient iterations (default 750). */
  iterations?: number;
  /** Learning rate (default max(count / 12, 50), the "automatic" choice of recent t-SNE codes). */
  learningRate?: number;
  /** Seed of the initial layout (default 0). */
  seed?: number;
}

/** Squared Euclidean distances between all pairs. */
function pairwiseSquared(p: PointMatrix): Float64Array {
  const { count: n, dims: d } = p;
  const dist = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = i + 1; k < n; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const diff = p.values[i * d + j] - p.values[k * d + j];
        s += diff * diff;
      }
      dist[i * n + k] = s;
      dist[k * n + i] = s;
    }
  }
  return dist;
}

/** Symmetrised affinities P with each row's Gaussian bandwidth set by binary search on perplexity. */
function affinities(dist: Float64Array, n: number, perplexity: number): Float64Array {
  const target = Math.log(perplexity);
  const p = new Float64Array(n * n);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let lo = 0;
    let hi = Infinity;
    let beta = 1;
    for (let it = 0; it < 64; it++) {
      let sum = 0;
      let weighted = 0;
      for (let k = 0; k < n; k++) {
        row[k] = k === i ? 0 : Math.exp(-beta * dist[i * n + k]);
        sum += row[k];
        weighted += row[k] * dist[i * n + k];
      }
      const entropy = Math.log(sum || 1e-300) + (beta * weighted) / (sum || 1e-300);
      if (Math.abs(entropy - target) < 1e-5) break;
      if (entropy > target) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = (beta + lo) / 2;
      }
    }
    const sum = row.reduce((a, b) => a + b, 0) || 1e-300;
    for (let k = 0; k < n; k++) p[i * n + k] = row[k] / sum;
  }
  const sym = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) sym[i * n + k] = Math.max((p[i * n + k] + p[k * n + i]) / (2 * n), 1e-12);
  return sym;
}

/** Exact t-SNE to 2-D; returns [x0, y0, x1, y1, ...]. Seeded and deterministic. */
export function tsne2d(points: PointMatrix, opts: TsneOptions = {}): Float64Array {
  check(points, "tsne2d");
  const n = points.count;
  const perplexity = Math.min(opts.perplexity ?? 30, (n - 1) / 3);
  if (!(perplexity > 0)) throw new Error(`tsne2d: perplexity must be > 0, got ${opts.perplexity}`);
  const iterations = opts.iterations ?? 750;
  const lr = opts.learningRate ?? Math.max(n / 12, 50);
  const P = affinities(pairwiseSquared(points), n, perplexity);
  const rand = makeRng(opts.seed ?? 0);
  const y = Float64Array.from({ length: n * 2 }, () => (rand() - 0.5) * 1e-3);
  const velocity = new Float64Array(n * 2);
  const gains = new Float64Array(n * 2).fill(1);
  const q = new Float64Array(n * n);
  const grad = new Float64Array(n * 2);
  for (let it = 0; it < iterations; it++) {
    const exaggeration = it < 250 ? 12 : 1;
    const momentum = it < 250 ? 0.5 : 0.8;
    let qSum = 0;
    for (let i = 0; i < n; i++) {
      for (let k = i + 1; k < n; k++) {
        const dx = y[2 * i] - y[2 * k];
        const dy = y[2 * i + 1] - y[2 * k + 1];
        const w = 1 / (1 + dx * dx + dy * dy);
        q[i * n + k] = w;
        q[k * n + i] = w;
        qSum += 2 * w;
      }
    }
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        if (k === i) continue;
        const w = q[i * n + k];
        const f = 4 * (exaggeration * P[i * n + k] - w / qSum) * w;
        grad[2 * i] += f * (y[2 * i] - y[2 * k]);
        grad[2 * i + 1] += f * (y[2 * i + 1] - y[2 * k + 1]);
      }
    }
    for (let j = 0; j < n * 2; j++) {
      gains[j] = Math.sign(grad[j]) === Math.sign(velocity[j]) ? Math.max(gains[j] * 0.8, 0.01) : gains[j] + 0.2;
      velocity[j] = momentum * velocity[j] - lr * gains[j] * grad[j];
      y[j] += velocity[j];
    }
  }
  return y;
}

/** Agreement of an embedding with labels: the share of points whose nearest other point has the same label. */
export function nearestNeighbourAgreement(embedding: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = labels.length;
  if (embedding.length !== 2 * n) throw new Error(`nearestNeighbourAgreement: ${embedding.length} coordinates for ${n} labels`);
  let same = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    let bestK = -1;
    for (let k = 0; k < n; k++) {
      if (k === i) continue;
      const d = (embedding[2 * i] - embedding[2 * k]) ** 2 + (embedding[2 * i + 1] - embedding[2 * k + 1]) ** 2;
      if (d < best) {
        best = d;
        bestK = k;
      }
    }
    if (labels[bestK] === labels[i]) same++;
  }
  return same / n;
}
