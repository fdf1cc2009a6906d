// Public API of the training area: the one loop and its task adapters, objectives, optimizers, metrics, checkpoints.
export * from "./api";
export * from "./checkpoint";
export * from "./loop";
export * from "./task";
export * from "./metrics";
export * from "./confusion";
export * from "./objectives";
export * from "./optimizers";
export * from "./segmentation";
export * from "./segmentation-metrics";
export * from "./features";
