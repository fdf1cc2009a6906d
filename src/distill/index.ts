export * from "./losses";
export * from "./ntk";
export * from "./ntkd";
export * from "./teacher-cache";
export * from "./kernel-alignment";
