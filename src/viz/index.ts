export * from "./types";
export * from "./render";
export * from "./png";
export * from "./charts";
export * from "./embedding";
