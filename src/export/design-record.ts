/**
 * How a saved student names its optics, so that an exporter can rebuild the frontend without the
 * code that trained it: a JSON record `{ className, config, inputShape }` of the frontend layer
 * (its tfjs class name and `getConfig()`, as tfjs serialisation stores layers) under the key
 * `frontend` of a checkpoint's metadata or of a run store's config.json. The frontend's weights
 * are the first ones of the student's `model.weights` (the frontend is the model's first layer
 * with weights), which is the order `saveWeights` and the training checkpoints store.
 */
import { tf } from "../runtime/tf";
import type { OpticalStudent } from "../models/optical-student";
import { asOpticalFrontend, type OpticalFrontendLayer } from "../models/frontends/conv2d-adapter";
import type { StoredTensor } from "../train/checkpoint";

/** The JSON record of a frontend (see the module comment). */
export interface FrontendRecord {
  /** The tfjs class name the layer is registered under, e.g. "MetasurfaceFrontend". */
  className: string;
  /** The layer's `getConfig()`. */
  config: Record<string, unknown>;
  /** The image shape the student reads, [height, width, channels]. */
  inputShape: [number, number, number];
}

/** The record of a student's frontend, for the `frontend` key of a checkpoint's metadata. */
export function frontendRecord(student: OpticalStudent): FrontendRecord {
  const shape = student.model.inputs[0].shape.slice(1);
  if (shape.length !== 3 || shape.some((d) => d === null)) throw new Error(`frontendRecord: the student's input shape ${JSON.stringify(student.model.inputs[0].shape)} is not [batch, H, W, C]`);
  const config = JSON.parse(JSON.stringify(student.frontend.getConfig())) as Record<string, unknown>;
  return { className: student.frontend.getClassName(), config, inputShape: shape as [number, number, number] };
}

/** Whether `v` has the shape of a {@link FrontendRecord}. */
export function isFrontendRecord(v: unknown): v is FrontendRecord {
  if (v === null || typeof v !== "object") return false;
  const r = v as Record<string, unknown>;
  return typeof r.className === "string" && r.config !== null && typeof r.config === "object" && Array.isArray(r.inputShape)
    && r.inputShape.length === 3 && r.inputShape.every((d) => Number.isInteger(d) && (d as number) > 0);
}

/**
 * Rebuilds the frontend of `record`, builds it for its input shape and loads its weights from the
 * first tensors of `stored` (a student's weights in model order); `source` names them in errors.
 */
export function rebuildFrontend(record: FrontendRecord, stored: readonly StoredTensor[], source: string): OpticalFrontendLayer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[record.className];
  if (!entry) throw new Error(`${source}: frontend class ${JSON.stringify(record.className)} is not a registered layer (expected one of ntkd-lab's frontends, e.g. MetasurfaceFrontend)`);
  const [cls, fromConfig] = entry;
  const layer = fromConfig(cls, record.config as tf.serialization.ConfigDict) as unknown as tf.layers.Layer;
  const frontend = asOpticalFrontend(layer, source);
  frontend.build([null, ...record.inputShape]);
  const weights = frontend.weights;
  if (stored.length < weights.length) throw new Error(`${source}: holds ${stored.length} weight tensors, the frontend ${record.className} needs ${weights.length}`);
  weights.forEach((w, k) => {
    const s = stored[k];
    if (!tf.util.arraysEqual(s.shape, w.shape as number[])) {
      throw new Error(`${source}: weight ${k} has shape ${JSON.stringify(s.shape)}, the frontend's ${w.originalName} has ${JSON.stringify(w.shape)} (a different design?)`);
    }
    tf.tidy(() => {
      w.write(tf.tensor(s.data, s.shape));
    });
  });
  return frontend;
}
