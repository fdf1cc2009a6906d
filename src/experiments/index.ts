export * from "./stats";
export * from "./datasets";
export * from "./presets";
export * from "./architectures";
export * from "./model-files";
export * from "./distillation";
export * from "./fabrication";
export * from "./progress";
