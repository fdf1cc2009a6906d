/**
 * Guard rails of the optics folder (issue 14, items 12-16): sampling warnings of phase masks and
 * metasurfaces against the analytic lens limit r = λ·f/(2·pitch), propagation advice that really
 * removes the warning, the bounded transfer-function cache, float64 power sums, and bad input
 * that fails naming the caller.
 */
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/runtime/tf";
import { disposeField, fieldPower, makeField, planeWave } from "../../src/optics/field";
import { Metasurface, PhaseMask, ThinLens } from "../../src/optics/elements";
import { phaseSamplingProblem } from "../../src/optics/sampling";
import { fourFSystem } from "../../src/optics/fourf";
import {
  checkPropagationRegime, propagate, transferCacheUsage, transferFunction, TRANSFER_CACHE_MAX_BYTES,
  type PropagationMethod,
} from "../../src/optics/propagation";
import { evaluateOnGrid } from "../../src/optics/field";
import { OpticsWarnings } from "../../src/optics/warnings";
import { TEST_BACKENDS, useBackend, testRng } from "./backends";

const LAMBDA = 532e-9;
const INDEX = 1.5;

/** Heights of an ideal lens, h = −r²/(2·f·(n − 1)), whose phase is −π·r²/(λ·f) at every λ·(n − 1) ratio. */
function lensHeights(n: number, pitchM: number, focalLengthM: number): Float64Array {
  return evaluateOnGrid(n, n, pitchM, (x, y) => -(x * x + y * y) / (2 * focalLengthM * (INDEX - 1)));
}

/** The paddingFactor a regime warning recommends, or NaN if it gives none. */
function recommendedFactor(message: string): number {
  const m = /paddingFactor >= ([0-9.]+)/.exec(message);
  return m ? Number(m[1]) : NaN;
}

function regimeWarnings(n: number, padded: number, pitchM: number, z: number, method: PropagationMethod, bandLimited: boolean): OpticsWarnings {
  const w = new OpticsWarnings();
  checkPropagationRegime("test", w, padded, padded, pitchM, LAMBDA, z, method, bandLimited, n);
  return w;
}

describe("phase sampling against the lens limit r = λ·f/(2·pitch)", () => {
  const n = 256;
  const pitch = 4e-6;
  const rLimit = (f: number) => (LAMBDA * f) / (2 * pitch);

  test("an unwrapped lens phase is flagged from the first step beyond the limit, within one pixel", () => {
    for (const f of [2e-3, 3e-3]) {
      const phase = lensHeights(n, pitch, f).map((h) => (2 * Math.PI * (INDEX - 1) * h) / LAMBDA);
      const p = phaseSamplingProblem("test", phase, n, n, pitch);
      assert.ok(p !== null && p.unwrapped, `f = ${f}`);
      assert.ok(Math.abs(p.firstRadiusM - rLimit(f)) <= pitch, `first ${p.firstRadiusM}, limit ${rLimit(f)}`);
    }
  });

  test("the same lens wrapped into one period is flagged at the same radius (zones narrower than two pixels)", () => {
    const f = 2e-3;
    const wrapped = lensHeights(n, pitch, f).map((h) => {
      const phi = (2 * Math.PI * (INDEX - 1) * h) / LAMBDA;
      return phi - 2 * Math.PI * Math.floor(phi / (2 * Math.PI));
    });
    const p = phaseSamplingProblem("test", wrapped, n, n, pitch);
    assert.ok(p !== null && !p.unwrapped);
    assert.ok(Math.abs(p.firstRadiusM - rLimit(f)) <= 2 * pitch, `first ${p.firstRadiusM}, limit ${rLimit(f)}`);
  });

  test("a lens sampled everywhere (limit beyond the grid corner) gives no finding, wrapped or not", () => {
    const f = 20e-3; // limit 1.33 mm, corner at 0.72 mm
    const phase = lensHeights(n, pitch, f).map((h) => (2 * Math.PI * (INDEX - 1) * h) / LAMBDA);
    assert.equal(phaseSamplingProblem("test", phase, n, n, pitch), null);
    const wrapped = phase.map((phi) => phi - 2 * Math.PI * Math.floor(phi / (2 * Math.PI)));
    assert.equal(phaseSamplingProblem("test", wrapped, n, n, pitch), null);
  });
});

describe("transfer-function cache", () => {
  before(() => useBackend("cpu"));

  test("many propagation distances keep the transfer-function cache within its byte bound and tensors flat", () => {
    const grid = 1024; // 8 MiB per transfer function; 20 of them would be 160 MiB
    const first = transferFunction(grid, grid, 1e-6, LAMBDA, 1e-3, "angular-spectrum", true);
    for (let i = 1; i < 20; i++) {
      transferFunction(grid, grid, 1e-6, LAMBDA, 1e-3 + i * 1e-4, "angular-spectrum", true);
      assert.ok(transferCacheUsage().bytes <= TRANSFER_CACHE_MAX_BYTES, `cache holds ${transferCacheUsage().bytes} bytes`);
    }
    const last = transferFunction(grid, grid, 1e-6, LAMBDA, 1e-3 + 19 * 1e-4, "angular-spectrum", true);
    assert.equal(last, transferFunction(grid, grid, 1e-6, LAMBDA, 1e-3 + 19 * 1e-4, "angular-spectrum", true), "the newest entry is a cache hit");
    assert.notEqual(first, transferFunction(grid, grid, 1e-6, LAMBDA, 1e-3, "angular-spectrum", true), "the oldest entry was evicted");
    const field = planeWave({ height: 16, width: 16, pitchM: 2e-6, wavelengthM: LAMBDA });
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 30; i++) disposeField(propagate(field, { distanceM: 1e-4 * (i + 1) }));
    assert.equal(tf.memory().numTensors, tensors);
    disposeField(field);
  });
});

for (const backend of TEST_BACKENDS) {
  describe(`optics guard rails on ${backend}`, () => {
    before(() => useBackend(backend));

    test("a metalens with f = 2 mm on a 4 µm grid warns like a ThinLens of the same f; f = 20 mm does not", () => {
      const n = 128;
      const pitch = 4e-6;
      const field = planeWave({ height: n, width: n, pitchM: pitch, wavelengthM: LAMBDA });
      for (const [f, expected] of [[2e-3, true], [20e-3, false]] as const) {
        const heights = tf.tensor2d(Float32Array.from(lensHeights(n, pitch, f)), [n, n]);
        const metalens = new Metasurface({ heightsM: heights, refractiveIndex: INDEX, wrapHeightM: LAMBDA / (INDEX - 1) });
        const lens = new ThinLens({ focalLengthM: f });
        const phase = tf.tensor2d(Float32Array.from(lensHeights(n, pitch, f), (h) => (2 * Math.PI * (INDEX - 1) * h) / LAMBDA), [n, n]);
        const mask = new PhaseMask(phase);
        for (const el of [metalens, lens, mask]) disposeField(el.apply(field));
        assert.equal(lens.warnings.has("undersampling"), expected, `ThinLens f = ${f}`);
        assert.equal(metalens.warnings.has("undersampling"), expected, `Metasurface f = ${f}: ${metalens.warnings.toStrings()}`);
        assert.equal(mask.warnings.has("undersampling"), expected, `PhaseMask f = ${f}: ${mask.warnings.toStrings()}`);
        if (expected) assert.match(metalens.warnings.list[0].message, /undersampled beyond radius 13[34](\.\d+)? µm/);
        tf.dispose([heights, phase]);
      }
      disposeField(field);
    });

    test("NaN heights or phases are refused at construction, naming the element", () => {
      const bad = tf.tensor2d([0, 1e-7, NaN, 0], [2, 2]);
      assert.throws(() => new Metasurface({ heightsM: bad, refractiveIndex: INDEX }), /^Error: Metasurface: heightsM must be finite everywhere, got NaN at flat index 2/);
      assert.throws(() => new PhaseMask(bad), /^Error: PhaseMask: phaseRad must be finite everywhere/);
      // A variable that training later drives to NaN is caught when the element is applied.
      const heights = tf.variable(tf.zeros([2, 2]));
      const surface = new Metasurface({ heightsM: heights, refractiveIndex: INDEX });
      heights.assign(bad);
      const field = planeWave({ height: 2, width: 2, pitchM: 1e-6, wavelengthM: LAMBDA });
      assert.throws(() => surface.apply(field), /^Error: Metasurface\(2x2\): the profile has a non-finite value \(NaN\) at row 1, column 0/);
      tf.dispose([bad, heights]);
      disposeField(field);
    });

    test("a 0x0 field fails naming the caller, not dftMatrices", () => {
      const empty = makeField({ re: tf.zeros([0, 0]), im: tf.zeros([0, 0]) }, 1e-6, LAMBDA);
      assert.throws(() => propagate(empty, { distanceM: 1e-3 }), /^Error: propagate: the field grid must be at least 1x1, got shape \[0,0\]/);
      assert.throws(() => fourFSystem(empty, { focalLengthM: 1e-2 }), /^Error: fourFSystem: the field grid must be at least 1x1/);
      assert.throws(() => new ThinLens({ focalLengthM: 1e-3 }).apply(empty), /^Error: ThinLens\(f = 1 mm\): the field grid must be at least 1x1/);
      disposeField(empty);
    });

    test("a 4f mask of the wrong shape fails naming both shapes; a broadcastable stack is accepted", () => {
      const field = planeWave({ height: 16, width: 16, pitchM: 8e-6, wavelengthM: LAMBDA });
      const wrong = { re: tf.ones([8, 8]), im: tf.zeros([8, 8]) };
      assert.throws(() => fourFSystem(field, { focalLengthM: 1e-2, mask: wrong }), /^Error: fourFSystem: mask has shape \[8,8\]; expected \[16, 16\]/);
      const stack = { re: tf.ones([3, 1, 16, 16]), im: tf.zeros([3, 1, 16, 16]) };
      const batch = makeField({ re: tf.ones([2, 16, 16]), im: tf.zeros([2, 16, 16]) }, 8e-6, LAMBDA);
      const out = fourFSystem(batch, { focalLengthM: 1e-2, mask: stack });
      assert.deepEqual(out.re.shape, [3, 2, 16, 16]);
      const badStack = { re: tf.ones([3, 4, 16, 16]), im: tf.zeros([3, 4, 16, 16]) };
      assert.throws(() => fourFSystem(batch, { focalLengthM: 1e-2, mask: badStack }), /^Error: fourFSystem: mask has shape \[3,4,16,16\]/);
      tf.dispose([wrong.re, wrong.im, stack.re, stack.im, badStack.re, badStack.im]);
      disposeField(field);
      disposeField(batch);
      disposeField(out);
    });

    test("fieldPower at 1024² equals the float64 sum of |E|²·pitch² to float32 rounding, and keeps its gradient", () => {
      const n = 1024;
      const rand = testRng(7);
      const re = new Float32Array(n * n).map(() => rand());
      const im = new Float32Array(n * n).map(() => rand() - 0.5);
      let exact = 0;
      for (let i = 0; i < re.length; i++) exact += re[i] * re[i] + im[i] * im[i];
      const pitch = 2e-6;
      exact *= pitch * pitch;
      // wasm's float32 reduction under-reports this sum by 8e-5 relative; the host float64 sum does not.
      const field = makeField({ re: tf.tensor2d(re, [n, n]), im: tf.tensor2d(im, [n, n]) }, pitch, LAMBDA);
      const before = tf.memory().numTensors;
      const p = fieldPower(field);
      const got = p.dataSync()[0];
      p.dispose();
      assert.equal(tf.memory().numTensors, before);
      assert.ok(Math.abs(got - exact) / exact < 2e-7, `relative error ${Math.abs(got - exact) / exact}`);
      disposeField(field);
      // Batched values and the gradient d/dre Σ(re² + im²)·p² = 2·re·p².
      const small = makeField({ re: tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), im: tf.tensor3d([0, 1, 0, 1, 0, 1, 0, 1], [2, 2, 2]) }, 0.5, LAMBDA);
      const batch = fieldPower(small);
      assert.deepEqual(Array.from(batch.dataSync()), [(1 + 4 + 9 + 16 + 2) * 0.25, (25 + 36 + 49 + 64 + 2) * 0.25]);
      const g = tf.grad((x: tf.Tensor) => tf.sum(fieldPower(makeField({ re: x, im: small.im }, 0.5, LAMBDA))))(small.re);
      assert.deepEqual(Array.from(g.dataSync()), [1, 2, 3, 4, 5, 6, 7, 8].map((v) => 2 * v * 0.25));
      tf.dispose([batch, g]);
      disposeField(small);
    });

    test("the angular-spectrum warning's advice removes it; Fresnel is not offered where it is undersampled too", () => {
      const n = 32;
      const pitch = 2e-6;
      const z = 2.5e-3; // needs ~167 padded samples; the default 2x padding gives 64
      const w = regimeWarnings(n, 2 * n, pitch, z, "angular-spectrum", true);
      assert.ok(w.has("angular-spectrum-regime"));
      // The premise of the fault: on this grid Fresnel is undersampled as well.
      assert.ok(regimeWarnings(n, 2 * n, pitch, z, "fresnel", true).has("fresnel-regime"));
      const message = w.list[0].message;
      assert.doesNotMatch(message, /use method "fresnel"/);
      const factor = recommendedFactor(message);
      assert.ok(factor > 2, message);
      assert.ok(!regimeWarnings(n, Math.ceil(n * factor), pitch, z, "angular-spectrum", true).has(), `factor ${factor} still warns`);
      // End to end: propagate with the advice records nothing.
      const field = planeWave({ height: n, width: n, pitchM: pitch, wavelengthM: LAMBDA });
      const followed = new OpticsWarnings();
      disposeField(propagate(field, { distanceM: z, paddingFactor: factor, warnings: followed }));
      assert.ok(!followed.has(), followed.toStrings().join("\n"));
      disposeField(field);
    });

    test("the Fresnel and unlimited angular-spectrum warnings' advice removes them", () => {
      const n = 64;
      const pitch = 2e-6;
      for (const [method, bandLimited] of [["fresnel", true], ["angular-spectrum", false]] as const) {
        const z = 5e-3;
        const w = regimeWarnings(n, 2 * n, pitch, z, method, bandLimited);
        assert.ok(w.has(), `${method} should warn`);
        const factor = recommendedFactor(w.list[0].message);
        assert.ok(!regimeWarnings(n, Math.ceil(n * factor), pitch, z, method, bandLimited).has(), `${method}: factor ${factor} still warns`);
      }
      // Where the angular spectrum is fine on the grid, the Fresnel warning says so, and it is true.
      const z = 1.5e-3; // Fresnel needs z <= pitch·L/λ = 0.96 mm here, the angular spectrum z <= 1.9 mm
      const fresnel = regimeWarnings(n, 2 * n, pitch, z, "fresnel", true);
      assert.match(fresnel.list[0].message, /use method "angular-spectrum", which is well sampled on this grid/);
      assert.ok(!regimeWarnings(n, 2 * n, pitch, z, "angular-spectrum", true).has());
    });
  });
}
