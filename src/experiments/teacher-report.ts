/**
 * Tables and results of the teacher stage (notebook 02): each data set's electronic teacher beside
 * the paper's Table 2 accuracy.
 */
import type { ClassificationSplits } from "./datasets";
import type { obtainTeacher } from "./distillation";
import { PAPER, paperCell } from "./paper";

/** What {@link obtainTeacher} returns: the model, its test evaluation and training history. */
export type ObtainedTeacher = Awaited<ReturnType<typeof obtainTeacher>>;

/** One data set's teacher with the splits it was trained and tested on. */
export interface DatasetTeacher {
  teacher: ObtainedTeacher;
  splits: ClassificationSplits;
}

/** One row of the teacher table (accuracies in percent). */
export interface TeacherTableRow {
  dataset: string;
  teacher: string;
  parameters: number;
  /** Our test accuracy, two decimals. */
  "accuracy (%)": string;
  /** The paper's teacher accuracy on this data set, or "n/a" where it reports none. */
  "paper (%)": string;
}

/** The teacher architecture `buildTeacherFor` picks for images of `channels` channels. */
export function teacherArchitecture(channels: number): string {
  return channels === 1 ? "LeNet-5" : "AlexNet-style";
}

function paperTeacherAccuracy(dataset: string): number | undefined {
  return dataset === "mnist" ? PAPER.teachers.mnist : dataset === "cifar10" ? PAPER.teachers.cifar10 : undefined;
}

function requireTeachers(teachers: readonly DatasetTeacher[], fn: string): void {
  if (!Array.isArray(teachers) || teachers.length === 0) throw new Error(`${fn}: teachers must be a non-empty array of { teacher, splits }`);
}

/** One row per data set: architecture, parameter count, our test accuracy and the paper's. */
export function teacherRows(teachers: readonly DatasetTeacher[]): TeacherTableRow[] {
  requireTeachers(teachers, "teacherRows");
  return teachers.map(({ teacher, splits }) => {
    const paper = paperTeacherAccuracy(splits.name);
    return {
      dataset: splits.name,
      teacher: teacherArchitecture(splits.train.channels),
      parameters: teacher.model.countParams(),
      "accuracy (%)": (100 * teacher.evaluation.accuracy).toFixed(2),
      "paper (%)": paper === undefined ? "n/a" : paperCell({ mean: paper }),
    };
  });
}

/** The teacher stage's `datasets` for results.json: accuracy (fraction), parameters and architecture per data set. */
export function teacherResults(teachers: readonly DatasetTeacher[]): Record<string, Record<string, unknown>> {
  requireTeachers(teachers, "teacherResults");
  return Object.fromEntries(teachers.map(({ teacher, splits }) => [splits.name, {
    teacher: {
      accuracy: teacher.evaluation.accuracy,
      parameters: teacher.model.countParams(),
      architecture: teacherArchitecture(splits.train.channels),
    },
  }]));
}
