/** The teacher and student architectures each data set uses (paper Table 2). */
import type { LayersModel } from "@tensorflow/tfjs";
import { buildLeNet5 } from "../models/teachers/lenet";
import { buildAlexNetSmall } from "../models/teachers/alexnet";
import { buildCompressedMetaOnn, buildPolychromaticMetaOnn, defaultPsfFrontend } from "../models/students";
import { createFrontend, FRONTEND_KINDS, type FrontendKind } from "../models/frontends/factory";
import type { OpticalFrontendLayer } from "../models/frontends/common";
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

/** Student options a study may vary (the kernel count for the width sweeps, the optical layer). */
export interface StudentShape {
  /** Optical kernels (default: the paper's 8 for grey, 16 for RGB). */
  kernels?: number;
  /** Side of the optical kernels in sensor pixels (default: the paper's 7). */
  kernelSize?: number;
  /** The optical layer (default "psf"); see `DistillationPreset.frontend`. */
  frontend?: FrontendKind;
}

/** Side of the paper's optical kernels in sensor pixels, grey and RGB alike. */
export const PAPER_KERNEL_SIZE = 7;

/** The paper's kernel count and size for a data set's images: 8 grey or 16 RGB kernels of 7x7. */
function paperKernels(ds: ImageDataset): { kernels: number; kernelSize: number } {
  return { kernels: ds.channels === 1 ? 8 : 16, kernelSize: PAPER_KERNEL_SIZE };
}

/**
 * The optical layer of a given kind at the paper's kernel count and size, with that kind's
 * physical defaults: `PsfConvFrontend` (non-negative unit-energy PSFs; RGB summed on a monochrome
 * sensor), `MetasurfaceFrontend` (heights, 532 nm grey or 640/530/450 nm RGB, 2 µm cells, 0.5 mm
 * to a 4 µm-pitch sensor), `FourierFrontend` (4f, f = 10 mm, 532 nm, 8 µm SLM pitch) or
 * `IdealConvFrontend` (a signed digital conv).
 */
export function studentFrontendFor(ds: ImageDataset, seed: number, shape: StudentShape = {}): OpticalFrontendLayer {
  const kind = shape.frontend ?? "psf";
  if (!FRONTEND_KINDS.includes(kind)) throw new Error(`frontend: expected one of ${FRONTEND_KINDS.join(", ")}, got ${JSON.stringify(kind)}`);
  const paper = paperKernels(ds);
  const base = { kernels: shape.kernels ?? paper.kernels, kernelSize: shape.kernelSize ?? paper.kernelSize, inputChannels: ds.channels, seed };
  if (kind === "psf") return defaultPsfFrontend({ ...base, colorMode: ds.channels === 1 ? undefined : "sum" });
  return createFrontend(kind, base);
}

/** The Compressed Meta ONN for grey images, the Polychromatic Meta ONN for RGB, on the chosen optical layer. */
export function buildStudentFor(ds: ImageDataset, seed: number, shape: StudentShape = {}): OpticalStudent {
  const inputShape = shapeOf(ds);
  const numClasses = ds.classNames.length;
  const frontend = studentFrontendFor(ds, seed, shape);
  return ds.channels === 1
    ? buildCompressedMetaOnn({ inputShape, numClasses, seed, frontend })
    : buildPolychromaticMetaOnn({ inputShape, numClasses, seed, frontend });
}
