/**
 * The paper's optical students (digest §7.1): one optical layer of non-negative PSF kernels
 * followed by a small digital backend. Any frontend layer can be swapped in through `frontend`
 * (ideal conv, PSF conv, metasurface, 4f); the default is the optics engineer's
 * `PsfConvFrontend` with softplus-parametrised, non-negative kernels and "same" padding.
 *
 * Choices the paper leaves open (§7.3), made here:
 * - "same" padding, stride 1, so the sensor image has the input's size, one channel per kernel.
 * - Average pooling (pixel binning on the sensor, linear and physical) before the first dense
 *   layer, sized to meet the paper's parameter budget.
 * - ReLU between the dense layers (the companion papers' digital backends are nonlinear).
 * - Compressed Meta ONN (MNIST, 28x28x1): 8 kernels 7x7 -> 4x4 binning -> 7·7·8 = 392 features
 *   -> 128 ReLU -> 10 logits: 392 + 392·128 + 128 + 128·10 + 10 = 52,050 parameters (~0.05 M).
 * - Polychromatic Meta ONN (CIFAR-10, 32x32x3): 16 RGB kernels 7x7 (each kernel sums its three
 *   colour responses on a monochrome sensor) -> 2x2 binning -> 16·16·16 = 4,096 features -> 384
 *   -> 192 -> 10: 2,352 + 1,573,248 + 73,920 + 1,930 = 1,651,450 parameters, matching the
 *   paper's "1.62M" if that number counts parameters (it may be megabytes; digest §7.1).
 */
import { OpticalStudent, assembleStudent, type FrontendLayer } from "./optical-student";
import { PsfConvFrontend } from "./frontends/psf-conv";

/** Arguments the default optical frontend is built from. */
export interface DefaultFrontendArgs {
  kernels: number;
  kernelSize: number;
  inputChannels: number;
  seed: number;
  /**
   * For RGB input: "sum" (a monochrome sensor adds the three colour responses of each kernel,
   * one output channel per kernel) or "depthwise" (a colour sensor, three channels per kernel).
   */
  colorMode?: "sum" | "depthwise";
}

/**
 * The default frontend: a `PsfConvFrontend` (non-negative softplus kernels, each PSF of unit
 * energy, no signed-kernel trick, "same" padding).
 */
export function defaultPsfFrontend(args: DefaultFrontendArgs): PsfConvFrontend {
  return new PsfConvFrontend({ ...args, parametrization: "softplus", signed: "none", padding: "same" });
}

/** Options of {@link buildCompressedMetaOnn}. */
export interface CompressedMetaOnnOptions {
  /** Optical layer to use; default {@link defaultPsfFrontend} with `kernels` × `kernelSize`². */
  frontend?: FrontendLayer;
  /** Number of optical kernels (default 8, the paper's). */
  kernels?: number;
  /** Side of each kernel in sensor pixels (default 7, the paper's). */
  kernelSize?: number;
  /** Width of the hidden dense layer (default 128; with 4x4 binning this lands at ~0.05 M). */
  hidden?: number;
  /** Side of the sensor binning window (default 4). */
  poolSize?: number;
  /** Input image shape (default [28, 28, 1], MNIST). */
  inputShape?: [number, number, number];
  /** Number of classes (default 10). */
  numClasses?: number;
  /** Seed of every initialiser (default 0). */
  seed?: number;
}

/** The Compressed Meta ONN student (MNIST): 8 non-negative 7x7 kernels + 2 dense layers. */
export function buildCompressedMetaOnn(opts: CompressedMetaOnnOptions = {}): OpticalStudent {
  const inputShape = opts.inputShape ?? [28, 28, 1];
  const seed = opts.seed ?? 0;
  const frontend =
    opts.frontend ?? defaultPsfFrontend({ kernels: opts.kernels ?? 8, kernelSize: opts.kernelSize ?? 7, inputChannels: inputShape[2], seed });
  return assembleStudent(
    frontend,
    { poolSize: opts.poolSize ?? 4, hidden: [opts.hidden ?? 128], numClasses: opts.numClasses ?? 10, seed: seed + 1, name: "compressed_backend" },
    inputShape,
    "compressed-meta-onn",
  );
}

/** Options of {@link buildPolychromaticMetaOnn}. */
export interface PolychromaticMetaOnnOptions {
  /** Optical layer to use; default {@link defaultPsfFrontend} with `kernels` RGB kernels. */
  frontend?: FrontendLayer;
  /** Number of optical kernels (default 16, the paper's). */
  kernels?: number;
  /** Side of each kernel (default 7). */
  kernelSize?: number;
  /** Widths of the two hidden dense layers (default [384, 192]). */
  hidden?: [number, number];
  /** Side of the sensor binning window (default 2). */
  poolSize?: number;
  /** Input image shape (default [32, 32, 3], CIFAR-10). */
  inputShape?: [number, number, number];
  /** Number of classes (default 10). */
  numClasses?: number;
  /** Seed of every initialiser (default 0). */
  seed?: number;
  /**
   * Normalisation of the binned sensor readout (default "per-image": without it the first Adam
   * steps on real CIFAR-10 send the loss from 2.6 to hundreds; see `DenseBackendOptions`).
   */
  sensorNormalisation?: "none" | "per-image";
}

/** The Polychromatic Meta ONN student (CIFAR-10): 16 RGB 7x7 kernels + 3 dense layers. */
export function buildPolychromaticMetaOnn(opts: PolychromaticMetaOnnOptions = {}): OpticalStudent {
  const inputShape = opts.inputShape ?? [32, 32, 3];
  const seed = opts.seed ?? 0;
  const frontend =
    opts.frontend ??
    defaultPsfFrontend({ kernels: opts.kernels ?? 16, kernelSize: opts.kernelSize ?? 7, inputChannels: inputShape[2], seed, colorMode: "sum" });
  return assembleStudent(
    frontend,
    {
      poolSize: opts.poolSize ?? 2, hidden: opts.hidden ?? [384, 192], numClasses: opts.numClasses ?? 10, seed: seed + 1, name: "polychromatic_backend",
      sensorNormalisation: opts.sensorNormalisation ?? "per-image",
    },
    inputShape,
    "polychromatic-meta-onn",
  );
}

export { OpticalStudent };
