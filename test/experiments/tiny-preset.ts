import type { DistillationPreset } from "../../src/experiments/presets";

/** A study small enough for a test: 256 training images, one epoch each, one seed. */
export const TINY_STUDY: Partial<DistillationPreset> = {
  sizes: { trainCount: 256, validationCount: 200, testCount: 200 },
  seeds: [0],
  teacherEpochs: 1,
  studentEpochs: 1,
  batchSize: 64,
};
