/**
 * Optical elements as composable modules. Each element maps a field to a new field
 * (`apply`, differentiable, does not dispose its input), records guard-rail warnings about
 * its regime (`warnings`), and draws itself as a vega-lite heatmap (`draw`).
 *
 * Elements: FreeSpace (angular spectrum or Fresnel), ThinLens, CircularAperture,
 * RectangularAperture, PhaseMask (a phase in radians, wavelength-independent) and
 * Metasurface (a height profile whose phase depends on wavelength and index).
 */
import { tf } from "../runtime/tf";
import type { VegaLiteSpec } from "../viz/types";
import { cmul, cmulReal, expi, type ComplexTensor, ctidy } from "./complex";
import { arrayToGrid, drawTensors } from "./draw";
import { evaluateOnGrid, fieldSize, makeField, type OpticalField } from "./field";
import { heatmapChart } from "../viz/charts";
import { heightsToPhase, indexAt, type RefractiveIndex } from "./metasurface";
import { checkPropagationRegime, propagate, transferFunction, type PropagationMethod } from "./propagation";
import { formatLength, GREEN_WAVELENGTH_M, requireFinite, requireInteger, requirePositive } from "./units";
import { phaseSamplingProblem } from "./sampling";
import { OpticsWarnings } from "./warnings";

/** The grid an element draws itself on when it has no grid of its own. */
export interface DrawGrid {
  /** Samples per side (default 128). */
  size?: number;
  /** Sampling pitch, metres (default 2 µm). */
  pitchM?: number;
  /** Wavelength, metres (default 532 nm). */
  wavelengthM?: number;
}

/** An optical element. */
export interface OpticalElement {
  /** Human-readable name with its key parameter, e.g. "ThinLens(f = 1 mm)". */
  readonly label: string;
  /** Guard-rail findings recorded while applying the element. */
  readonly warnings: OpticsWarnings;
  /** The field after the element; differentiable; the input is not disposed. */
  apply(field: OpticalField): OpticalField;
  /** A vega-lite heatmap of what the element does. */
  draw(grid?: DrawGrid): VegaLiteSpec;
}

function drawGridOf(g: DrawGrid | undefined): Required<DrawGrid> {
  return { size: g?.size ?? 128, pitchM: g?.pitchM ?? 2e-6, wavelengthM: g?.wavelengthM ?? GREEN_WAVELENGTH_M };
}

const hostMaskCache = new Map<string, Float64Array>();

function cachedGrid(key: string, h: number, w: number, pitchM: number, f: (x: number, y: number) => number): Float64Array {
  const k = `${key}|${h}|${w}|${pitchM}`;
  let v = hostMaskCache.get(k);
  if (!v) {
    v = evaluateOnGrid(h, w, pitchM, f);
    hostMaskCache.set(k, v);
    if (hostMaskCache.size > 256) hostMaskCache.delete(hostMaskCache.keys().next().value as string);
  }
  return v;
}

/** Area fraction of the pixel centred at (x, y) inside `inside`, by 4×4 supersampling. */
function coverage(x: number, y: number, pitchM: number, inside: (x: number, y: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (inside(x + ((i + 0.5) / 4 - 0.5) * pitchM, y + ((j + 0.5) / 4 - 0.5) * pitchM)) n++;
  return n / 16;
}

function applyAmplitude(field: OpticalField, amplitude: Float64Array): OpticalField {
  const { height, width } = fieldSize(field);
  const parts = ctidy(() => cmulReal(field, tf.tensor2d(Float32Array.from(amplitude), [height, width])));
  return makeField(parts, field.pitchM, field.wavelengthM);
}

function applyPhase(field: OpticalField, phaseRad: Float64Array): OpticalField {
  const { height, width } = fieldSize(field);
  const re = new Float32Array(phaseRad.length);
  const im = new Float32Array(phaseRad.length);
  for (let i = 0; i < phaseRad.length; i++) {
    re[i] = Math.cos(phaseRad[i]);
    im[i] = Math.sin(phaseRad[i]);
  }
  const parts = ctidy(() => cmul(field, { re: tf.tensor2d(re, [height, width]), im: tf.tensor2d(im, [height, width]) }));
  return makeField(parts, field.pitchM, field.wavelengthM);
}

/** Throws unless every value of `t` is finite; names `where`, `name` and the first bad index. */
function requireFiniteValues(where: string, name: string, t: tf.Tensor): void {
  const v = t.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new Error(`${where}: ${name} must be finite everywhere, got ${v[i]} at flat index ${i} of shape [${t.shape}]`);
  }
}

/**
 * Records an undersampling warning when the (unwrapped or wrapped) phase profile steps by more
 * than π between neighbouring pixels; see ./sampling for how the two kinds are told apart.
 */
function warnIfPhaseUndersampled(
  warnings: OpticsWarnings, label: string, phaseRad: ArrayLike<number>, height: number, width: number, pitchM: number, wavelengthM: number, periodRad?: number,
): void {
  const problem = phaseSamplingProblem(label, phaseRad, height, width, pitchM, periodRad);
  if (problem === null) return;
  const what = problem.unwrapped
    ? `it changes by more than π between neighbouring ${formatLength(pitchM)} pixels on ${(100 * problem.fraction).toFixed(1)}% of the steps`
    : `the wrapped phase folds back (its apparent gradient reverses, the sign of a step above π per ${formatLength(pitchM)} pixel) on ${(100 * problem.fraction).toFixed(1)}% of the steps`;
  warnings.add("undersampling", label,
    `the phase is undersampled beyond radius ${formatLength(problem.firstRadiusM)} at ${formatLength(wavelengthM)}: ${what}, so light goes to aliased orders; ` +
    `use a finer pitch or a gentler profile (a lens phase of focal length f is sampled out to r = λ·f/(2·pitch))`);
}

/** Options of FreeSpace. */
export interface FreeSpaceOptions {
  /** Propagation distance, metres. */
  distanceM: number;
  /** "angular-spectrum" (default, band-limited) or "fresnel". */
  method?: PropagationMethod;
  /** Band-limit the angular spectrum (default true). */
  bandLimited?: boolean;
  /** Zero padding factor per axis (default 2). */
  paddingFactor?: number;
}

/** Free-space propagation over `distanceM`. */
export class FreeSpace implements OpticalElement {
  readonly warnings = new OpticsWarnings();
  readonly label: string;
  constructor(readonly options: FreeSpaceOptions) {
    requireFinite("FreeSpace", "distanceM", options.distanceM);
    this.label = `FreeSpace(${formatLength(options.distanceM)}, ${options.method ?? "angular-spectrum"})`;
  }
  apply(field: OpticalField): OpticalField {
    return propagate(field, { ...this.options, warnings: this.warnings });
  }
  /** Phase of the transfer function (zero frequency centred) and its band-limited support. */
  draw(grid?: DrawGrid): VegaLiteSpec {
    const g = drawGridOf(grid);
    const method = this.options.method ?? "angular-spectrum";
    const bandLimited = this.options.bandLimited ?? true;
    checkPropagationRegime(this.label, this.warnings, g.size, g.size, g.pitchM, g.wavelengthM, this.options.distanceM, method, bandLimited);
    const h = transferFunction(g.size, g.size, g.pitchM, g.wavelengthM, this.options.distanceM, method, bandLimited);
    const n = g.size;
    const phase = new Float64Array(n * n);
    const support = new Float64Array(n * n);
    const mid = Math.floor(n / 2);
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
      const src = ((r + n - mid) % n) * n + ((c + n - mid) % n);
      phase[r * n + c] = Math.atan2(h.im[src], h.re[src]);
      support[r * n + c] = Math.hypot(h.re[src], h.im[src]);
    }
    return heatmapChart([arrayToGrid(phase, n, n), arrayToGrid(support, n, n)], {
      title: `${this.label}: transfer function`, titles: ["phase (rad), centred spectrum", "|H| (band-limited support)"], independentColor: true,
    });
  }
}

/** Options of ThinLens. */
export interface ThinLensOptions {
  /** Focal length, metres (negative for a diverging lens). */
  focalLengthM: number;
  /** Optional clear aperture diameter, metres; light outside it is blocked. */
  apertureDiameterM?: number;
}

/** An ideal thin lens: phase −π(x² + y²)/(λ·f), optionally with a circular pupil. */
export class ThinLens implements OpticalElement {
  readonly warnings = new OpticsWarnings();
  readonly label: string;
  constructor(readonly options: ThinLensOptions) {
    requireFinite("ThinLens", "focalLengthM", options.focalLengthM);
    if (options.focalLengthM === 0) throw new Error("ThinLens: focalLengthM must be non-zero");
    if (options.apertureDiameterM !== undefined) requirePositive("ThinLens", "apertureDiameterM", options.apertureDiameterM);
    this.label = `ThinLens(f = ${formatLength(options.focalLengthM)})`;
  }
  /** The lens phase in radians on a grid (float64, row-major). */
  phaseOnGrid(height: number, width: number, pitchM: number, wavelengthM: number): Float64Array {
    const f = this.options.focalLengthM;
    return cachedGrid(`lens|${f}|${wavelengthM}`, height, width, pitchM, (x, y) => (-Math.PI * (x * x + y * y)) / (wavelengthM * f));
  }
  private checkSampling(height: number, width: number, pitchM: number, wavelengthM: number): void {
    // Local spatial frequency of the lens phase at radius r is r/(λ·f); it must stay below
    // the grid's Nyquist 1/(2·pitch), otherwise the Fresnel zones alias into ghost foci.
    const rGrid = (Math.hypot(height, width) / 2) * pitchM;
    const rMax = this.options.apertureDiameterM !== undefined ? Math.min(rGrid, this.options.apertureDiameterM / 2) : rGrid;
    const rLimit = (wavelengthM * Math.abs(this.options.focalLengthM)) / (2 * pitchM);
    if (rMax > rLimit) {
      this.warnings.add("undersampling", this.label,
        `the lens phase is undersampled beyond radius ${formatLength(rLimit)} (aperture reaches ${formatLength(rMax)}): ` +
        `Fresnel zones there are narrower than two ${formatLength(pitchM)} pixels; use a finer pitch, a longer focal length or a smaller aperture`);
    }
  }
  apply(field: OpticalField): OpticalField {
    const { height, width } = fieldSize(field, this.label);
    this.checkSampling(height, width, field.pitchM, field.wavelengthM);
    const phased = applyPhase(field, this.phaseOnGrid(height, width, field.pitchM, field.wavelengthM));
    if (this.options.apertureDiameterM === undefined) return phased;
    const out = new CircularAperture({ diameterM: this.options.apertureDiameterM }).apply(phased);
    phased.re.dispose();
    phased.im.dispose();
    return out;
  }
  draw(grid?: DrawGrid): VegaLiteSpec {
    const g = drawGridOf(grid);
    const phase = this.phaseOnGrid(g.size, g.size, g.pitchM, g.wavelengthM);
    const wrapped = phase.map((p) => p - 2 * Math.PI * Math.floor((p + Math.PI) / (2 * Math.PI)));
    return heatmapChart(arrayToGrid(wrapped, g.size, g.size), { title: `${this.label}: phase mod 2π at ${formatLength(g.wavelengthM)}`, diverging: true, colorTitle: "rad" });
  }
}

/** Options of CircularAperture. */
export interface CircularApertureOptions {
  /** Diameter, metres. */
  diameterM: number;
  /** Centre offset from the optical axis, metres (default [0, 0] as [xM, yM]). */
  centerM?: [number, number];
}

/** A circular opening; edge pixels transmit their covered area fraction. */
export class CircularAperture implements OpticalElement {
  readonly warnings = new OpticsWarnings();
  readonly label: string;
  constructor(readonly options: CircularApertureOptions) {
    requirePositive("CircularAperture", "diameterM", options.diameterM);
    this.label = `CircularAperture(D = ${formatLength(options.diameterM)})`;
  }
  transmission(height: number, width: number, pitchM: number): Float64Array {
    const r = this.options.diameterM / 2;
    const [cx, cy] = this.options.centerM ?? [0, 0];
    return cachedGrid(`circ|${r}|${cx}|${cy}`, height, width, pitchM, (x, y) => coverage(x, y, pitchM, (u, v) => (u - cx) ** 2 + (v - cy) ** 2 <= r * r));
  }
  apply(field: OpticalField): OpticalField {
    const { height, width } = fieldSize(field, this.label);
    if (this.options.diameterM > Math.min(height, width) * field.pitchM) {
      this.warnings.add("grid-extent", this.label, `the aperture (${formatLength(this.options.diameterM)}) is wider than the grid (${formatLength(Math.min(height, width) * field.pitchM)}); the grid edge clips it`);
    }
    return applyAmplitude(field, this.transmission(height, width, field.pitchM));
  }
  draw(grid?: DrawGrid): VegaLiteSpec {
    const g = drawGridOf(grid);
    return heatmapChart(arrayToGrid(this.transmission(g.size, g.size, g.pitchM), g.size, g.size), { title: `${this.label}: transmission`, scheme: "greys" });
  }
}

/** Options of RectangularAperture. */
export interface RectangularApertureOptions {
  /** Width along x, metres. */
  widthM: number;
  /** Height along y, metres. */
  heightM: number;
  /** Centre offset [xM, yM], metres (default [0, 0]). */
  centerM?: [number, number];
}

/** A rectangular opening; edge pixels transmit their covered area fraction. */
export class RectangularAperture implements OpticalElement {
  readonly warnings = new OpticsWarnings();
  readonly label: string;
  constructor(readonly options: RectangularApertureOptions) {
    requirePositive("RectangularAperture", "widthM", options.widthM);
    requirePositive("RectangularAperture", "heightM", options.heightM);
    this.label = `RectangularAperture(${formatLength(options.widthM)} x ${formatLength(options.heightM)})`;
  }
  transmission(height: number, width: number, pitchM: number): Float64Array {
    const { widthM, heightM } = this.options;
    const [cx, cy] = this.options.centerM ?? [0, 0];
    return cachedGrid(`rect|${widthM}|${heightM}|${cx}|${cy}`, height, width, pitchM,
      (x, y) => coverage(x, y, pitchM, (u, v) => Math.abs(u - cx) <= widthM / 2 && Math.abs(v - cy) <= heightM / 2));
  }
  apply(field: OpticalField): OpticalField {
    const { height, width } = fieldSize(field, this.label);
    return applyAmplitude(field, this.transmission(height, width, field.pitchM));
  }
  draw(grid?: DrawGrid): VegaLiteSpec {
    const g = drawGridOf(grid);
    return heatmapChart(arrayToGrid(this.transmission(g.size, g.size, g.pitchM), g.size, g.size), { title: `${this.label}: transmission`, scheme: "greys" });
  }
}

/** A phase-only mask given directly in radians ([H, W], may be a tf.Variable). */
export class PhaseMask implements OpticalElement {
  readonly warnings = new OpticsWarnings();
  readonly label = "PhaseMask";
  constructor(readonly phaseRad: tf.Tensor) {
    if (phaseRad.shape.length !== 2) throw new Error(`PhaseMask: phaseRad must have shape [H, W], got [${phaseRad.shape}]`);
    requireFiniteValues("PhaseMask", "phaseRad", phaseRad);
  }
  apply(field: OpticalField): OpticalField {
    const { height, width } = fieldSize(field, this.label);
    if (this.phaseRad.shape[0] !== height || this.phaseRad.shape[1] !== width) {
      throw new Error(`PhaseMask: phaseRad is [${this.phaseRad.shape}] but the field is ${height}x${width}`);
    }
    // Re-read each time: phaseRad may be a tf.Variable that training has changed (or made NaN).
    warnIfPhaseUndersampled(this.warnings, this.label, this.phaseRad.dataSync(), height, width, field.pitchM, field.wavelengthM);
    const parts = ctidy(() => cmul(field, expi(this.phaseRad)));
    return makeField(parts, field.pitchM, field.wavelengthM);
  }
  draw(): VegaLiteSpec {
    const wrapped = tf.tidy(() => tf.sub(this.phaseRad, tf.mul(tf.floor(tf.div(tf.add(this.phaseRad, Math.PI), 2 * Math.PI)), 2 * Math.PI)));
    const spec = drawTensors([wrapped], ["phase mod 2π"], { title: this.label, diverging: true, colorTitle: "rad" });
    wrapped.dispose();
    return spec;
  }
}

/** Options of Metasurface. */
export interface MetasurfaceOptions {
  /** Pillar/step heights in metres, shape [H, W] matching the field grid (may be a tf.Variable). */
  heightsM: tf.Tensor;
  /** Material index (constant or a function of wavelength for dispersion). */
  refractiveIndex: RefractiveIndex;
  /** Wrap period in metres (usually λ_design/(n − 1)); absent: heights used as given. */
  wrapHeightM?: number;
  /** Fabricable height levels per period (needs wrapHeightM); straight-through gradient. */
  quantizationLevels?: number;
}

/** A phase-only metasurface: φ(λ) = 2π·(n(λ) − 1)·h/λ, so one height map acts per colour. */
export class Metasurface implements OpticalElement {
  readonly warnings = new OpticsWarnings();
  readonly label: string;
  constructor(readonly options: MetasurfaceOptions) {
    if (options.heightsM.shape.length !== 2) throw new Error(`Metasurface: heightsM must have shape [H, W], got [${options.heightsM.shape}]`);
    if (options.quantizationLevels !== undefined) requireInteger("Metasurface", "quantizationLevels", options.quantizationLevels, 2);
    if (typeof options.refractiveIndex === "number") indexAt("Metasurface", options.refractiveIndex, GREEN_WAVELENGTH_M);
    requireFiniteValues("Metasurface", "heightsM", options.heightsM);
    this.label = `Metasurface(${options.heightsM.shape.join("x")}${options.quantizationLevels ? `, ${options.quantizationLevels} levels` : ""})`;
  }
  /** Phase (radians) of the fabricated heights at one wavelength. */
  phaseAt(wavelengthM: number): tf.Tensor {
    return heightsToPhase(this.options.heightsM, { ...this.options, wavelengthM });
  }
  apply(field: OpticalField): OpticalField {
    const { height, width } = fieldSize(field, this.label);
    const [h, w] = this.options.heightsM.shape;
    if (h !== height || w !== width) throw new Error(`Metasurface: heightsM is [${h}, ${w}] but the field is ${height}x${width}`);
    // The heights as given, before the element's own wrap: if they are an unwrapped design the
    // check is exact, and if they are already wrapped it looks at the zone widths instead.
    const toPhase = (2 * Math.PI * (indexAt(this.label, this.options.refractiveIndex, field.wavelengthM) - 1)) / field.wavelengthM;
    const designPhase = Float64Array.from(this.options.heightsM.dataSync(), (hM) => hM * toPhase);
    const periodRad = this.options.wrapHeightM === undefined ? undefined : this.options.wrapHeightM * toPhase;
    warnIfPhaseUndersampled(this.warnings, this.label, designPhase, height, width, field.pitchM, field.wavelengthM, periodRad);
    const parts = ctidy(() => cmul(field, expi(this.phaseAt(field.wavelengthM))));
    return makeField(parts, field.pitchM, field.wavelengthM);
  }
  /** The height map in micrometres. */
  draw(): VegaLiteSpec {
    const um = tf.tidy(() => tf.mul(this.options.heightsM, 1e6));
    const spec = drawTensors([um], ["height (µm)"], { title: this.label, colorTitle: "µm" });
    um.dispose();
    return spec;
  }
}

/**
 * Applies elements in order, disposing intermediate fields (never the input).
 */
export function applyElements(field: OpticalField, elements: readonly OpticalElement[]): OpticalField {
  let current = field;
  for (const el of elements) {
    const next = el.apply(current);
    if (current !== field) {
      current.re.dispose();
      current.im.dispose();
    }
    current = next;
  }
  if (current === field) return makeField({ re: tf.clone(field.re), im: tf.clone(field.im) }, field.pitchM, field.wavelengthM);
  return current;
}

/** Every warning recorded by a list of elements. */
export function collectWarnings(elements: readonly OpticalElement[]): string[] {
  return elements.flatMap((e) => e.warnings.toStrings());
}
