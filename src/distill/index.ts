export * from "./losses";
export * from "./segmentation-losses";
export * from "./ntk";
export * from "./ntkd";
export * from "./teacher-cache";
export * from "./kernel-alignment";
export * from "./relational";
