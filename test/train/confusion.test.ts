import { test } from "node:test";
import assert from "node:assert/strict";
import { confusionMatrix, confusionAccuracy } from "../../src/train/confusion";

test("confusionMatrix counts true class by predicted class, hand-computed", () => {
  const m = confusionMatrix(Int32Array.from([0, 0, 1, 2, 2, 2]), [0, 1, 1, 2, 0, 2], 3);
  assert.deepEqual(m, [[1, 1, 0], [0, 1, 0], [1, 0, 2]]);
  assert.equal(confusionAccuracy(m), 4 / 6);
});

test("confusionMatrix and confusionAccuracy reject bad input with the argument named", () => {
  assert.throws(() => confusionMatrix([0], [0, 1], 2), /labels and predicted must have the same length, got 1 and 2/);
  assert.throws(() => confusionMatrix([0, 3], [0, 1], 3), /item 1 has label 3 and prediction 1; expected class indices in 0..2/);
  assert.throws(() => confusionMatrix([0], [0], 0), /numClasses must be an integer >= 1/);
  assert.throws(() => confusionAccuracy([[0, 0], [0, 0]]), /counts no items/);
  assert.throws(() => confusionAccuracy([[1, 0], [0]]), /row 1 has 1 entries; the matrix must be 2x2/);
});
