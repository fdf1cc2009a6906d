import { test } from "node:test";
import assert from "node:assert/strict";
import { teacherRows, teacherResults, teacherArchitecture, type DatasetTeacher } from "../../src/experiments/teacher-report";

/** A teacher whose model only counts parameters: the rows need nothing else of it. */
function fakeTeacher(name: string, channels: number, accuracy: number, parameters: number): DatasetTeacher {
  return {
    teacher: { model: { countParams: () => parameters }, evaluation: { accuracy } },
    splits: { name, train: { channels } },
  } as unknown as DatasetTeacher;
}

test("teacherRows: architecture from the channels, accuracy to two decimals, the paper's Table 2 figure where it has one", () => {
  const rows = teacherRows([fakeTeacher("mnist", 1, 0.98765, 61706), fakeTeacher("fashion-mnist", 1, 0.9, 61706), fakeTeacher("cifar10", 3, 0.5, 1000)]);
  assert.deepEqual(rows, [
    { dataset: "mnist", teacher: "LeNet-5", parameters: 61706, "accuracy (%)": "98.77", "paper (%)": "99.1" },
    { dataset: "fashion-mnist", teacher: "LeNet-5", parameters: 61706, "accuracy (%)": "90.00", "paper (%)": "n/a" },
    { dataset: "cifar10", teacher: "AlexNet-style", parameters: 1000, "accuracy (%)": "50.00", "paper (%)": "85.4" },
  ]);
  assert.equal(teacherArchitecture(3), "AlexNet-style");
  assert.throws(() => teacherRows([]), /teacherRows: teachers must be a non-empty array/);
});

test("teacherResults keys by data set and keeps the accuracy as a fraction", () => {
  assert.deepEqual(teacherResults([fakeTeacher("mnist", 1, 0.25, 7)]), {
    mnist: { teacher: { accuracy: 0.25, parameters: 7, architecture: "LeNet-5" } },
  });
});
