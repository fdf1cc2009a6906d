import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setDisplaySink, type DisplayMessage } from "../../src/notebook/display";
import { table, formatTable } from "../../src/notebook/table";
import { progress, formatDuration } from "../../src/notebook/progress";
import { params, notebookMode, coerceParam, byMode } from "../../src/notebook/params";
import { environmentCell } from "../../src/notebook/environment";
import { parseXml } from "../viz/xml";

const require_ = require;
const aq = require_("arquero") as { table(cols: Record<string, unknown[]>): never };

function capture<T>(body: () => T): { result: T; sent: DisplayMessage[] } {
  const sent: DisplayMessage[] = [];
  setDisplaySink((m) => sent.push(m));
  try {
    return { result: body(), sent };
  } finally {
    setDisplaySink(null);
  }
}

test("table shows plain rows as one output with HTML, markdown and text", () => {
  const rows = [{ method: "KD", accuracy: 95.91234 }, { method: "NTKD", accuracy: 97.3 }];
  const { result: returned, sent } = capture(() => table(rows, { title: "MNIST" }));
  assert.equal(returned, undefined);
  const result = formatTable(rows, { title: "MNIST" });
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.data["text/markdown"], result.markdown);
  assert.equal(sent[0]!.data["text/html"], result.html);
  assert.deepEqual(Object.keys(sent[0]!.data).sort(), ["text/html", "text/markdown", "text/plain"]);
  assert.equal(result.markdown, "**MNIST**\n\n|method|accuracy|\n|:-|-:|\n|KD|95.91|\n|NTKD|97.3|\n");
  const html = parseXml(`<div>${result.html}</div>`);
  const cells = JSON.stringify(html).match(/"name":"td"/g) ?? [];
  assert.equal(cells.length, 4);
});

test("table accepts an arquero table and truncates long ones", () => {
  const t = aq.table({ x: [1, 2, 3, 4] });
  const result = formatTable(t, { maxRows: 2 });
  assert.match(result.markdown, /\|1\|\n\|2\|\n[\s\S]*\.\.\. 2 more rows/);
  assert.throws(() => table("rows" as never), /table: data must be an arquero table or an array/);
  assert.throws(() => table([1] as never), /rows\[0\] must be an object/);
});

test("progress updates ONE notebook output in place and throttles redraws", () => {
  let clock = 0;
  const { result: p, sent } = capture(() => {
    const p = progress({ epochs: 2, batchesPerEpoch: 10, title: "train", minIntervalMs: 100, now: () => clock });
    for (let e = 0; e < 2; e++) {
      for (let b = 0; b < 10; b++) {
        clock += 30;
        p.update({ epoch: e, batch: b, loss: 1 / (1 + e * 10 + b), metric: 0.5, metricName: "acc" });
      }
    }
    p.done({ metric: 0.9 });
    return p;
  });
  assert.ok(sent.length >= 3 && sent.length < 20, `draws ${sent.length}`);
  assert.equal(sent.length, p.draws);
  const ids = new Set(sent.map((m) => m.transient.display_id));
  assert.equal(ids.size, 1, "every draw targets the same display id");
  assert.deepEqual(sent.map((m) => m.update), [false, ...Array(sent.length - 1).fill(true)]);
  const last = sent[sent.length - 1]!.data["text/plain"] as string;
  assert.match(last, /100%/);
  assert.match(last, /epoch 2\/2/);
  assert.match(last, /acc 0\.9/);
  assert.match(last, /done in 1s/);
  parseXml(sent[0]!.data["text/html"] as string);
});

test("progress estimates ETA from elapsed time and draws a terminal bar outside notebooks", () => {
  let clock = 0;
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => { lines.push(s); return true; } } as unknown as NodeJS.WritableStream;
  const p = progress({ epochs: 4, minIntervalMs: 0, now: () => clock, stream });
  clock = 10_000;
  p.update({ epoch: 0, loss: 2 });
  // A quarter done after 10 s leaves 30 s.
  assert.match(lines[0]!, /\[######------------------\]  25%  epoch 1\/4  loss 2  ETA 30s\n/);
  assert.equal(p.fraction, 0.25);
  assert.throws(() => p.update({ epoch: 4 }), /update.epoch must be an integer in \[0, 3\]/);
  assert.throws(() => p.update({ epoch: 1, loss: NaN }), /loss is NaN/);
  assert.throws(() => progress({ epochs: 0 }), /epochs must be a positive integer/);
  assert.equal(formatDuration(3725), "1h02m");
  assert.equal(formatDuration(185), "3m05s");
});

test("params: defaults, then mode overrides, then NTKD_PARAM_ env values, typed", () => {
  const defaults = { epochs: 20, lr: 0.01, dataset: "mnist", augment: false, sizes: [1, 2] };
  assert.deepEqual(params(defaults, { quick: { epochs: 2 }, env: {} }), { ...defaults, epochs: 2, mode: "quick" });
  assert.deepEqual(params(defaults, { quick: { epochs: 2 }, env: { NTKD_MODE: "full" } }), { ...defaults, mode: "full" });
  const env = { NTKD_MODE: "quick", NTKD_PARAM_epochs: "5", NTKD_PARAM_lr: "1e-3", NTKD_PARAM_augment: "true", NTKD_PARAM_dataset: "fashion-mnist", NTKD_PARAM_sizes: "[3]" };
  assert.deepEqual(params(defaults, { quick: { epochs: 2 }, env }), { epochs: 5, lr: 0.001, dataset: "fashion-mnist", augment: true, sizes: [3], mode: "quick" });
  assert.throws(() => params(defaults, { env: { NTKD_PARAM_epochs: "five" } }), /NTKD_PARAM_epochs must be a finite number \(default 20\), got "five"/);
  assert.throws(() => params(defaults, { env: { NTKD_PARAM_sizes: "{}" } }), /NTKD_PARAM_sizes must be JSON/);
  assert.throws(() => params(defaults, { quick: { nope: 1 } as never, env: {} }), /opts.quick.nope has no default/);
  assert.throws(() => notebookMode({ NTKD_MODE: "fast" }), /NTKD_MODE must be one of smoke, quick, full, got "fast"/);
  assert.equal(coerceParam("x", "0", true), false);
});

test("params: smoke mode applies the quick values, then its own; quick and full never see smoke's", () => {
  const defaults = { epochs: 20, images: 50000, datasets: ["mnist"] };
  const opts = { quick: { epochs: 3 }, smoke: { images: 3000, datasets: ["mnist", "fashion-mnist"] } };
  assert.deepEqual(params(defaults, { ...opts, env: { NTKD_MODE: "smoke" } }), { epochs: 3, images: 3000, datasets: ["mnist", "fashion-mnist"], mode: "smoke" });
  assert.deepEqual(params(defaults, { ...opts, env: { NTKD_MODE: "quick" } }), { epochs: 3, images: 50000, datasets: ["mnist"], mode: "quick" });
  assert.deepEqual(params(defaults, { ...opts, env: { NTKD_MODE: "full" } }), { ...defaults, mode: "full" });
  assert.throws(() => params(defaults, { smoke: { nope: 1 } as never, env: { NTKD_MODE: "smoke" } }), /opts.smoke.nope has no default/);
  assert.equal(byMode("smoke", { smoke: 1, quick: 2, full: 3 }), 1);
  assert.equal(byMode("smoke", { quick: 2, full: 3 }), 2);
  assert.equal(byMode("quick", { smoke: 1, quick: 2, full: 3 }), 2);
  assert.equal(byMode("full", { smoke: 1, quick: 2, full: 3 }), 3);
  assert.throws(() => byMode("fast" as never, { quick: 2, full: 3 }), /mode must be one of smoke, quick, full, got "fast"/);
});

test("environmentCell initialises the backend and shows one table of facts", async () => {
  const sent: DisplayMessage[] = [];
  setDisplaySink((m) => sent.push(m));
  let info;
  try {
    info = await environmentCell({ seed: 7, backend: "cpu" });
  } finally {
    setDisplaySink(null);
  }
  assert.equal(info.backend, "cpu");
  assert.equal(info.seed, 7);
  assert.equal(info.nodeVersion, process.version);
  assert.match(info.tslabVersion, /^1\.0\.22$/);
  assert.equal(sent.length, 1);
  assert.match(sent[0]!.data["text/markdown"] as string, /\|backend\|cpu\|/);
  await assert.rejects(environmentCell({ seed: 1.5 }), /opts.seed must be an integer/);
});

test("a fresh temp dir is writable (sanity for the run store tests)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-"));
  fs.rmSync(dir, { recursive: true });
});
