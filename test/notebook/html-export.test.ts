/**
 * Charts survive an HTML export: a fixture notebook that shows charts runs through our runner,
 * then Debian's `jupyter nbconvert --to html` (6.5 strips inline SVG, nbconvert #1849); every
 * chart must come out as a PNG image.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { runNotebook } from "../../src/notebook/runner";
import { code, markdown, writeFixture } from "./fixtures";

const JUPYTER = "/usr/bin/jupyter";
// The compiled modules beside this test (dist-test/): the fixture's kernel requires them by path.
const SHOW = path.join(__dirname, "..", "..", "src", "notebook", "show.js");
const CHARTS = path.join(__dirname, "..", "..", "src", "viz", "charts.js");

test("every chart of an executed notebook is an <img> PNG in nbconvert's HTML", { timeout: 120_000 }, async (t) => {
  if (!fs.existsSync(JUPYTER)) {
    t.skip(`${JUPYTER} is missing (apt install jupyter-nbconvert) so the HTML export cannot be checked`);
    return;
  }
  const file = writeFixture("charts.ipynb", [
    markdown("# Two charts"),
    code(
      `const { show } = require(${JSON.stringify(SHOW)});\nconst charts = require(${JSON.stringify(CHARTS)});\n` +
        `await show(charts.barChart([{ label: "a", mean: 1 }, { label: "b", mean: 2 }], { title: "bars" }));`,
    ),
    code(`await show(charts.heatmapChart({ values: [0, 1, 2, 3], height: 2, width: 2 }, { title: "grid" }));\nconsole.log("after the charts");`),
  ]);
  const executed = path.join(path.dirname(file), "executed.ipynb");
  const result = await runNotebook(file, { out: executed });
  assert.equal(result.ok, true, result.failure?.message);
  const charts = result.notebook.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "display_data" && "application/vnd.vegalite.v5+json" in o.data);
  assert.equal(charts.length, 2);

  const r = spawnSync(JUPYTER, ["nbconvert", "--to", "html", "--output-dir", path.dirname(file), "--output", "exported", executed], { encoding: "utf8" });
  assert.equal(r.status, 0, `nbconvert --to html failed:\n${r.stderr}`);
  const html = fs.readFileSync(path.join(path.dirname(file), "exported.html"), "utf8");
  const images = [...html.matchAll(/<img\s[^>]*src="data:image\/png;base64,([A-Za-z0-9+/=]+)"[^>]*>/g)];
  assert.equal(images.length, 2, "one PNG image per chart");
  for (const [tag, base64] of images) {
    // The very PNG the kernel sent, shown at its CSS size (half its 2x pixel size).
    const png = Buffer.from(base64!, "base64");
    assert.ok(charts.some((c) => c.output_type === "display_data" && c.data["image/png"] === base64), "the exported image is the chart's PNG");
    const width = /\swidth="?(\d+)/.exec(tag!)?.[1];
    assert.equal(Number(width), png.readUInt32BE(16) / 2, "shown at the chart's CSS width");
  }
  assert.doesNotMatch(html, /data-mime-type="image\/svg\+xml"/, "no (stripped, blank) SVG output");
});
