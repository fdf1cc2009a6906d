/**
 * Guard rails: plain-words warnings about physics or sampling that make a simulation wrong.
 *
 * Every element and PSF routine checks its own regime and records what it finds here:
 *  - `undersampling`: a phase or intensity pattern changes faster than the grid can represent
 *    (a lens, phase mask or metasurface whose phase steps by more than π per pixel), or a sensor
 *    pixel smaller than the simulation cell;
 *  - `angular-spectrum-regime`: a propagation distance where the transfer function aliases or
 *    the band limit removes resolvable frequencies;
 *  - `fresnel-regime`: the Fresnel transfer function is undersampled (z too large for the grid).
 *    Both regime warnings quote the padded grid that removes them, and name the other method
 *    only when it is well sampled (where the angular spectrum fails, Fresnel needs ~2x more);
 *  - `psf-energy`: a PSF carries more than unit energy (a passive optic cannot amplify);
 *  - `tile-overlap` and `grid-extent`: geometry that does not fit.
 *
 * Warnings are collected in a list (`OpticsWarnings.list`); with `mode: "throw"` the first one
 * is raised as an Error instead, which tests and strict pipelines use. Hard impossibilities
 * (overlapping sensor tiles, a kernel larger than the metasurface, a window outside the grid)
 * are always Errors, never warnings.
 */

/** The kinds of guard-rail findings. */
export type OpticsWarningCode =
  | "undersampling"
  | "angular-spectrum-regime"
  | "fresnel-regime"
  | "psf-energy"
  | "tile-overlap"
  | "grid-extent";

/** One guard-rail finding. */
export interface OpticsWarning {
  /** Machine-readable kind. */
  code: OpticsWarningCode;
  /** Which element or function raised it, e.g. "FreeSpace(1 mm)". */
  source: string;
  /** What is wrong and what to do, in plain words. */
  message: string;
}

/** A collector of guard-rail warnings. */
export class OpticsWarnings {
  /** Every warning recorded so far, in order. */
  readonly list: OpticsWarning[] = [];
  private readonly seen = new Set<string>();

  /**
   * @param mode "collect" keeps warnings in `list`; "throw" raises the first as an Error.
   */
  constructor(readonly mode: "collect" | "throw" = "collect") {}

  /** Records a warning once (repeats of the same text are ignored). */
  add(code: OpticsWarningCode, source: string, message: string): void {
    const key = `${code}|${source}|${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.mode === "throw") throw new Error(`${source}: ${message}`);
    this.list.push({ code, source, message });
  }

  /** Whether any warning of `code` (or any at all) was recorded. */
  has(code?: OpticsWarningCode): boolean {
    return code === undefined ? this.list.length > 0 : this.list.some((w) => w.code === code);
  }

  /** The warnings as lines of text. */
  toStrings(): string[] {
    return this.list.map((w) => `[${w.code}] ${w.source}: ${w.message}`);
  }
}
