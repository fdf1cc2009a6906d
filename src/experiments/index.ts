/**
 * Studies that compose the stages, one per notebook: presets (quick/full sizes), data set
 * loading by name, architectures per data set, the distillation study (teacher, then students
 * with no transfer, KD and NTKD), the fabrication and compensation study and its sweeps, the
 * estimation study, the segmentation study and its fabrication, worker processes, report rows,
 * summaries and the paper's numbers. The building blocks come from the folders below
 * (train, distill, fabrication, estimate); nothing below imports from here.
 */
export * from "./stats";
export * from "./datasets";
export * from "./presets";
export * from "./architectures";
export * from "./model-files";
export * from "./distillation";
export * from "./frontend-table";
export * from "./fabrication";
export * from "./height-error-sweep";
export * from "./progress";
export * from "./estimate-progress";
export * from "./estimate-cache";
export * from "./workers";
export * from "./paper";
export * from "./report";
export * from "./ntk-agreement";
export * from "./segmentation-study";
export * from "./segmentation-fabrication";
export * from "./segmentation-report";
export * from "./estimation";
export * from "./mode-notice";
export * from "./estimation-tables";
export * from "./teacher-report";
export * from "./gain-map";
export * from "./random-kernel-training";
export * from "./paired-difference";
