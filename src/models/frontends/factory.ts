/** One entry point for building any frontend by name. */
import { IdealConvFrontend, type IdealConvFrontendArgs } from "./ideal";
import { PsfConvFrontend, type PsfConvFrontendArgs } from "./psf-conv";
import { MetasurfaceFrontend, type MetasurfaceFrontendArgs } from "./metasurface-frontend";
import { FourierFrontend, type FourierFrontendArgs } from "./fourier";

/** The frontend kinds. */
export type FrontendKind = "ideal" | "psf" | "metasurface" | "fourier";

/** The frontend kinds, for loops and CLI choices. */
export const FRONTEND_KINDS: readonly FrontendKind[] = ["ideal", "psf", "metasurface", "fourier"];

/** Args per kind. */
export interface FrontendArgsByKind {
  ideal: IdealConvFrontendArgs;
  psf: PsfConvFrontendArgs;
  metasurface: MetasurfaceFrontendArgs;
  fourier: FourierFrontendArgs;
}

/** Any frontend layer. */
export type FrontendLayerOf<K extends FrontendKind> = K extends "ideal" ? IdealConvFrontend
  : K extends "psf" ? PsfConvFrontend : K extends "metasurface" ? MetasurfaceFrontend : FourierFrontend;

/** Builds a frontend layer of the given kind. */
export function createFrontend<K extends FrontendKind>(kind: K, args: FrontendArgsByKind[K]): FrontendLayerOf<K> {
  switch (kind) {
    case "ideal": return new IdealConvFrontend(args as IdealConvFrontendArgs) as FrontendLayerOf<K>;
    case "psf": return new PsfConvFrontend(args as PsfConvFrontendArgs) as FrontendLayerOf<K>;
    case "metasurface": return new MetasurfaceFrontend(args as MetasurfaceFrontendArgs) as FrontendLayerOf<K>;
    case "fourier": return new FourierFrontend(args as FourierFrontendArgs) as FrontendLayerOf<K>;
    default: throw new Error(`createFrontend: kind must be one of ${FRONTEND_KINDS.map((k) => `"${k}"`).join(", ")}, got ${JSON.stringify(kind)}`);
  }
}
