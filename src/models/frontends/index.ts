export * from "./optical-frontend";
export type { FrontendBaseArgs } from "./common";
export { blockDiagonalFilter } from "./common";
export * from "./ideal";
export * from "./psf-conv";
export * from "./metasurface-frontend";
export * from "./fourier";
export * from "./factory";
export * from "./conv2d-adapter";
