/**
 * The GDSII 8-byte real: a sign bit, a 7-bit exponent of 16 in excess 64, and a 56-bit mantissa
 * fraction M with 1/16 ≤ M/2^56 < 1, so value = ±(M/2^56)·16^(E − 64). A float64 has 53
 * significant bits, and the hex normalisation leaves at most 3 leading zero bits of the 56, so
 * every normal float64 in range converts exactly; the code works on the exact integer mantissa
 * (BigInt) instead of float products, which would round twice. UNITS records use it.
 */

const TWO_52 = 2n ** 52n;

/** The 8 bytes encoding `value`; throws when it is outside GDSII's range (about 16^±64). */
export function encodeGdsReal8(value: number): Uint8Array {
  if (!Number.isFinite(value)) throw new Error(`encodeGdsReal8: value must be finite, got ${value}`);
  const out = new Uint8Array(8);
  if (value === 0) return out;
  // Exact decomposition |value| = m·2^e with m a 53-bit integer (subnormals are out of range anyway).
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(value));
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  if (biased === 0) throw new Error(`encodeGdsReal8: ${value} is too small for a GDSII real`);
  const m = (bits & (TWO_52 - 1n)) | TWO_52;
  const e = biased - 1075; // |value| = m · 2^e, 2^52 ≤ m < 2^53
  // value = M·2^(4(E−64) − 56): choose the hex exponent x = E − 64 with 2^52 ≤ M < 2^56.
  // M = m·2^(e + 56 − 4x); with s = e + 56 − 4x in [0, 3] M lands in [2^52, 2^56).
  const x = Math.floor((e + 56) / 4);
  const s = e + 56 - 4 * x;
  const exponent = x + 64;
  if (exponent < 0 || exponent > 127) throw new Error(`encodeGdsReal8: ${value} is outside the GDSII real range (16^-64 to 16^63)`);
  const mantissa = m << BigInt(s);
  out[0] = (value < 0 ? 0x80 : 0) | exponent;
  for (let i = 7; i >= 1; i--) out[i] = Number((mantissa >> BigInt(8 * (7 - i))) & 0xffn);
  return out;
}

/** The number encoded by 8 GDSII real bytes (rounded to the nearest float64). */
export function decodeGdsReal8(bytes: Uint8Array): number {
  if (bytes.length !== 8) throw new Error(`decodeGdsReal8: expected 8 bytes, got ${bytes.length}`);
  let mantissa = 0n;
  for (let i = 1; i < 8; i++) mantissa = (mantissa << 8n) | BigInt(bytes[i]);
  if (mantissa === 0n) return 0;
  const sign = bytes[0] & 0x80 ? -1 : 1;
  const exponent = (bytes[0] & 0x7f) - 64;
  // Number(BigInt) rounds the 56-bit integer once; the power of two is exact.
  return sign * Number(mantissa) * 2 ** (4 * exponent - 56);
}
