/**
 * After fabrication (paper §3.3): the error model of paper Eq. 10 (PSF error δ, gain α,
 * misalignment β as shift and rotation, sensor noise ε, bit depth), a seeded `FabricatedDevice`
 * built from any optical frontend (classification and segmentation alike), measured PSFs
 * imported from files, metasurface-level errors (height error, levels, minimum feature, lateral
 * offset) propagated to PSFs by the wave optics, calibration of gain and misalignment from
 * captures, and `compensate`, which freezes the optics and fine-tunes the digital backend end to end or with NTKD.
 */
export * from "./errors";
export * from "./warp";
export * from "./device";
export * from "./channel-slice";
export * from "./compensation";
export * from "./calibrate";
export * from "./psf-import";
export * from "./metasurface-errors";
export * from "./fourier-errors";
export * from "./frontend-device";
