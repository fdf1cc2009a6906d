export * from "./runtime/index";
export * from "./notebook/index";
