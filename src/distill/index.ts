export * from "./losses";
export * from "./ntk";
export * from "./ntkd";
