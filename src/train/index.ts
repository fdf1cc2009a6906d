export * from "./api";
export * from "./batching";
export * from "./checkpoint";
export * from "./loop";
export * from "./metrics";
export * from "./objectives";
export * from "./optimizers";
export { deriveSeed, seededPermutation } from "./rng";
