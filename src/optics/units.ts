/**
 * SI unit helpers and argument checks shared by every optical element.
 *
 * All lengths in this folder are metres and carry the unit in their name (`wavelengthM`,
 * `pixelPitchM`, `distanceM`). These constants exist so call sites read like the lab book:
 * `532 * NANOMETRE`, `4 * MICROMETRE`.
 */

export const METRE = 1;
export const MILLIMETRE = 1e-3;
export const MICROMETRE = 1e-6;
export const NANOMETRE = 1e-9;

/** Default wavelengths of a colour camera's R, G and B channels, in metres. */
export const RGB_WAVELENGTHS_M: readonly [number, number, number] = [640e-9, 530e-9, 450e-9];

/** The de-facto default single wavelength (a green 532 nm laser), in metres. */
export const GREEN_WAVELENGTH_M = 532e-9;

/** Throws unless `value` is a finite number > 0; the message names `where` and `name`. */
export function requirePositive(where: string, name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${where}: ${name} must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}

/** Throws unless `value` is a finite number >= 0. */
export function requireNonNegative(where: string, name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new Error(`${where}: ${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

/** Throws unless `value` is a finite number. */
export function requireFinite(where: string, name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`${where}: ${name} must be a finite number, got ${String(value)}`);
  }
  return value;
}

/** Throws unless `value` is an integer >= `min`. */
export function requireInteger(where: string, name: string, value: number, min = 1): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new Error(`${where}: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Throws unless `value` is one of `allowed`. */
export function requireOneOf<T extends string>(where: string, name: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new Error(`${where}: ${name} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Formats a length in metres with a readable unit, for warnings and chart titles. */
export function formatLength(metres: number): string {
  const a = Math.abs(metres);
  if (a === 0) return "0 m";
  if (a >= 1) return `${+metres.toPrecision(4)} m`;
  if (a >= 1e-3) return `${+(metres * 1e3).toPrecision(4)} mm`;
  if (a >= 1e-6) return `${+(metres * 1e6).toPrecision(4)} µm`;
  return `${+(metres * 1e9).toPrecision(4)} nm`;
}
