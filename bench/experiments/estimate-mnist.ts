/**
 * Pre-training accuracy estimates on real MNIST (paper §3.1 and Table 5): NTK kernel regression
 * with the reference network for infinitely many optical kernels and for a few finite kernel
 * counts, scored on the official test split. Prints one line per configuration and a JSON summary.
 * Not a test.
 *
 *   npx tsc -p tsconfig.test.json (or a private tsconfig) then
 *   node <build>/bench/experiments/estimate-mnist.js --train 5000 --val 1000 --test 10000 \
 *     [--kernels inf,8,16,32,64] [--random gaussian|nonnegative] [--hidden 1] [--kernel-size 7] [--seed 1]
 *     [--frozen-frontend] (infinite kernels with only the backend trained, as in paper Table 5)
 */
import { loadMnist } from "../../src/data/mnist";
import { estimateAccuracy } from "../../src/estimate/estimate";
import type { RandomKernelDistribution } from "../../src/estimate/reference-network";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const trainPoints = Number(arg("train", "5000"));
const validationPoints = Number(arg("val", "1000"));
const testPoints = Number(arg("test", "10000"));
const kernelList = arg("kernels", "inf,8,16,32,64").split(",");
const randomKernels = arg("random", "gaussian") as RandomKernelDistribution;
const hiddenLayers = Number(arg("hidden", "1"));
const kernelSize = Number(arg("kernel-size", "7"));
const seed = Number(arg("seed", "1"));
const frozenFrontend = process.argv.includes("--frozen-frontend");

const dataset = loadMnist({ split: "train" });
const testDataset = loadMnist({ split: "test" });
const rows: unknown[] = [];
for (const k of kernelList) {
  const kernels = k === "inf" ? "infinite" : Number(k);
  let lastPrinted = -1;
  const r = estimateAccuracy({
    dataset,
    testDataset,
    kernels,
    kernelSize,
    randomKernels,
    network: { hiddenLayers, ...(frozenFrontend ? { trainFrontend: false } : {}) },
    trainPoints,
    validationPoints,
    testPoints,
    seed,
    onProgress: (p) => {
      const pct = Math.floor(p.fraction * 10);
      if (p.stage === "lambda") process.stderr.write(`  ${p.detail}\n`);
      else if (pct !== lastPrinted) {
        lastPrinted = pct;
        process.stderr.write(`  kernels ${k}: ${p.detail} ${(p.fraction * 100).toFixed(0)}%\n`);
      }
    },
  });
  console.log(
    `kernels=${k} random=${kernels === "infinite" ? "-" : randomKernels} hidden=${hiddenLayers}${frozenFrontend ? " frozen-frontend" : ""} train=${trainPoints} test=${testPoints}: ` +
      `accuracy ${(r.accuracy * 100).toFixed(2)}%  validation ${(r.validationAccuracy * 100).toFixed(2)}%  λ=${r.relativeLambda}·mean diag  ` +
      `kernels ${r.kernelMatrixSeconds.toFixed(1)} s  solve ${r.solveSeconds.toFixed(1)} s`,
  );
  rows.push({ kernels: k, randomKernels, hiddenLayers, frozenFrontend, trainPoints, testPoints, accuracy: r.accuracy, validationAccuracy: r.validationAccuracy, relativeLambda: r.relativeLambda, kernelMatrixSeconds: r.kernelMatrixSeconds, solveSeconds: r.solveSeconds });
}
console.log(JSON.stringify(rows));
