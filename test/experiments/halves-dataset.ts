import type { ImageDataset } from "../../src/data/types";

/**
 * Two classes of 8x8 images that a tiny regression or one linear layer separates: a bright left
 * half (label 0) or a bright right half (label 1), with uniform noise from a seeded LCG.
 */
export function halves(n: number, name: string, seed: number): ImageDataset {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const images = new Float32Array(n * 64);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < 64; p++) images[i * 64 + p] = ((p % 8 < 4) === (labels[i] === 0) ? 1 : 0) * 0.6 + 0.4 * rand();
  }
  return { name, images, labels, count: n, height: 8, width: 8, channels: 1, classNames: ["left", "right"] };
}
