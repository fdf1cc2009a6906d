export * from "./display";
export * from "./show";
export * from "../viz/index";
