/**
 * Multiply-accumulate counts per image (paper §4.3): the convolution the light does (optical
 * MACs) and the digital layers (electronic MACs), counted from a tfjs model's layers.
 *
 * Conventions: one MAC is one multiply and one add of a weight with an input; biases,
 * activations, pooling, reshapes, slicing and batch normalisation (folded into the preceding
 * layer at inference) count 0. Counts are per image (batch 1).
 */
import type { LayersModel, layers } from "@tensorflow/tfjs";
import { isOpticalFrontend, type OpticalFrontend } from "../models/frontends/optical-frontend";

/** The MACs of one layer. */
export interface LayerMacs {
  /** The layer's name in the model (nested models as "outer/inner"). */
  name: string;
  /** tfjs class name (Dense, Conv2D, ...). */
  className: string;
  /** MACs per image. */
  macs: number;
  /** "optical" for an optical frontend layer (done by light), "electronic" otherwise. */
  domain: "optical" | "electronic";
}

/** MACs per image of a model, by domain and by layer. */
export interface ModelMacs {
  /** MACs the optics perform (optical frontend layers). */
  optical: number;
  /** MACs of the digital layers. */
  electronic: number;
  /** Every layer with a nonzero count, in model order. */
  layers: LayerMacs[];
}

/** Classes without multiply-accumulates of weights (see the module comment). */
const ZERO_MAC_CLASSES = new Set([
  "InputLayer", "Activation", "ReLU", "LeakyReLU", "Softmax", "ELU", "PReLU", "ThresholdedReLU", "Flatten", "Reshape", "Permute",
  "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D",
  "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "UpSampling2D",
  "ZeroPadding2D", "Cropping2D", "Concatenate", "Add", "Multiply", "Average", "Maximum", "Minimum", "Subtract", "BatchNormalization",
  "LayerNormalization", "ChannelSlice", "RepeatVector", "Masking",
]);

function product(dims: readonly (number | null)[], where: string): number {
  return dims.reduce<number>((p, d) => {
    if (d === null || !Number.isFinite(d)) throw new Error(`${where}: shape [${dims.join(", ")}] has an unknown dimension; build the model on a fixed input size`);
    return p * d;
  }, 1);
}

function singleShape(shape: unknown, where: string): (number | null)[] {
  const s = Array.isArray(shape) && Array.isArray(shape[0]) ? (shape[0] as (number | null)[]) : (shape as (number | null)[]);
  if (!Array.isArray(s)) throw new Error(`${where}: the layer has no known shape; build the model first`);
  return s;
}

/** The shape of a layer's (single) input, from the node it was applied at. */
function inputShapeOf(layer: layers.Layer, where: string): unknown {
  try {
    const input = layer.input;
    return Array.isArray(input) ? input.map((t) => t.shape) : input.shape;
  } catch {
    throw new Error(`${where}: the layer has no single known input; apply it once in a model of fixed input size`);
  }
}

/**
 * Optical MACs per image of a frontend on H×W images: K kernels × k² taps × C colours per
 * output pixel, H'×W' output pixels ("same": H×W; "valid": (H − k + 1)(W − k + 1)).
 */
export function opticalMacs(frontend: Pick<OpticalFrontend, "kernelCount" | "kernelSize" | "inputChannels" | "padding">, height: number, width: number): number {
  if (!Number.isInteger(height) || height < 1 || !Number.isInteger(width) || width < 1) throw new Error(`opticalMacs: height and width must be positive integers, got ${height}x${width}`);
  const k = frontend.kernelSize;
  const crop = frontend.padding === "valid" ? k - 1 : 0;
  if (height - crop < 1 || width - crop < 1) throw new Error(`opticalMacs: a ${height}x${width} image is smaller than the ${k}x${k} kernel with "valid" padding`);
  return frontend.kernelCount * k * k * frontend.inputChannels * (height - crop) * (width - crop);
}

/** MACs per image of one built layer that is not an optical frontend (throws on layers it cannot count). */
export function layerMacs(layer: layers.Layer): number {
  const className = layer.getClassName();
  const where = `layerMacs(${layer.name}: ${className})`;
  const weightShape = (i: number): number[] => layer.weights[i].shape as number[];
  switch (className) {
    case "Dense": {
      // Dense acts on the last axis, at every position of the others.
      const [inputs, units] = weightShape(0);
      const out = singleShape(layer.outputShape, where);
      return product(out.slice(1, -1), where) * inputs * units;
    }
    case "Conv1D":
    case "Conv2D":
    case "Conv3D": {
      // Kernel [..spatial, in, out]: every output position of every filter reads spatial × in weights.
      const kernel = weightShape(0);
      const out = singleShape(layer.outputShape, where);
      return product(out.slice(1), where) * product(kernel.slice(0, -1), where);
    }
    case "DepthwiseConv2D": {
      // Kernel [kh, kw, in, multiplier]: each output channel reads kh·kw inputs of one channel.
      const [kh, kw] = weightShape(0);
      const out = singleShape(layer.outputShape, where);
      return product(out.slice(1), where) * kh * kw;
    }
    case "SeparableConv2D": {
      const [kh, kw, channels, multiplier] = weightShape(0);
      const [, , , filters] = weightShape(1);
      const out = singleShape(layer.outputShape, where);
      const pixels = product(out.slice(1, -1), where);
      return pixels * channels * multiplier * (kh * kw + filters);
    }
    case "Conv2DTranspose": {
      // Kernel [kh, kw, out, in]: every input pixel scatters kh·kw·out products per input channel.
      const [kh, kw, outChannels, inChannels] = weightShape(0);
      const input = singleShape(inputShapeOf(layer, where), where);
      return product(input.slice(1, -1), where) * kh * kw * outChannels * inChannels;
    }
    default:
      if (ZERO_MAC_CLASSES.has(className) || layer.weights.length === 0) return 0;
      throw new Error(`${where}: no MAC rule for a layer with weights of class ${className}; count it by hand or add a rule`);
  }
}

/**
 * MACs per image of a built tfjs model, nested models included; optical frontend layers (any
 * layer implementing OpticalFrontend) count as optical, on the image size they receive.
 */
export function modelMacs(model: LayersModel): ModelMacs {
  const found: LayerMacs[] = [];
  const visit = (container: { layers: layers.Layer[] }, prefix: string): void => {
    for (const layer of container.layers) {
      const name = prefix + layer.name;
      const nested = layer as unknown as { layers?: layers.Layer[] };
      if (Array.isArray(nested.layers)) {
        visit(nested as { layers: layers.Layer[] }, `${name}/`);
        continue;
      }
      let macs: number;
      let domain: LayerMacs["domain"] = "electronic";
      if (isOpticalFrontend(layer)) {
        const input = singleShape(inputShapeOf(layer, `modelMacs(${name})`), `modelMacs(${name})`);
        macs = opticalMacs(layer as unknown as OpticalFrontend, input[1] as number, input[2] as number);
        domain = "optical";
      } else {
        macs = layerMacs(layer);
      }
      if (macs > 0) found.push({ name, className: layer.getClassName(), macs, domain });
    }
  };
  visit(model, "");
  const sum = (d: LayerMacs["domain"]): number => found.filter((l) => l.domain === d).reduce((s, l) => s + l.macs, 0);
  return { optical: sum("optical"), electronic: sum("electronic"), layers: found };
}

/** What a hybrid optical-electronic system is made of, for {@link hybridMacs}. */
export interface HybridSystem {
  /** The optics. */
  frontend: OpticalFrontend;
  /** The digital backend (sensor image → output). */
  backend: LayersModel;
}

/** Optical MACs of the frontend on H×W images and electronic MACs of the backend. */
export function hybridMacs(system: HybridSystem, height: number, width: number): ModelMacs {
  const optical = opticalMacs(system.frontend, height, width);
  const backend = modelMacs(system.backend);
  if (backend.optical > 0) throw new Error("hybridMacs: the backend holds an optical frontend layer; pass the digital backend only");
  return {
    optical,
    electronic: backend.electronic,
    layers: [{ name: "frontend", className: "OpticalFrontend", macs: optical, domain: "optical" }, ...backend.layers],
  };
}
