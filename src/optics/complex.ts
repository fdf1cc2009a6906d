/**
 * Complex tensors as (re, im) pairs of float32 tensors.
 *
 * Why pairs instead of tfjs complex64: the wasm backend has no Complex/Real/Imag/FFT kernels,
 * and complex gradients are unreliable in tfjs (tensorflow/tfjs#5668). With two real tensors
 * every op is an ordinary real op, so autodiff and every backend just work.
 */
import { tf } from "../runtime/tf";

/** A complex tensor stored as two float32 tensors of the same shape. */
export interface ComplexTensor {
  /** Real part. */
  re: tf.Tensor;
  /** Imaginary part. */
  im: tf.Tensor;
}

/** Builds a complex tensor, checking that both parts have the same shape. */
export function complex(re: tf.Tensor, im: tf.Tensor): ComplexTensor {
  if (re.shape.length !== im.shape.length || re.shape.some((d, i) => d !== im.shape[i])) {
    throw new Error(`complex: re shape [${re.shape}] and im shape [${im.shape}] differ`);
  }
  return { re, im };
}

/** (a + ib)(c + id). Either factor may broadcast against the other. */
export function cmul(a: ComplexTensor, b: ComplexTensor): ComplexTensor {
  return ctidy(() => ({
    re: tf.sub(tf.mul(a.re, b.re), tf.mul(a.im, b.im)),
    im: tf.add(tf.mul(a.re, b.im), tf.mul(a.im, b.re)),
  }));
}

/** A complex tensor times a real tensor or number (e.g. an amplitude mask). */
export function cmulReal(a: ComplexTensor, r: tf.Tensor | number): ComplexTensor {
  return { re: tf.mul(a.re, r), im: tf.mul(a.im, r) };
}

export function cadd(a: ComplexTensor, b: ComplexTensor): ComplexTensor {
  return { re: tf.add(a.re, b.re), im: tf.add(a.im, b.im) };
}

export function conj(a: ComplexTensor): ComplexTensor {
  return { re: a.re, im: tf.neg(a.im) };
}

/** exp(i·phase) for a real phase tensor in radians. */
export function expi(phaseRad: tf.Tensor): ComplexTensor {
  return { re: tf.cos(phaseRad), im: tf.sin(phaseRad) };
}

/** |a|² = re² + im², the intensity of a field. */
export function abs2(a: ComplexTensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.square(a.re), tf.square(a.im)));
}

/** Applies the same real-valued shape op (pad, slice, reshape, reverse...) to both parts. */
export function cmap(a: ComplexTensor, op: (t: tf.Tensor) => tf.Tensor): ComplexTensor {
  return { re: op(a.re), im: op(a.im) };
}

/** Disposes both parts. */
export function cdispose(a: ComplexTensor): void {
  a.re.dispose();
  a.im.dispose();
}

/**
 * Builds a constant complex tensor from host-side float64 phase and amplitude arrays.
 * Phases are evaluated with cos/sin in float64 before the cast to float32, so large phases
 * such as k·z = 2π·z/λ (10^4 rad and more) keep their accuracy.
 */
export function complexFromPolar(amplitude: ArrayLike<number> | null, phaseRad: ArrayLike<number>, shape: number[]): ComplexTensor {
  const n = phaseRad.length;
  const re = new Float32Array(n);
  const im = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = amplitude === null ? 1 : amplitude[i];
    re[i] = a * Math.cos(phaseRad[i]);
    im[i] = a * Math.sin(phaseRad[i]);
  }
  return { re: tf.tensor(re, shape, "float32"), im: tf.tensor(im, shape, "float32") };
}

/** tf.tidy for functions returning a complex tensor: keeps re and im, disposes the rest. */
export function ctidy(fn: () => ComplexTensor): ComplexTensor {
  const [re, im] = tf.tidy(() => {
    const r = fn();
    return [r.re, r.im];
  });
  return { re, im };
}
