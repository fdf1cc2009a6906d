/**
 * Saved estimates. A 5,000-point estimate takes minutes (its kernel matrices and one Cholesky
 * factor per λ), and notebook 01 makes about twenty: a stage that is interrupted, or rerun to add
 * a design, loads the estimates it already has instead of computing them again. Each estimate is
 * one JSON file named by the hash of everything it depends on, written whole and then renamed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ImageDataset } from "../data/types";
import type { AccuracyEstimate } from "../estimate/estimate";
import type { RandomKernelDistribution, ReferenceNetwork } from "../estimate/reference-network";
import { InputError } from "../notebook/errors";
import { strictJson, writeFileAtomic } from "../notebook/run-store";
import { configHash } from "./model-files";

/** What an estimate depends on (see {@link estimateCacheKey}). */
export interface EstimateIdentity {
  dataset: ImageDataset;
  testDataset: ImageDataset;
  kernels: number | "infinite";
  kernelSize: number;
  randomKernels: RandomKernelDistribution;
  network: Omit<ReferenceNetwork, "kernelSize" | "kernels">;
  trainPoints: number;
  validationPoints: number;
  testPoints: number;
  seed: number;
}

/** A data set's identity: name, shape, and a hash of its labels and of every 97th pixel value. */
export function datasetFingerprint(ds: ImageDataset): string {
  let h = 0x811c9dc5;
  const mix = (v: number) => {
    h ^= v & 0xffff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (let i = 0; i < ds.count; i++) mix(ds.labels[i]!);
  for (let i = 0; i < ds.images.length; i += 97) mix(Math.round(ds.images[i]! * 4096));
  return `${ds.name}:${ds.count}:${ds.height}x${ds.width}x${ds.channels}:${h.toString(16)}`;
}

/** The cache key of an estimate: every setting it depends on, the data by fingerprint. */
export function estimateCacheKey(e: EstimateIdentity): string {
  return JSON.stringify({
    what: "estimate",
    kernels: e.kernels,
    kernelSize: e.kernelSize,
    randomKernels: e.randomKernels,
    network: e.network,
    trainPoints: e.trainPoints,
    validationPoints: e.validationPoints,
    testPoints: e.testPoints,
    seed: e.seed,
    data: datasetFingerprint(e.dataset),
    test: datasetFingerprint(e.testDataset),
  });
}

/** A folder of saved estimates. */
export interface EstimateCache {
  /** The saved estimate of this key, or undefined when there is none (or only one of other settings). */
  load(key: string): AccuracyEstimate | undefined;
  /** Saves an estimate under its key (atomically). */
  save(key: string, estimate: AccuracyEstimate): void;
}

/** The cache in `dir` (created on the first save). */
export function estimateCache(dir: string): EstimateCache {
  const file = (key: string) => path.join(dir, `estimate-${configHash(key)}.json`);
  return {
    load(key) {
      const f = file(key);
      if (!fs.existsSync(f)) return undefined;
      let saved: { key?: unknown; estimate?: AccuracyEstimate };
      try {
        saved = JSON.parse(fs.readFileSync(f, "utf8"));
      } catch (err) {
        throw new InputError(`${f}: not a saved estimate (${(err as Error).message}); remove it to compute the estimate again`);
      }
      if (saved.key !== key) return undefined;
      const e = saved.estimate;
      if (!e || typeof e.accuracy !== "number" || !Number.isFinite(e.accuracy) || !Array.isArray(e.lambdaTrials)) {
        throw new InputError(`${f}: its estimate has no finite accuracy or no λ trials; remove it to compute the estimate again`);
      }
      // A λ whose factorisation failed was saved with a null accuracy (JSON has no NaN).
      return { ...e, lambdaTrials: e.lambdaTrials.map((t) => ({ ...t, validationAccuracy: t.validationAccuracy ?? NaN })) };
    },
    save(key, estimate) {
      fs.mkdirSync(dir, { recursive: true });
      const trials = estimate.lambdaTrials.map((t) => ({ ...t, validationAccuracy: Number.isFinite(t.validationAccuracy) ? t.validationAccuracy : null }));
      writeFileAtomic(file(key), strictJson({ key, estimate: { ...estimate, lambdaTrials: trials } }, "saved estimate") + "\n");
    },
  };
}
