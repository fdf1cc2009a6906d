// Public API of the segmentation models: the U-Net teacher and the segmentation ONN (their training is in train/segmentation).
export * from "./unet";
export * from "./segmentation-onn";
