// Public API of the segmentation area: the U-Net teacher, the segmentation ONN, and their training.
export * from "./unet";
export * from "./segmentation-onn";
export * from "../../train/segmentation";
export * from "../../train/segmentation-experiment";
