/**
 * Energy per image from MAC counts and documented per-operation figures (paper §4.3): the
 * digital compute (MACs × energy of one multiply and one add) and the sensor readout (pixels
 * read × energy per pixel). The optics' MACs cost no electrical energy: a passive metasurface
 * computes with the scene's own light.
 *
 * The arithmetic figures are the 45 nm, 0.9 V operation energies of M. Horowitz, "Computing's
 * energy problem (and what we can do about it)", IEEE ISSCC 2014, pp. 10–14 (its table of
 * operation energies). They count the arithmetic alone: fetching operands from SRAM (about
 * 10 pJ per 64-bit read of an 8 KB array in the same table) or DRAM (1.3–2.6 nJ) costs more,
 * so these are lower bounds on a real accelerator's energy per MAC.
 */

/** The energy of one multiply-accumulate in one number format, with its source. */
export interface MacEnergyFigure {
  /** Short name, e.g. "float32". */
  format: string;
  /** Energy of one multiply, picojoules. */
  multiplyPj: number;
  /** Energy of one add, picojoules. */
  addPj: number;
  /** Where the numbers come from. */
  source: string;
}

const HOROWITZ_2014 = "Horowitz, \"Computing's energy problem (and what we can do about it)\", ISSCC 2014, 45 nm at 0.9 V";

/** Per-operation energies at 45 nm (Horowitz, ISSCC 2014; see the module comment). */
export const MAC_ENERGY_45NM = {
  /** 32-bit float: multiply 3.7 pJ, add 0.9 pJ. */
  float32: { format: "float32", multiplyPj: 3.7, addPj: 0.9, source: HOROWITZ_2014 },
  /** 16-bit float: multiply 1.1 pJ, add 0.4 pJ. */
  float16: { format: "float16", multiplyPj: 1.1, addPj: 0.4, source: HOROWITZ_2014 },
  /** 32-bit integer: multiply 3.1 pJ, add 0.1 pJ. */
  int32: { format: "int32", multiplyPj: 3.1, addPj: 0.1, source: HOROWITZ_2014 },
  /** 8-bit integer: multiply 0.2 pJ, add 0.03 pJ. */
  int8: { format: "int8", multiplyPj: 0.2, addPj: 0.03, source: HOROWITZ_2014 },
} as const satisfies Record<string, MacEnergyFigure>;

/** Energy of one MAC (one multiply + one add), picojoules. */
export function picojoulesPerMac(figure: MacEnergyFigure): number {
  return figure.multiplyPj + figure.addPj;
}

/** The energy of reading one sensor pixel, with its source. */
export interface ReadoutEnergyFigure {
  /** Energy per pixel per frame, picojoules. */
  pjPerPixel: number;
  /** Where the number comes from. */
  source: string;
}

/**
 * Whole-sensor energy per pixel per frame of a low-power CMOS image sensor: J. Choi, S. Lee,
 * Y. Son, S. Y. Kim, "Design of an always-on image sensor using an analog lightweight
 * convolutional neural network", Sensors 20(11):3101, 2020: 160×120 pixels at 120 frames/s for
 * 1.12 mW in total, i.e. 1.12 mW / (120 s⁻¹ · 19,200 pixels) ≈ 486 pJ per pixel. Its total
 * includes the sensor's analog processing, so as a readout figure it errs high; commercial
 * sensors at low resolution spend more per pixel (LiKamWa et al., MobiSys 2013, find energy per
 * pixel rising as resolution and frame rate fall).
 */
export const SENSOR_READOUT_CHOI_2020: ReadoutEnergyFigure = {
  pjPerPixel: 1.12e-3 / (120 * 160 * 120) * 1e12,
  source: "Choi et al., Sensors 20(11):3101, 2020: 1.12 mW for 160x120 pixels at 120 frames/s",
};

/** What one image costs a system, for {@link energyPerImage}. */
export interface ImageWorkload {
  /** MACs done by the optics (reported, free). */
  opticalMacs: number;
  /** MACs done by digital electronics. */
  electronicMacs: number;
  /** Sensor pixels read per image (one per photosite: kernels × colours × H' × W' for a hybrid). */
  readoutPixels: number;
}

/** Energy per image, joules. */
export interface ImageEnergy {
  /** Digital compute: electronic MACs × energy per MAC. */
  computeJ: number;
  /** Sensor readout: pixels × energy per pixel. */
  readoutJ: number;
  /** computeJ + readoutJ. */
  totalJ: number;
}

/** The energy of one image: electronic MACs at `mac`'s figure plus readout at `readout`'s (optical MACs free). */
export function energyPerImage(work: ImageWorkload, mac: MacEnergyFigure | number, readout: ReadoutEnergyFigure = SENSOR_READOUT_CHOI_2020): ImageEnergy {
  for (const key of ["opticalMacs", "electronicMacs", "readoutPixels"] as const) {
    if (!Number.isFinite(work[key]) || work[key] < 0) throw new Error(`energyPerImage: ${key} must be a finite number >= 0, got ${work[key]}`);
  }
  const pjPerMac = typeof mac === "number" ? mac : picojoulesPerMac(mac);
  if (!Number.isFinite(pjPerMac) || pjPerMac < 0) throw new Error(`energyPerImage: the energy per MAC must be a finite number of pJ >= 0, got ${pjPerMac}`);
  if (!Number.isFinite(readout.pjPerPixel) || readout.pjPerPixel < 0) throw new Error(`energyPerImage: readout.pjPerPixel must be a finite number >= 0, got ${readout.pjPerPixel}`);
  const computeJ = work.electronicMacs * pjPerMac * 1e-12;
  const readoutJ = work.readoutPixels * readout.pjPerPixel * 1e-12;
  return { computeJ, readoutJ, totalJ: computeJ + readoutJ };
}

/** An energy in the largest unit that keeps it ≥ 1 (J, mJ, µJ, nJ, pJ), three significant digits. */
export function formatEnergy(joules: number): string {
  if (!Number.isFinite(joules)) return String(joules);
  if (joules === 0) return "0 J";
  const units: [number, string][] = [[1, "J"], [1e-3, "mJ"], [1e-6, "µJ"], [1e-9, "nJ"], [1e-12, "pJ"]];
  const [scale, unit] = units.find(([s]) => Math.abs(joules) >= s) ?? units[units.length - 1];
  return `${(joules / scale).toPrecision(3)} ${unit}`;
}

/** A MAC count with a k/M/G suffix, three significant digits. */
export function formatMacs(macs: number): string {
  if (!Number.isFinite(macs)) return String(macs);
  const units: [number, string][] = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
  const hit = units.find(([s]) => Math.abs(macs) >= s);
  return hit ? `${(macs / hit[0]).toPrecision(3)} ${hit[1]}MACs` : `${macs} MACs`;
}
