/**
 * Encoder Gram-matrix KD for a single linear optical layer: match the Gram matrix WᵀW of the
 * student's optical kernels (W: one row per kernel, one column per kernel pixel and colour) to
 * that of the teacher's first convolution. WᵀW = Σⱼ wⱼwⱼᵀ is what a linear layer's kernels span,
 * whatever their count and order, so it compares an optical layer of 8 kernels with LeNet-5's 6
 * filters; for a linear encoder it is the input-space part of the layer's tangent kernel, which
 * makes it a close, cheap relative of NTKD (no probes, no Jacobians, one small matrix a step).
 *
 * Both kernel sets are compared as conv2d (correlation) kernels: the student's PSFs rotated by
 * 180° (`psfToConv2dKernel`), the teacher's as Conv2D stores them. A teacher kernel smaller than
 * the student's is zero-padded around its centre, a larger one cropped to its centre. Each Gram
 * matrix is divided by its Frobenius norm: PSFs carry unit energy while the teacher's weights have
 * any scale, so only the shape of the span is matched.
 */
import type { LayersModel, Tensor, Tensor2D, Tensor4D } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";

/** Frobenius-normalised Gram matrix WᵀW [d, d] of conv2d kernels [k, k, C, n] (d = k·k·C). */
export function kernelGram(kernels: Tensor4D): Tensor2D {
  if (kernels.rank !== 4) throw new Error(`kernelGram: expected conv2d kernels [k, k, C, n], got shape ${JSON.stringify(kernels.shape)}`);
  return tf.tidy(() => {
    const [kh, kw, c, n] = kernels.shape;
    // [d, n]: column j is kernel j flattened; W = its transpose, so WᵀW = M Mᵀ.
    const m = tf.reshape(kernels, [kh * kw * c, n]);
    const g = tf.matMul(m, m, false, true);
    return tf.div(g, tf.add(tf.norm(g), 1e-12)) as Tensor2D;
  });
}

/** Conv2d kernels [kh, kw, C, n] centred in a [size, size] window: zero-padded, or cropped to the centre. */
export function centreKernels(kernels: Tensor4D, size: number): Tensor4D {
  if (!Number.isInteger(size) || size < 1) throw new Error(`centreKernels: size must be an integer >= 1, got ${size}`);
  return tf.tidy(() => {
    let k = kernels;
    for (const axis of [0, 1] as const) {
      const have = k.shape[axis];
      if (have < size) {
        const before = Math.floor((size - have) / 2);
        const pad: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
        pad[axis] = [before, size - have - before];
        k = tf.pad(k, pad);
      } else if (have > size) {
        const begin = [0, 0, 0, 0];
        begin[axis] = Math.floor((have - size) / 2);
        const extent = [...k.shape] as number[];
        extent[axis] = size;
        k = tf.slice(k, begin, extent);
      }
    }
    return k as Tensor4D;
  });
}

/** The kernels [kh, kw, C, n] of the model's first Conv2D layer; a one-line error when it has none. */
export function firstConvKernels(model: LayersModel): Tensor4D {
  const conv = model.layers.find((l) => l.getClassName() === "Conv2D");
  if (!conv) throw new Error(`firstConvKernels: the teacher "${model.name}" has no Conv2D layer; encoder Gram KD needs a convolutional teacher`);
  return conv.getWeights()[0]!.clone() as Tensor4D;
}

/**
 * The teacher's side of the match, computed once: the normalised Gram matrix of its first
 * convolution's kernels, centred in the student's kernel size. Input channels must agree.
 */
export function teacherKernelGram(teacher: LayersModel, studentKernelSize: number, studentChannels: number): Tensor2D {
  return tf.tidy(() => {
    const w = firstConvKernels(teacher);
    if (w.shape[2] !== studentChannels) {
      throw new Error(`teacherKernelGram: the teacher's first convolution reads ${w.shape[2]} channels, the student's optical kernels ${studentChannels}`);
    }
    return kernelGram(centreKernels(w, studentKernelSize));
  });
}

/** ‖Gₛ − Gₜ‖²_F of two normalised Gram matrices (in [0, 4]). */
export function gramMismatch(student: Tensor, teacher: Tensor): Tensor {
  if (student.shape.join("x") !== teacher.shape.join("x")) {
    throw new Error(`gramMismatch: student Gram ${JSON.stringify(student.shape)} and teacher Gram ${JSON.stringify(teacher.shape)} differ`);
  }
  return tf.tidy(() => tf.sum(tf.square(tf.sub(student, teacher))));
}
