export * from "./runtime/index";
export * from "./notebook/index";
export * from "./data/index";
