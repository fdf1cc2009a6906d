/**
 * The 4f system: lens (f) — Fourier plane mask — lens (f), coherent illumination.
 *
 * Each lens maps its front focal plane to the continuous Fourier transform
 * U(u) = (1/(iλf)) ∫ u(x)·exp(−2πi·x·u/(λf)) dx, sampled at the Fourier-plane pitch
 * λf/(N·pitch). With the centred grid convention this is fftshift(DFT(ifftshift(u)))·pitch²/(iλf).
 * Two lenses give −u(−x): the 4f images with inversion, so an all-pass mask returns the
 * flipped input. The mask multiplies the centred spectrum, so the system convolves the field
 * with the coherent PSF h = F⁻¹{mask}, and the camera records |u ⊛ h|² (not linear in the input
 * intensity; see optics-notes §1.1).
 */
import { tf } from "../runtime/tf";
import { cmap, cmul, type ComplexTensor, ctidy } from "./complex";
import { dft2d, fftshift2d, ifftshift2d } from "./dft";
import { fieldSize, makeField, type OpticalField } from "./field";
import { requirePositive } from "./units";

/** One lens transform from the front to the back focal plane (centred grids). */
export function lensFourierTransform(field: ComplexTensor, pitchM: number, wavelengthM: number, focalLengthM: number): ComplexTensor {
  return ctidy(() => {
    const spectrum = dft2d(cmap(field, ifftshift2d));
    const centred = cmap(spectrum, fftshift2d);
    const scale = (pitchM * pitchM) / (wavelengthM * focalLengthM);
    // × 1/i = −i: (a + ib)·(−i) = b − ia.
    return { re: tf.mul(centred.im, scale), im: tf.mul(centred.re, -scale) };
  });
}

/** Options of `fourFSystem`. */
export interface FourFOptions {
  /** Focal length of both lenses, metres. */
  focalLengthM: number;
  /**
   * Complex transmission of the Fourier-plane mask on the centred spectrum grid, shape [H, W] or
   * broadcastable against the field ([n, 1, H, W] against [1, B, H, W] etc.). Absent: all-pass.
   */
  mask?: ComplexTensor;
}

/** The Fourier-plane sampling pitch (metres) of a field: λ·f/(N·pitch) per axis, [y, x]. */
export function fourierPlanePitchM(field: OpticalField, focalLengthM: number): [number, number] {
  const { height, width } = fieldSize(field);
  const k = field.wavelengthM * focalLengthM;
  return [k / (height * field.pitchM), k / (width * field.pitchM)];
}

/**
 * Throws unless the mask's re and im have one shape whose last two axes are the field's H×W and
 * whose leading axes broadcast against the field's (numpy rules), so a mask built for another
 * grid fails here with both shapes named instead of as a tfjs broadcast error inside the DFT.
 */
function checkMaskShape(fieldShape: readonly number[], mask: ComplexTensor): void {
  const m = mask.re.shape;
  const mi = mask.im.shape;
  if (m.length !== mi.length || m.some((d, i) => d !== mi[i])) {
    throw new Error(`fourFSystem: mask.re [${m}] and mask.im [${mi}] must have the same shape`);
  }
  const [h, w] = fieldShape.slice(-2);
  const expected = `[${h}, ${w}] (the field's Fourier grid) or [..., ${h}, ${w}] broadcastable against the field [${fieldShape}]`;
  if (m.length < 2 || m[m.length - 2] !== h || m[m.length - 1] !== w) {
    throw new Error(`fourFSystem: mask has shape [${m}]; expected ${expected}`);
  }
  for (let i = 3; i <= Math.min(m.length, fieldShape.length); i++) {
    const a = m[m.length - i];
    const b = fieldShape[fieldShape.length - i];
    if (a !== b && a !== 1 && b !== 1) throw new Error(`fourFSystem: mask has shape [${m}]; expected ${expected}`);
  }
}

/** The output-plane field of a 4f system (same grid as the input). Differentiable. */
export function fourFSystem(field: OpticalField, o: FourFOptions): OpticalField {
  const f = requirePositive("fourFSystem", "focalLengthM", o.focalLengthM);
  fieldSize(field, "fourFSystem");
  if (o.mask) checkMaskShape(field.re.shape, o.mask);
  const [py, px] = fourierPlanePitchM(field, f);
  const parts = ctidy(() => {
    const spectrum = lensFourierTransform(field, field.pitchM, field.wavelengthM, f);
    const filtered = o.mask ? cmul(spectrum, o.mask) : spectrum;
    // The second lens transforms the Fourier plane, sampled at (py, px); for H = W this is
    // the same scale as the first lens, and in general the product is 1/(H·W) of two DFTs.
    return tf.tidy(() => {
      const back = dft2d(cmap(filtered, ifftshift2d));
      const centred = cmap(back, fftshift2d);
      const scale = (py * px) / (field.wavelengthM * f);
      return { re: tf.mul(centred.im, scale), im: tf.mul(centred.re, -scale) };
    });
  });
  return makeField(parts, field.pitchM, field.wavelengthM);
}
