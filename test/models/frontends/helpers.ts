/** Shared checks of the frontend layer tests. */
import assert from "node:assert/strict";
import { tf } from "../../../src/runtime/tf";
import { testRng } from "../../optics/backends";

/**
 * Checks the analytic gradient of Σ(layer(x)·R) against central finite differences at a few
 * coordinates of every trainable weight. Returns the worst relative error.
 */
export function checkGradientsByFiniteDifferences(layer: tf.layers.Layer, x: tf.Tensor, opts: { eps?: number; coords?: number; tol?: number } = {}): number {
  const eps = opts.eps ?? 1e-2;
  const tol = opts.tol ?? 0.03;
  const rng = testRng(11);
  const out0 = layer.apply(x) as tf.Tensor;
  const R = tf.tensor(Float32Array.from({ length: out0.size }, () => rng() * 2 - 1), out0.shape);
  out0.dispose();
  const loss = () => tf.tidy(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, R)) as tf.Scalar);
  const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  assert.ok(vars.length > 0, "the layer has trainable weights");
  const { grads } = tf.variableGrads(loss, vars);
  let worst = 0;
  for (const v of vars) {
    const g = grads[v.name].dataSync();
    const base = v.dataSync().slice();
    const gScale = Math.max(...Array.from(g, Math.abs));
    for (let t = 0; t < (opts.coords ?? 4); t++) {
      // Prefer coordinates with a sizeable gradient, so the relative check means something.
      let i = Math.floor(rng() * base.length);
      for (let tries = 0; tries < 20 && Math.abs(g[i]) < 0.2 * gScale; tries++) i = Math.floor(rng() * base.length);
      const plus = base.slice(); plus[i] += eps;
      v.assign(tf.tensor(plus, v.shape));
      const lp = loss(); const fp = lp.dataSync()[0]; lp.dispose();
      const minus = base.slice(); minus[i] -= eps;
      v.assign(tf.tensor(minus, v.shape));
      const lm = loss(); const fm = lm.dataSync()[0]; lm.dispose();
      v.assign(tf.tensor(base, v.shape));
      const fd = (fp - fm) / (2 * eps);
      const err = Math.abs(fd - g[i]) / Math.max(Math.abs(g[i]), 0.05 * gScale, 1e-6);
      worst = Math.max(worst, err);
      assert.ok(err < tol, `${v.name}[${i}]: finite difference ${fd} vs gradient ${g[i]} (relative error ${err.toFixed(4)})`);
    }
  }
  tf.dispose([R, ...Object.values(grads)]);
  return worst;
}

/**
 * Saves a one-layer model to memory and loads it back through tfjs serialisation (exercises
 * getConfig + registerClass + weights); returns the max |difference| of the two outputs.
 */
export async function roundTripThroughSerialization(layer: tf.layers.Layer, inputShape: number[], x: tf.Tensor): Promise<number> {
  const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape }), layer] });
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  const a = model.predict(x) as tf.Tensor;
  const b = loaded.predict(x) as tf.Tensor;
  const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
  assert.equal(loaded.layers[loaded.layers.length - 1].getClassName(), layer.getClassName());
  tf.dispose([a, b]);
  loaded.dispose();
  return diff;
}

/** A deterministic batch of images [B, H, W, C] in [0, 1). */
export function randomImages(shape: [number, number, number, number], seed = 1): tf.Tensor4D {
  const rng = testRng(seed);
  return tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng()), shape);
}
