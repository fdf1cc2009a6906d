/**
 * A network's last hidden features beside its outputs, from one forward pass: what feature-based
 * distillation (similarity-preserving and relational KD) compares between teacher and student.
 */
import type { LayersModel, SymbolicTensor, Tensor } from "@tensorflow/tfjs";
import { tf } from "../runtime/tf";
import { OpticalStudent } from "../models/optical-student";

/** One forward pass giving the last hidden features [batch, ...] and the outputs (logits). */
export type FeatureForward = (x: Tensor, training: boolean) => { features: Tensor; outputs: Tensor };

/**
 * The model's outputs and the input of its last layer (for a classifier: the activations the
 * logits read). The returned model shares every layer and weight with `model`: never dispose it.
 */
function withLastLayerInput(model: LayersModel, what: string): LayersModel {
  const last = model.layers[model.layers.length - 1];
  if (!last || model.outputs.length !== 1 || model.inputs.length !== 1) {
    throw new Error(`${what}: expected a model with one input, one output and a last layer, got ${model.name}`);
  }
  if ("layers" in last) {
    throw new Error(`${what}: the last layer of ${model.name} is a nested model (${last.name}); pass an OpticalStudent or a model whose last layer is its classifier`);
  }
  const input = last.input;
  if (Array.isArray(input)) throw new Error(`${what}: the last layer of ${model.name} (${last.name}) has several inputs; expected one feature tensor`);
  return tf.model({ inputs: model.inputs, outputs: [input as SymbolicTensor, model.outputs[0]!], name: `${model.name}_with_features` });
}

/**
 * The feature forward of a teacher or student: for an {@link OpticalStudent}, the sensor image
 * through the backend, whose features are its last hidden layer (`featureModel`'s output); for
 * any other LayersModel, the input of its last layer. `what` names the caller in errors.
 */
export function featureForward(network: OpticalStudent | LayersModel, what = "featureForward"): FeatureForward {
  let model: LayersModel;
  if (network instanceof OpticalStudent) {
    // One graph from image to (features, logits), so no intermediate sensor image is left over.
    const backend = withLastLayerInput(network.backend, what);
    const image = tf.input({ shape: network.model.inputs[0]!.shape.slice(1) as number[] });
    const sensed = network.frontend.apply(image) as SymbolicTensor;
    const outputs = backend.apply(sensed) as SymbolicTensor[];
    model = tf.model({ inputs: image, outputs, name: `${network.architecture}_with_features` });
  } else {
    model = withLastLayerInput(network, what);
  }
  return (x, training) => {
    const [features, outputs] = model.apply(x, { training }) as Tensor[];
    return { features: features!, outputs: outputs! };
  };
}
