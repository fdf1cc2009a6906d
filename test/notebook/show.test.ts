import { test } from "node:test";
import assert from "node:assert/strict";
import { show, CHART_PNG_SCALE, VEGA_LITE_MIME } from "../../src/notebook/show";
import { renderSvg } from "../../src/viz/render";
import { setDisplaySink, sendDisplay, displayTarget, type DisplayMessage } from "../../src/notebook/display";
import { barChart } from "../../src/viz/charts";
import { parseXml } from "../viz/xml";

test("show sends ONE output with the vega-lite spec, a 2x PNG sized by its metadata, and a text label", async () => {
  const sent: DisplayMessage[] = [];
  setDisplaySink((m) => sent.push(m));
  try {
    const chart = barChart([{ label: "a", mean: 1 }, { label: "b", mean: 2 }], { title: "two bars" });
    const returned = await show(chart);
    assert.equal(returned, undefined, "show resolves to nothing so tslab prints nothing after the chart");
    assert.equal(sent.length, 1);
    const data = sent[0]!.data;
    // No SVG: nbconvert prefers it over the PNG and Debian's nbconvert 6.5 strips its content.
    assert.deepEqual(Object.keys(data).sort(), ["application/vnd.vegalite.v5+json", "image/png", "text/plain"]);
    assert.equal(data[VEGA_LITE_MIME], chart, "the spec travels as an object, not a JSON string");
    assert.equal(data["text/plain"], "[chart: two bars]");
    const png = Buffer.from(data["image/png"] as string, "base64");
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "base64 of a PNG file");
    // The PNG is the SVG at CHART_PNG_SCALE; the metadata gives the SVG's CSS size.
    const svg = parseXml(await renderSvg(chart));
    assert.equal(svg.name, "svg");
    const cssWidth = Number(svg.attrs.width);
    const cssHeight = Number(svg.attrs.height);
    assert.deepEqual(sent[0]!.metadata, { "image/png": { width: Math.round(cssWidth), height: Math.round(cssHeight) } });
    assert.equal(png.readUInt32BE(16), Math.round(cssWidth * CHART_PNG_SCALE));
    assert.equal(png.readUInt32BE(20), Math.round(cssHeight * CHART_PNG_SCALE));
    assert.equal(CHART_PNG_SCALE, 2);
    assert.equal(sent[0]!.update, false);
  } finally {
    setDisplaySink(null);
  }
});

test("outside a kernel show prints its label instead of crashing", async () => {
  const writes: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => { writes.push(String(chunk)); return true; }) as typeof process.stdout.write;
  try {
    assert.equal(displayTarget(), "stdout");
    await show(barChart([{ label: "a", mean: 1 }]));
  } finally {
    process.stdout.write = original;
  }
  assert.deepEqual(writes, ["[chart]\n"]);
});

test("sendDisplay uses tslab's display writer when a kernel has installed one", () => {
  // Simulate a kernel: tslab keeps the writer in the module-level `lastWriteDisplayData` of tslab/dist/jupyter.js.
  const file = require.resolve("tslab/dist/jupyter");
  const fake = { id: file, filename: file, loaded: true, exports: { lastWriteDisplayData: null as unknown } } as unknown as NodeJS.Module;
  const had = require.cache[file];
  const calls: unknown[][] = [];
  require.cache[file] = fake;
  try {
    (fake.exports as { lastWriteDisplayData: unknown }).lastWriteDisplayData = (...args: unknown[]) => calls.push(args);
    assert.equal(sendDisplay({ "text/plain": "x", "text/html": "<b>x</b>" }, { displayId: "d1" }), "kernel");
    assert.equal(sendDisplay({ "text/plain": "y" }, { displayId: "d1", update: true }), "kernel");
  } finally {
    if (had) require.cache[file] = had; else delete require.cache[file];
  }
  assert.deepEqual(calls, [
    [{ data: { "text/plain": "x", "text/html": "<b>x</b>" }, metadata: {}, transient: { display_id: "d1" } }, false],
    [{ data: { "text/plain": "y" }, metadata: {}, transient: { display_id: "d1" } }, true],
  ]);
  assert.throws(() => sendDisplay({}), /at least one mime type/);
  assert.throws(() => sendDisplay({ "text/plain": "a" }, { update: true }), /needs options.displayId/);
});
