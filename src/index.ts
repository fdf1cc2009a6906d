export * from "./runtime/index";
export * from "./notebook/index";
export * from "./data/index";
export * from "./models/index";
export * from "./distill/index";
export * from "./train/index";
export * from "./optics/index";
export * from "./models/frontends/index";
