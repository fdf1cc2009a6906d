export * from "./runtime/index";
