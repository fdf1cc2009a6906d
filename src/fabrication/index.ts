export * from "./errors";
export * from "./warp";
export * from "./device";
export * from "./channel-slice";
export * from "./compensation";
export * from "./calibrate";
export * from "./psf-import";
