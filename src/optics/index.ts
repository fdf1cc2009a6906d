/**
 * Scalar wave optics with units, on tfjs tensors (every backend, gradients included): complex
 * fields as (re, im) pairs, the 2-D DFT as matmuls, angular-spectrum and Fresnel propagation,
 * elements (lenses, apertures, phase masks, metasurfaces with quantisation, 4f systems), PSFs,
 * the sensor (binning, shift, gain, noise, bit depth), the kernel layout of paper Eq. 1,
 * sampling warnings and drawing helpers. Trainable optical layers built on this live in src/models/frontends;
 * fabrication errors in src/fabrication.
 */
export * from "./units";
export * from "./complex";
export * from "./dft";
export * from "./field";
export * from "./propagation";
export * from "./quantize";
export * from "./metasurface";
export * from "./elements";
export * from "./sensor";
export * from "./psf";
export * from "./fourf";
export * from "./warnings";
export * from "./sampling";
export * from "./layout";
export { tensorToGrid, arrayToGrid, drawTensors, stackCharts } from "./draw";
