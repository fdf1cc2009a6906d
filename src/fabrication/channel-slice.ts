import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";

/** Arguments of {@link ChannelSlice}. */
export interface ChannelSliceArgs {
  /** First channel kept. */
  start: number;
  /** Number of channels kept. */
  size: number;
  name?: string;
}

/**
 * Keeps channels [start, start + size) of an NHWC tensor. The compensation stage packs each
 * clean image and its captured sensor image into one input, so the teacher (clean channels)
 * and the fabricated student (captured channels) see the same minibatch through the
 * unchanged training loop and objectives.
 */
export class ChannelSlice extends tf.layers.Layer {
  static readonly className = "NtkdChannelSlice";
  readonly start: number;
  readonly size: number;

  constructor(args: ChannelSliceArgs) {
    super({ name: args.name });
    if (!Number.isInteger(args.start) || args.start < 0) throw new Error(`ChannelSlice: start must be an integer >= 0, got ${args.start}`);
    if (!Number.isInteger(args.size) || args.size < 1) throw new Error(`ChannelSlice: size must be an integer >= 1, got ${args.size}`);
    this.start = args.start;
    this.size = args.size;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = s[3];
    if (channels !== null && channels !== undefined && this.start + this.size > channels) {
      throw new Error(`ChannelSlice: channels ${this.start}..${this.start + this.size - 1} requested from an input with ${channels}`);
    }
    return [s[0], s[1], s[2], this.size];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.slice(x, [0, 0, 0, this.start], [-1, -1, -1, this.size]);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), start: this.start, size: this.size };
  }
}
tf.serialization.registerClass(ChannelSlice);
