/**
 * Which classification data sets a stage runs (issue 14 item 6): a data set asked for by name
 * that is not installed is an error naming the folder and how to get it; from a default list
 * ("use it if present") it is skipped, and the output says so.
 */
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { resolveClassificationDatasets } from "../../src/experiments/datasets";
import { loadFashionMnist } from "../../src/data/fashion-mnist";
import { tempDir, writeIdxPair } from "../data/fixtures";

const saved = { dir: process.env.NTKD_FASHION_MNIST_DIR, param: process.env.NTKD_PARAM_datasets };
afterEach(() => {
  for (const [key, value] of [["NTKD_FASHION_MNIST_DIR", saved.dir], ["NTKD_PARAM_datasets", saved.param]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

const missing = path.join(tempDir("ntkd-fmnist-"), "missing");
const howTo = /Fashion-MNIST not found: .*missing \(from NTKD_FASHION_MNIST_DIR\) is not a folder; install it with `apt-get install dataset-fashion-mnist`.* or set NTKD_FASHION_MNIST_DIR/;

test("--param datasets=[\"fashion-mnist\"] with the data set absent is an error naming the folder and how to get it", () => {
  process.env.NTKD_FASHION_MNIST_DIR = missing;
  process.env.NTKD_PARAM_datasets = '["fashion-mnist"]'; // what `ntkd-lab run --param datasets=...` sets
  const lines: string[] = [];
  assert.throws(() => resolveClassificationDatasets(["fashion-mnist"], { log: (l) => lines.push(l) }), howTo);
  assert.throws(() => resolveClassificationDatasets(["mnist", "fashion-mnist"], { explicit: true }), howTo);
  assert.deepEqual(lines, []);
  assert.throws(() => loadFashionMnist({ split: "test" }), howTo);
});

test("a default list skips an absent data set with a line saying so; a present one is kept", () => {
  delete process.env.NTKD_PARAM_datasets;
  process.env.NTKD_FASHION_MNIST_DIR = missing;
  const lines: string[] = [];
  assert.deepEqual(resolveClassificationDatasets(["mnist", "fashion-mnist"], { log: (l) => lines.push(l) }), ["mnist"]);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^fashion-mnist skipped \(it is in the default list only if present\): Fashion-MNIST not found: .*missing/);
  assert.match(lines[0]!, /apt-get install dataset-fashion-mnist/);

  const present = tempDir("ntkd-fmnist-ok-");
  writeIdxPair(present, "train", 3, 28, 28, true);
  writeIdxPair(present, "t10k", 2, 28, 28, true);
  process.env.NTKD_FASHION_MNIST_DIR = present;
  lines.length = 0;
  assert.deepEqual(resolveClassificationDatasets(["mnist", "fashion-mnist"], { log: (l) => lines.push(l) }), ["mnist", "fashion-mnist"]);
  assert.deepEqual(resolveClassificationDatasets(["fashion-mnist"], { explicit: true }), ["fashion-mnist"]);
  assert.deepEqual(lines, []);
  assert.equal(loadFashionMnist({ split: "test" }).count, 2);
});

test("unknown data set names are refused with the list of known ones", () => {
  assert.throws(() => resolveClassificationDatasets(["mnist", "fmnist"], { explicit: true }), /^Error: datasets: unknown data set "fmnist"; expected one of mnist, fashion-mnist, cifar10$/);
});
