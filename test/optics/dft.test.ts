import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { dft2d, idft2d, fftshift2d, ifftshift2d, dft1d } from "../../src/optics/dft";
import { TEST_BACKENDS, useBackend, maxAbsDiff, testRng, withoutLeaks } from "./backends";

const SHAPE = [2, 8, 12];
const rng = testRng(42);
const inputRe = Float32Array.from({ length: 2 * 8 * 12 }, () => rng() * 2 - 1);
const inputIm = Float32Array.from({ length: 2 * 8 * 12 }, () => rng() * 2 - 1);

/** Reference: the cpu backend's tf.spectral.fft along W, then along H (complex64). */
let fftRe: Float32Array;
let fftIm: Float32Array;

before(async () => {
  await useBackend("cpu");
  const [re, im] = tf.tidy(() => {
    const x = tf.complex(tf.tensor(inputRe, SHAPE), tf.tensor(inputIm, SHAPE));
    const alongW = tf.spectral.fft(x);
    const t = tf.transpose(alongW, [0, 2, 1]);
    const alongH = tf.transpose(tf.spectral.fft(t), [0, 2, 1]);
    return [tf.real(alongH), tf.imag(alongH)];
  });
  fftRe = re.dataSync() as Float32Array;
  fftIm = im.dataSync() as Float32Array;
  re.dispose();
  im.dispose();
});

for (const backend of TEST_BACKENDS) {
  describe(`dft on ${backend}`, () => {
    before(() => useBackend(backend));

    test("dft2d equals the cpu backend's tf.spectral.fft along both axes", () => {
      const x = { re: tf.tensor(inputRe, SHAPE), im: tf.tensor(inputIm, SHAPE) };
      const out = dft2d(x);
      const scale = Math.max(...Array.from(fftRe, Math.abs));
      assert.ok(maxAbsDiff(out.re.dataSync(), fftRe) < 1e-5 * scale, `real part off by ${maxAbsDiff(out.re.dataSync(), fftRe)}`);
      assert.ok(maxAbsDiff(out.im.dataSync(), fftIm) < 1e-5 * scale, `imaginary part off by ${maxAbsDiff(out.im.dataSync(), fftIm)}`);
      tf.dispose([x.re, x.im, out.re, out.im]);
    });

    test("idft2d inverts dft2d and leaks nothing", async () => {
      await withoutLeaks(() => {
        tf.tidy(() => {
          const x = { re: tf.tensor(inputRe, SHAPE), im: tf.tensor(inputIm, SHAPE) };
          const back = idft2d(dft2d(x));
          assert.ok(maxAbsDiff(back.re.dataSync(), inputRe) < 1e-5);
          assert.ok(maxAbsDiff(back.im.dataSync(), inputIm) < 1e-5);
        });
      });
    });

    test("1-D DFT of a hand-computed case: [1, 2, 3, 4] -> [10, -2+2i, -2, -2-2i]", () => {
      tf.tidy(() => {
        const out = dft1d({ re: tf.tensor1d([1, 2, 3, 4]), im: tf.zeros([4]) });
        assert.ok(maxAbsDiff(out.re.dataSync(), [10, -2, -2, -2]) < 1e-5);
        assert.ok(maxAbsDiff(out.im.dataSync(), [0, 2, 0, -2]) < 1e-5);
      });
    });

    test("fftshift2d / ifftshift2d follow numpy for odd and even sizes", () => {
      tf.tidy(() => {
        const odd = tf.tensor2d([0, 1, 2, 3, 4], [1, 5]);
        assert.deepEqual(Array.from(fftshift2d(odd).dataSync()), [3, 4, 0, 1, 2]);
        assert.deepEqual(Array.from(ifftshift2d(fftshift2d(odd)).dataSync()), [0, 1, 2, 3, 4]);
        const even = tf.tensor2d([0, 1, 2, 3], [4, 1]);
        assert.deepEqual(Array.from(fftshift2d(even).dataSync()), [2, 3, 0, 1]);
      });
    });

    test("gradient of Σ|DFT(x)|² is 2·H·W·x (Parseval), through matmuls only", () => {
      tf.tidy(() => {
        const re = tf.tensor(inputRe.subarray(0, 96), [8, 12]);
        const im = tf.tensor(inputIm.subarray(0, 96), [8, 12]);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
          const X = dft2d({ re: a, im: b });
          return tf.sum(tf.add(tf.square(X.re), tf.square(X.im)));
        })([re, im]);
        const expectRe = Array.from(inputRe.subarray(0, 96), (v) => 2 * 96 * v);
        const expectIm = Array.from(inputIm.subarray(0, 96), (v) => 2 * 96 * v);
        assert.ok(maxAbsDiff(g[0].dataSync(), expectRe) < 1e-3, `re grad off by ${maxAbsDiff(g[0].dataSync(), expectRe)}`);
        assert.ok(maxAbsDiff(g[1].dataSync(), expectIm) < 1e-3);
      });
    });
  });
}
