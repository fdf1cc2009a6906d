import { test } from "node:test";
import assert from "node:assert/strict";
import { parseXml, marksOf } from "./xml";

test("parseXml accepts well-formed SVG and finds vega mark groups", () => {
  const el = parseXml('<?xml version="1.0"?><svg a="1"><g class="mark-rect role-legend"><path/></g><g class="mark-rect role-mark"><path d="M0"/><path d="M1"></path></g><text>a &amp; b</text></svg>');
  assert.equal(el.name, "svg");
  assert.equal(marksOf(el, "rect").length, 2);
});

test("parseXml rejects malformed documents", () => {
  assert.throws(() => parseXml("<svg><g></svg>"), /does not match/);
  assert.throws(() => parseXml("<svg a=1></svg>"), /unquoted/);
  assert.throws(() => parseXml("<svg><g>"), /unclosed/);
  assert.throws(() => parseXml('<svg a="1" a="2"/>'), /duplicate/);
  assert.throws(() => parseXml("<svg>a & b</svg>"), /bare &/);
});
