/** The teacher and student architectures each data set uses (paper Table 2). */
import type { LayersModel } from "@tensorflow/tfjs";
import { buildLeNet5 } from "../models/teachers/lenet";
import { buildAlexNetSmall } from "../models/teachers/alexnet";
import { buildCompressedMetaOnn, buildPolychromaticMetaOnn } from "../models/students";
import type { OpticalStudent } from "../models/optical-student";
import type { ImageDataset } from "../data/types";

function shapeOf(ds: ImageDataset): [number, number, number] {
  return [ds.height, ds.width, ds.channels];
}

/** LeNet-5 for grey images (MNIST, Fashion-MNIST), the AlexNet-style net for RGB (CIFAR-10). */
export function buildTeacherFor(ds: ImageDataset, seed: number): LayersModel {
  const inputShape = shapeOf(ds);
  const numClasses = ds.classNames.length;
  return ds.channels === 1 ? buildLeNet5({ inputShape, numClasses, seed }) : buildAlexNetSmall({ inputShape, numClasses, seed });
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
