/**
 * Export of designed optics for fabrication: a metasurface frontend's height map (metres, its
 * pixel pitch, N height levels, the kernel layout of paper Eq. 1) as NPY, 16-bit PNG, CSV or
 * GDSII (one layer per level, our own stream writer), with a JSON sidecar; a PSF frontend's
 * PSFs as NPY or CSV. Small single-purpose modules: npy, png16, gdsii(-real), heightmap,
 * gds-layout, design-record (how a checkpoint names its frontend), export-design; and what the
 * hybrid costs per image: MACs of the optics, the backend and the teacher (macs) and their energy
 * from cited per-operation figures (energy).
 */
export * from "./npy";
export * from "./png16";
export * from "./gdsii-real";
export * from "./gdsii";
export * from "./heightmap";
export * from "./gds-layout";
export * from "./design-record";
export * from "./export-design";
export * from "./macs";
export * from "./energy";
