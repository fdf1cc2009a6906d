/**
 * bench/ratios.ts on hand-made numbers: each of our rows is divided by PyTorch at its own thread
 * count, every row of an equal-threads group also by PyTorch's default, the best-ours line picks
 * our fastest row, and a compareTo naming no case of its group is an error. Lives beside the
 * bench (the tests under test/ are the library's):
 *   node node_modules/typescript/bin/tsc -p tsconfig.test.json && node --test dist-test/bench/ratios.test.js
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkCases, groupSummaries, tableRows } from "../../bench/ratios";
import { threadRows, torchRowName } from "../../bench/cases/thread-rows";
import type { BenchCase, BenchResult } from "../../bench/cases/types";

const never = async (): Promise<BenchResult> => { throw new Error("not run in this test"); };

function group(): BenchCase[] {
  return threadRows({ label: "m", group: "g", repeats: 1, ours: never, torch: never });
}

/** Results for the cases named in `seconds`, with the thread counts a run would report. */
function results(
  cases: BenchCase[], seconds: Record<string, number>, threads: Record<string, number> = {},
): Map<BenchCase, BenchResult> {
  const ran = cases.filter((c) => c.name in seconds);
  return new Map(ran.map((c) => [c, { seconds: seconds[c.name], threads: threads[c.name] }]));
}

test("threadRows: ours at 1 and 2 threads against PyTorch at as many; PyTorch's default is the reference", () => {
  const cases = group();
  assert.deepEqual(cases.map((c) => [c.name, c.compareTo ?? null, c.reference ?? false, c.ours ?? false]), [
    ["m ours, 1 thread (wasm)", "m pytorch, 1 thread", false, true],
    ["m ours, 2 threads (threaded wasm)", "m pytorch, 2 threads", false, true],
    ["m pytorch, 1 thread", "m pytorch, 1 thread", false, false],
    ["m pytorch, 2 threads", "m pytorch, 2 threads", false, false],
    ["m pytorch default", null, true, false],
  ]);
  checkCases(cases);
});

test("tableRows: ratios at equal threads and against the default; the best ours row", () => {
  const cases = group();
  const r = results(cases, {
    "m ours, 1 thread (wasm)": 3, "m ours, 2 threads (threaded wasm)": 2,
    "m pytorch, 1 thread": 1.5, "m pytorch, 2 threads": 0.5, "m pytorch default": 4,
  }, { "m pytorch default": 1 });
  const rows = tableRows(cases, r, new Map());
  const byName = new Map(rows.map((row) => [row.name, row]));
  assert.equal(byName.get("m ours, 1 thread (wasm)")!.ratio, 2); // 3 / 1.5
  assert.equal(byName.get("m ours, 2 threads (threaded wasm)")!.ratio, 4); // 2 / 0.5
  assert.equal(byName.get("m ours, 2 threads (threaded wasm)")!.ratioTo, "m pytorch, 2 threads");
  assert.equal(byName.get("m ours, 1 thread (wasm)")!.vsReference, 0.75); // 3 / 4
  assert.equal(byName.get("m pytorch, 2 threads")!.vsReference, 0.125); // 0.5 / 4
  assert.equal(byName.get("m pytorch default")!.ratio, 1);
  // The case's own thread count, unless the run reported one.
  assert.equal(byName.get("m ours, 2 threads (threaded wasm)")!.threads, 2);
  assert.equal(byName.get("m pytorch default")!.threads, 1);
  const [summary] = groupSummaries(cases, rows);
  assert.deepEqual(summary, {
    group: "g", reference: "m pytorch default", referenceThreads: 1,
    best: { name: "m ours, 2 threads (threaded wasm)", seconds: 2, threads: 2, vsReference: 0.5 },
  });
});

test("tableRows: a group without compareTo has one ratio, against its reference; a skipped row none", () => {
  const cases: BenchCase[] = [
    { name: "a", group: "plain", reference: true, run: never },
    { name: "b", group: "plain", run: never },
    { name: "c", group: "plain", run: never },
  ];
  const rows = tableRows(cases, results(cases, { a: 2, b: 5 }), new Map([[cases[2], "no torch"]]));
  assert.deepEqual(rows.map((row) => [row.name, row.ratio, row.vsReference, row.notes]), [
    ["a", 1, null, ""], ["b", 2.5, null, ""], ["c", null, null, "skipped: no torch"],
  ]);
  assert.deepEqual(groupSummaries(cases, rows), []);
});

test("tableRows: no equal-thread ratio (none against another row) when that PyTorch row was skipped", () => {
  const cases = group();
  const ran = results(cases, { "m ours, 1 thread (wasm)": 3, "m pytorch default": 4 });
  const rows = tableRows(cases, ran, new Map());
  const ours = rows.find((row) => row.name === "m ours, 1 thread (wasm)")!;
  assert.equal(ours.ratio, null);
  assert.equal(ours.vsReference, 0.75);
});

test("checkCases: a compareTo naming no case of its group, or a repeated name, is an error", () => {
  const cases = group();
  const typo = { ...cases[0], compareTo: torchRowName("n", 1) };
  assert.throws(() => checkCases([typo, ...cases.slice(1)]),
    /compareTo "n pytorch, 1 thread", which is no case of its group/);
  assert.throws(() => checkCases([...cases, { ...cases[0], group: "other" }]),
    /two cases are named "m ours, 1 thread \(wasm\)"/);
});
