import { test } from "node:test";
import assert from "node:assert/strict";
import { pairedDifference, studentGains, studentTCdf, studentTQuantile } from "../../src/experiments/paired-difference";

test("Student-t quantiles equal the published table (two-sided 95 % and 99 %)", () => {
  // t(0.975, df) and t(0.995, df) from the standard tables (e.g. NIST/SEMATECH handbook, 1.3.6.7.2).
  const table: [number, number, number][] = [
    [1, 12.706, 63.657],
    [2, 4.303, 9.925],
    [4, 2.776, 4.604],
    [9, 2.262, 3.25],
    [30, 2.042, 2.75],
    [100, 1.984, 2.626],
  ];
  for (const [df, t975, t995] of table) {
    assert.ok(Math.abs(studentTQuantile(0.975, df) - t975) < 1e-3, `df ${df}: ${studentTQuantile(0.975, df)} vs ${t975}`);
    assert.ok(Math.abs(studentTQuantile(0.995, df) - t995) < 1e-3, `df ${df}: ${studentTQuantile(0.995, df)} vs ${t995}`);
  }
  // df = 1 is the Cauchy distribution: CDF 1/2 + atan(t)/π, exactly.
  for (const t of [-3, -0.5, 0, 0.7, 10]) assert.ok(Math.abs(studentTCdf(t, 1) - (0.5 + Math.atan(t) / Math.PI)) < 1e-12);
  // Large df tends to the normal quantile 1.959964.
  assert.ok(Math.abs(studentTQuantile(0.975, 1e6) - 1.959964) < 1e-4);
  assert.ok(Math.abs(studentTQuantile(0.025, 4) + studentTQuantile(0.975, 4)) < 1e-9);
});

test("pairedDifference pairs by seed, not by position, and gives the hand-computed interval", () => {
  const a = [
    { seed: 2, accuracy: 0.9745 },
    { seed: 0, accuracy: 0.9715 },
    { seed: 1, accuracy: 0.971 },
    { seed: 7, accuracy: 0.5 }, // no partner: left out
  ];
  const b = [
    { seed: 0, accuracy: 0.97 },
    { seed: 1, accuracy: 0.969 },
    { seed: 2, accuracy: 0.972 },
  ];
  const d = pairedDifference(a, b);
  // Differences 0.0015, 0.002, 0.0025: mean 0.002, sample std 0.0005, half-width 4.303 · 0.0005 / √3.
  assert.deepEqual(d.seeds, [0, 1, 2]);
  d.differences.forEach((x, i) => assert.ok(Math.abs(x - [0.0015, 0.002, 0.0025][i]) < 1e-12));
  assert.ok(Math.abs(d.mean - 0.002) < 1e-12);
  assert.ok(Math.abs(d.std - 0.0005) < 1e-12);
  const half = (4.302653 * 0.0005) / Math.sqrt(3);
  assert.ok(Math.abs(d.interval[0] - (0.002 - half)) < 1e-8);
  assert.ok(Math.abs(d.interval[1] - (0.002 + half)) < 1e-8);
  assert.equal(d.n, 3);
  assert.equal(d.level, 0.95);
  // A consistent gain smaller than either method's spread is still significant when paired.
  assert.ok(d.interval[0] > 0);
});

test("pairedDifference refuses what it cannot pair, naming the comparison", () => {
  assert.throws(() => pairedDifference([{ seed: 0, accuracy: 0.9 }], [{ seed: 0, accuracy: 0.8 }], { what: "ntkd − kd" }), /ntkd − kd: needs at least 2 seeds/);
  assert.throws(() => pairedDifference([{ seed: 0, accuracy: 0.9 }, { seed: 0, accuracy: 0.8 }], [{ seed: 0, accuracy: 0.8 }]), /seed 0 twice/);
  assert.throws(() => pairedDifference([{ seed: 0, accuracy: NaN }, { seed: 1, accuracy: 0.8 }], [{ seed: 0, accuracy: 0.8 }, { seed: 1, accuracy: 0.8 }]), /accuracy NaN/);
});

test("studentGains reads summary.json's students record and keys each pair", () => {
  const students = {
    none: { models: [{ seed: 0, accuracy: 0.9 }, { seed: 1, accuracy: 0.92 }] },
    ntkd: { models: [{ seed: 1, accuracy: 0.95 }, { seed: 0, accuracy: 0.91 }] },
  };
  const g = studentGains(students, [["ntkd", "none"]]);
  assert.deepEqual(Object.keys(g), ["ntkd-none"]);
  assert.ok(Math.abs(g["ntkd-none"].mean - 0.02) < 1e-12);
  assert.deepEqual(g["ntkd-none"].seeds, [0, 1]);
  assert.throws(() => studentGains(students, [["ntkd", "kd"]]), /no method "kd" \(it has none, ntkd\)/);
});
