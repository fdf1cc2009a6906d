import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { initBackend } from "../../src/runtime/backend";
import { FourierFrontend } from "../../src/models/frontends/fourier";
import { MetasurfaceFrontend } from "../../src/models/frontends/metasurface-frontend";
import { IdealConvFrontend } from "../../src/models/frontends/ideal";
import { defaultPsfFrontend } from "../../src/models/students";
import type { OpticalFrontend } from "../../src/models/frontends/optical-frontend";
import { FabricatedDevice } from "../../src/fabrication/device";
import { fabricateFourier, FabricatedFourierDevice } from "../../src/fabrication/fourier-errors";
import { fabricateMetasurface } from "../../src/fabrication/metasurface-errors";
import { fabricateFrontend, fabricatedOpticsOf, offsetDeviceSeeds } from "../../src/fabrication/frontend-device";
import { makeRng } from "../../src/runtime/seed";

const SIDE = 12;

function builtFrontends() {
  const psf = defaultPsfFrontend({ kernels: 3, kernelSize: 5, inputChannels: 1, seed: 2 });
  const metasurface = new MetasurfaceFrontend({ kernels: 2, kernelSize: 5, inputChannels: 1, gridSize: 24, cellPitchM: 2e-6, pixelPitchM: 4e-6, distanceM: 0.3e-3, seed: 1, initNoise: 0.3 });
  const fourier = new FourierFrontend({ kernels: 3, kernelSize: 5, inputChannels: 1, seed: 4, initNoise: 0.3 });
  for (const f of [psf, metasurface, fourier]) f.apply(tf.input({ shape: [SIDE, SIDE, 1] }));
  return { psf, metasurface, fourier };
}

function images(n: number, seed = 1): tf.Tensor4D {
  const rand = makeRng(seed);
  return tf.tensor4d(Float32Array.from({ length: n * SIDE * SIDE }, () => rand()), [n, SIDE, SIDE, 1]);
}

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

test("with no error, each frontend's device senses what the frontend outputs (the 4f one through its coherent optics)", async () => {
  await initBackend({ backend: "cpu" });
  const frontends = builtFrontends();
  const x = images(2);
  for (const [kind, f] of Object.entries(frontends) as [string, OpticalFrontend & tf.layers.Layer][]) {
    assert.equal(fabricatedOpticsOf(f), kind);
    const device = fabricateFrontend(f, {}, { height: SIDE, width: SIDE });
    assert.equal(device instanceof FabricatedFourierDevice, kind === "fourier", kind);
    const sensed = device.sense(x);
    const expected = f.apply(x) as tf.Tensor;
    const scale = tf.max(expected).dataSync()[0]!;
    assert.ok(maxAbs(sensed, expected) < 1e-5 * scale, `${kind}: ${maxAbs(sensed, expected)} of ${scale}`);
    tf.dispose([sensed, expected]);
    device.dispose();
  }
  x.dispose();
});

test("each frontend's errors reach the optics at their own level: the same device as the frontend's own fabrication, and not the designed one", async () => {
  await initBackend({ backend: "cpu" });
  const { psf, metasurface, fourier } = builtFrontends();
  const sensor = { gain: 0.9, noiseStd: 0.01, seed: 3 };
  const x = images(2, 7);
  const cases: [string, FabricatedDevice, FabricatedDevice, FabricatedDevice][] = [
    ["psf", fabricateFrontend(psf, { ...sensor, kernelErrorStd: 0.3 }), FabricatedDevice.fromFrontend(psf, { ...sensor, kernelErrorStd: 0.3 }), FabricatedDevice.fromFrontend(psf, sensor)],
    [
      "metasurface",
      fabricateFrontend(metasurface, { ...sensor, metasurface: { heightErrorM: 60e-9, seed: 5 } }),
      fabricateMetasurface(metasurface, { heightErrorM: 60e-9, seed: 5 }, sensor),
      fabricateMetasurface(metasurface, {}, sensor),
    ],
    [
      "fourier",
      fabricateFrontend(fourier, { ...sensor, fourier: { phaseErrorStdRad: 0.4, maskOffsetSamples: [0.5, 0.5], seed: 5 } }, { height: SIDE, width: SIDE }),
      fabricateFourier(fourier, { phaseErrorStdRad: 0.4, maskOffsetSamples: [0.5, 0.5], seed: 5 }, sensor, { height: SIDE, width: SIDE }),
      fabricateFourier(fourier, {}, sensor, { height: SIDE, width: SIDE }),
    ],
  ];
  for (const [kind, device, reference, designed] of cases) {
    const a = device.sense(x, 1);
    const b = reference.sense(x, 1);
    const clean = designed.sense(x, 1);
    assert.equal(maxAbs(a, b), 0, `${kind}: fabricateFrontend differs from the frontend's own fabrication`);
    const scale = tf.max(clean).dataSync()[0]!;
    assert.ok(maxAbs(a, clean) > 0.01 * scale, `${kind}: the optics error changed nothing (${maxAbs(a, clean)} of ${scale})`);
    tf.dispose([a, b, clean]);
    for (const d of [device, reference, designed]) d.dispose();
  }
  x.dispose();
});

test("an optics error meant for another frontend, δ on a 4f system, and an ideal convolution are refused by name", async () => {
  await initBackend({ backend: "cpu" });
  const { psf, metasurface, fourier } = builtFrontends();
  assert.throws(() => fabricateFrontend(psf, { fourier: { phaseErrorStdRad: 0.1 } }), /DeviceErrors\.fourier applies to a FourierFrontend; this frontend is psf/);
  assert.throws(() => fabricateFrontend(fourier, { metasurface: { heightErrorM: 1e-8 } }), /DeviceErrors\.metasurface applies to a MetasurfaceFrontend; this frontend is fourier/);
  assert.throws(() => fabricateFrontend(metasurface, { fourier: {} }), /this frontend is metasurface/);
  assert.throws(() => fabricateFrontend(fourier, { kernelErrorStd: 0.3 }, { height: SIDE, width: SIDE }), /kernelErrorStd must be 0/);
  const ideal = new IdealConvFrontend({ kernels: 2, kernelSize: 3, inputChannels: 1, seed: 1 });
  ideal.apply(tf.input({ shape: [SIDE, SIDE, 1] }));
  assert.throws(() => fabricateFrontend(ideal as unknown as OpticalFrontend), /signed kernels \(an ideal digital convolution\)/);
});

test("offsetDeviceSeeds moves the sensor seed and each optics error's seed, and nothing else", () => {
  const moved = offsetDeviceSeeds({ gain: 0.8, seed: 2, metasurface: { heightErrorM: 2e-8 }, fourier: { phaseErrorStdRad: 0.1, seed: 4 } }, 14);
  assert.deepEqual(moved, { gain: 0.8, seed: 16, metasurface: { heightErrorM: 2e-8, seed: 14 }, fourier: { phaseErrorStdRad: 0.1, seed: 18 } });
  assert.deepEqual(offsetDeviceSeeds({ noiseStd: 0.1 }, 7), { noiseStd: 0.1, seed: 7 });
});
