import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../../src/runtime/tf";
import { IdealConvFrontend } from "../../../src/models/frontends/ideal";
import { createFrontend, FRONTEND_KINDS } from "../../../src/models/frontends/factory";
import { PsfConvFrontend } from "../../../src/models/frontends/psf-conv";
import { TEST_BACKENDS, useBackend, maxAbsDiff } from "../../optics/backends";
import { checkGradientsByFiniteDifferences, randomImages, roundTripThroughSerialization } from "./helpers";

for (const backend of TEST_BACKENDS) {
  describe(`IdealConvFrontend on ${backend}`, () => {
    before(() => useBackend(backend));

    test("is a signed cross-correlation with its kernels plus bias (hand loop)", () => {
      tf.tidy(() => {
        const layer = new IdealConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 2, padding: "valid", useBias: true, seed: 1 });
        const x = randomImages([1, 5, 4, 2]);
        const y = layer.apply(x) as tf.Tensor;
        layer.trainableWeights[1].write(tf.tensor1d([0.5, -1]));
        const yb = layer.apply(x) as tf.Tensor;
        const K = layer.kernels().dataSync();
        assert.ok(Array.from(K).some((v) => v < 0), "kernels are signed");
        const img = x.dataSync();
        const expected: number[] = [];
        for (let r = 0; r < 3; r++) for (let c = 0; c < 2; c++) for (let o = 0; o < 2; o++) {
          let s = 0;
          for (let u = 0; u < 3; u++) for (let v = 0; v < 3; v++) for (let ch = 0; ch < 2; ch++) s += img[((r + u) * 4 + (c + v)) * 2 + ch] * K[((u * 3 + v) * 2 + ch) * 2 + o];
          expected.push(s);
        }
        assert.ok(maxAbsDiff(y.dataSync(), expected) < 1e-5);
        assert.ok(maxAbsDiff(yb.dataSync(), expected.map((v, i) => v + (i % 2 === 0 ? 0.5 : -1))) < 1e-5);
      });
    });

    test("gradients match finite differences", () => {
      const layer = new IdealConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, useBias: true, seed: 2 });
      const x = randomImages([2, 5, 5, 1]);
      checkGradientsByFiniteDifferences(layer, x);
      x.dispose();
    });

    test("getConfig round-trips through tfjs save/load", async () => {
      const layer = new IdealConvFrontend({ kernels: 3, kernelSize: 5, inputChannels: 1, useBias: true, seed: 3 });
      const x = randomImages([1, 8, 8, 1]);
      assert.ok((await roundTripThroughSerialization(layer, [8, 8, 1], x)) < 1e-6);
      const cfg = layer.getConfig();
      assert.deepEqual(new IdealConvFrontend(cfg as never).getConfig(), cfg);
      x.dispose();
    });
  });
}

test("createFrontend builds every kind and rejects unknown ones", () => {
  for (const kind of FRONTEND_KINDS) {
    const layer = createFrontend(kind, { kernels: 2, kernelSize: 3, inputChannels: 1, padding: "same" });
    assert.equal(layer.getClassName().toLowerCase().startsWith(kind === "psf" ? "psfconv" : kind === "ideal" ? "idealconv" : kind), true);
  }
  assert.ok(createFrontend("psf", { kernels: 8, kernelSize: 7, inputChannels: 1, parametrization: "softplus", signed: "none", padding: "valid", seed: 1 }) instanceof PsfConvFrontend);
  assert.throws(() => createFrontend("holographic" as "psf", { kernels: 1, kernelSize: 3, inputChannels: 1 }), /createFrontend: kind must be one of "ideal", "psf", "metasurface", "fourier"/);
});
