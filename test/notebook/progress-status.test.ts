import { test } from "node:test";
import assert from "node:assert/strict";
import { statusLine } from "../../src/notebook/progress";

function fakeStream(isTTY: boolean, columns = 40) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WritableStream & { isTTY: boolean; columns: number } };
}

test("statusLine on a TTY rewrites one line in place, at most every 250 ms, cut to the terminal width", () => {
  let t = 0;
  const { writes, stream } = fakeStream(true, 30);
  const s = statusLine({ stream, now: () => t, prefix: "> " });
  s.set("epoch 1/3");
  t = 100;
  s.set("epoch 2/3"); // too soon: held back
  t = 260;
  s.set("epoch 3/3 batch 10/10 loss 0.123456 ETA 5s");
  assert.deepEqual(writes, ["\r\x1b[2K> epoch 1/3", "\r\x1b[2K> epoch 3/3 batch 10/10 loss…"]);
  assert.equal(writes[1]!.length - "\r\x1b[2K".length, 29, "one column short of the width, so the terminal never wraps");
  s.clear();
  s.redraw();
  assert.deepEqual(writes.slice(2), ["\r\x1b[2K", "\r\x1b[2K> epoch 3/3 batch 10/10 loss…"]);
  s.reset();
  s.clear(); // nothing shown any more: nothing to clear
  assert.equal(writes.length, 5);
});

test("statusLine elsewhere prints whole lines at most every 10 s; a reset (new cell) prints at once", () => {
  let t = 0;
  const { writes, stream } = fakeStream(false);
  const s = statusLine({ stream, now: () => t });
  s.set("epoch 1/3");
  t = 9_999;
  s.set("epoch 2/3");
  t = 10_000;
  s.set("epoch 3/3");
  s.clear();
  s.redraw();
  s.reset();
  s.set("next cell\nepoch 1/2");
  assert.deepEqual(writes, ["epoch 1/3\n", "epoch 3/3\n", "next cell epoch 1/2\n"]);
});
