/**
 * An in-memory image classification dataset.
 * Pixels are stored NHWC, row-major, as float32 in [0, 1] (before any normalisation).
 */
export interface ImageDataset {
  /** Short identifier such as "mnist", "fashion-mnist", "cifar10". */
  name: string;
  /** Pixel values, length = count * height * width * channels, NHWC order, in [0, 1]. */
  images: Float32Array;
  /** Class index per image, length = count. */
  labels: Uint8Array;
  /** Number of images. */
  count: number;
  height: number;
  width: number;
  /** 1 for grey-scale, 3 for RGB. */
  channels: number;
  /** Human-readable class names; its length is the number of classes. */
  classNames: readonly string[];
}

/** An in-memory binary segmentation dataset (object = 1, background = 0). */
export interface SegmentationDataset {
  name: string;
  /** NHWC float32 in [0, 1], length = count * height * width * channels. */
  images: Float32Array;
  /** One value per pixel, 0 or 1, length = count * height * width. */
  masks: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}
