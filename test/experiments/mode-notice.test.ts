import { test } from "node:test";
import assert from "node:assert/strict";
import { modeNotice, shortenedSettings, FULL_RECORD_PATH } from "../../src/experiments/mode-notice";
import { distillationPreset } from "../../src/experiments/presets";

test("the quick notice names what was shortened against the full protocol, from the presets", () => {
  const notice = modeNotice("quick");
  const bySetting = Object.fromEntries(notice.shortened.map((s) => [s.setting, s]));
  // Quick keeps the full data: the image counts are not shortened, seeds and epochs are.
  assert.equal(bySetting["MNIST training images"], undefined);
  assert.deepEqual(bySetting["seeds per method"], { setting: "seeds per method", thisMode: "1 (0)", full: "5 (0, 1, 2, 3, 4)" });
  assert.deepEqual(bySetting["student epochs"], {
    setting: "student epochs", thisMode: String(distillationPreset("mnist", "quick").studentEpochs), full: String(distillationPreset("mnist", "full").studentEpochs),
  });
  assert.match(notice.markdown, new RegExp(FULL_RECORD_PATH.replace(/\./g, "\\.")));
  assert.match(notice.markdown, /\| seeds per method \| 1 \(0\) \| 5 \(0, 1, 2, 3, 4\) \|/);
});

test("the smoke notice says its numbers are not a reproduction and lists its smaller data; full shortens nothing", () => {
  const smoke = modeNotice("smoke");
  assert.match(smoke.headline, /not a reproduction/);
  assert.deepEqual(smoke.shortened.find((s) => s.setting === "MNIST training images"), { setting: "MNIST training images", thisMode: "3,000", full: "50,000 (all)" });
  assert.deepEqual(shortenedSettings("full"), []);
  assert.doesNotMatch(modeNotice("full").markdown, /\|/);
});
