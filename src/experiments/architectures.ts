/** The teacher and student architectures each data set uses (paper Table 2). */
import type { LayersModel } from "@tensorflow/tfjs";
import { buildLeNet5 } from "../models/teachers/lenet";
import { buildAlexNetSmall } from "../models/teachers/alexnet";
import { buildCompressedMetaOnn, buildPolychromaticMetaOnn } from "../models/students";
import type { OpticalStudent } from "../models/optical-student";
import type { ImageDataset } from "../data/types";
import type { NotebookMode } from "../notebook/params";

/**
 * Width multiplier of the AlexNet-style CIFAR-10 teacher outside full mode. At full width it takes
 * 210-294 s an epoch on 3,000 images on wasm and ran past the notebook cell limit (issue 17);
 * at 0.25 it has about 1/16 of the multiply-accumulates and still beats the students.
 */
export const QUICK_ALEXNET_WIDTH = 0.25;

function shapeOf(ds: ImageDataset): [number, number, number] {
  return [ds.height, ds.width, ds.channels];
}

/**
 * LeNet-5 for grey images (MNIST, Fashion-MNIST), the AlexNet-style net for RGB (CIFAR-10): full
 * width in full mode, {@link QUICK_ALEXNET_WIDTH} otherwise. `mode` is required because a teacher
 * saved by one caller must be rebuilt with the same widths by every other caller to load.
 */
export function buildTeacherFor(ds: ImageDataset, seed: number, mode: NotebookMode): LayersModel {
  const inputShape = shapeOf(ds);
  const numClasses = ds.classNames.length;
  if (ds.channels === 1) return buildLeNet5({ inputShape, numClasses, seed });
  return buildAlexNetSmall({ inputShape, numClasses, seed, widthMultiplier: mode === "full" ? 1 : QUICK_ALEXNET_WIDTH });
}

/** Student options a study may vary (the kernel count for the width sweeps). */
export interface StudentShape {
  /** Optical kernels (default: the paper's 8 for grey, 16 for RGB). */
  kernels?: number;
}

/** The Compressed Meta ONN for grey images, the Polychromatic Meta ONN for RGB. */
export function buildStudentFor(ds: ImageDataset, seed: number, shape: StudentShape = {}): OpticalStudent {
  const inputShape = shapeOf(ds);
  const numClasses = ds.classNames.length;
  return ds.channels === 1
    ? buildCompressedMetaOnn({ inputShape, numClasses, seed, kernels: shape.kernels })
    : buildPolychromaticMetaOnn({ inputShape, numClasses, seed, kernels: shape.kernels });
}
