export * from "./api";
export { checkDataset, epochBatches, gatherBatch, holdOut } from "./batching";
export * from "./checkpoint";
export * from "./loop";
export * from "./metrics";
export * from "./objectives";
export * from "./optimizers";
export { deriveSeed, seededPermutation } from "./rng";
