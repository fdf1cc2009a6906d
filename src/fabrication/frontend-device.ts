/**
 * One fabricated device for any physical frontend, with its errors where that frontend is made:
 * - a PSF frontend (`PsfFrontend`, learned intensity PSFs) gets the PSF-level error δ of
 *   {@link FabricationErrors} (`FabricatedDevice.fromFrontend`);
 * - a metasurface (`MetasurfaceFrontend`) gets height errors, propagated to its PSFs by the wave
 *   optics ({@link MetasurfaceErrors}, `fabricateMetasurface`), and δ on top only if asked for;
 * - a 4f system (`FourierFrontend`) gets amplitude, phase and offset errors of its Fourier masks
 *   ({@link FourierMaskErrors}, `fabricateFourier`); δ does not apply to it.
 * Every device then has the sensor errors of {@link FabricationErrors} (gain α, misalignment β,
 * noise ε, bit depth). An ideal digital convolution is not optics and cannot be fabricated.
 */
import { FourierFrontend } from "../models/frontends/fourier";
import { MetasurfaceFrontend } from "../models/frontends/metasurface-frontend";
import type { OpticalFrontend } from "../models/frontends/optical-frontend";
import { FabricatedDevice } from "./device";
import type { FabricationErrors } from "./errors";
import { fabricateFourier, type FourierMaskErrors } from "./fourier-errors";
import { fabricateMetasurface, type MetasurfaceErrors } from "./metasurface-errors";

/** The errors of one device: the sensor's and δ ({@link FabricationErrors}), and its optics' own. */
export interface DeviceErrors extends FabricationErrors {
  /** Height-level errors; for a `MetasurfaceFrontend` only (default: none). */
  metasurface?: MetasurfaceErrors;
  /** Mask-level errors; for a `FourierFrontend` only (default: none). */
  fourier?: FourierMaskErrors;
}

/** Options of {@link fabricateFrontend}. */
export interface FabricateFrontendOptions {
  /** Image height the device senses: a 4f device simulates its Fourier plane for it (default 28). */
  height?: number;
  /** Image width the device senses (default 28). */
  width?: number;
}

/** Which kind of optics a frontend is, as its errors are chosen by it. */
export type FabricatedOptics = "psf" | "metasurface" | "fourier";

/** The kind of optics of `frontend` (see the module comment); an unfabricable frontend throws. */
export function fabricatedOpticsOf(frontend: OpticalFrontend): FabricatedOptics {
  if (frontend instanceof FourierFrontend) return "fourier";
  if (frontend instanceof MetasurfaceFrontend) return "metasurface";
  if (frontend.energyRule === "signed") {
    throw new Error("fabricateFrontend: the frontend has signed kernels (an ideal digital convolution); only optics can be fabricated (psf, metasurface, fourier)");
  }
  return "psf";
}

/**
 * The fabricated device of `frontend` (see the module comment). An optics error given for
 * another kind of frontend is an error, not ignored.
 */
export function fabricateFrontend(frontend: OpticalFrontend, errors: DeviceErrors = {}, opts: FabricateFrontendOptions = {}): FabricatedDevice {
  const optics = fabricatedOpticsOf(frontend);
  const { metasurface, fourier, ...sensor } = errors;
  if (metasurface !== undefined && optics !== "metasurface") throw new Error(`fabricateFrontend: DeviceErrors.metasurface applies to a MetasurfaceFrontend; this frontend is ${optics}`);
  if (fourier !== undefined && optics !== "fourier") throw new Error(`fabricateFrontend: DeviceErrors.fourier applies to a FourierFrontend; this frontend is ${optics}`);
  if (optics === "fourier") return fabricateFourier(frontend as FourierFrontend, fourier, sensor, opts);
  if (optics === "metasurface") return fabricateMetasurface(frontend, metasurface, sensor);
  return FabricatedDevice.fromFrontend(frontend, sensor);
}

/**
 * `errors` for one of several devices: the sensor seed and each optics error's seed move by
 * `offset`, so every device of a study draws its own δ, noise, heights or masks.
 */
export function offsetDeviceSeeds(errors: DeviceErrors, offset: number): DeviceErrors {
  const moved: DeviceErrors = { ...errors, seed: (errors.seed ?? 0) + offset };
  if (errors.metasurface) moved.metasurface = { ...errors.metasurface, seed: (errors.metasurface.seed ?? 0) + offset };
  if (errors.fourier) moved.fourier = { ...errors.fourier, seed: (errors.fourier.seed ?? 0) + offset };
  return moved;
}
