import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { summaryGains, summaryGainsMarkdown } from "../../src/experiments/summary-gains";

const students = (runs: Record<string, number[]>, seeds = [0, 1, 2]) =>
  Object.fromEntries(Object.entries(runs).map(([m, r]) => [m, { runs: r, models: r.map((accuracy, i) => ({ seed: seeds[i], accuracy })) }]));
const teacher = (key: string) => ({ accuracy: 0.99, model: { configKey: key } });

/** A summary in the shape reproduce writes, with numbers whose differences are easy to check by hand. */
function fixture() {
  return {
    notebooks: [],
    datasets: {
      mnist: {
        teacher: teacher("T"),
        seeds: [0, 1, 2],
        students: students({ none: [0.9, 0.91, 0.92], kd: [0.92, 0.92, 0.95], ntkd: [0.93, 0.94, 0.95] }),
        baselines: { teacher: teacher("T"), seeds: [0, 1, 2], students: students({ sp: [0.91, 0.915, 0.93] }) },
        fabrication: { simulated: { runs: [0.93, 0.94, 0.95] }, none: { runs: [0.8, 0.82, 0.81] }, e2e: { runs: [0.9, 0.9, 0.92] }, ntkd: { runs: [0.91, 0.9, 0.925] } },
        frontends: {
          fourier: { teacher: teacher("T"), seeds: [0, 1], students: students({ none: [0.98, 0.985], ntkd: [0.99, 0.99] }, [0, 1]) },
          ideal: { teacher: teacher("T"), seeds: [0], students: students({ none: [0.98], kd: [0.985] }, [0]) },
        },
        gainMap: {
          "f0.1": { axis: "studentTrainFraction", value: 0.1, teacher: teacher("T"), seeds: [0, 1], students: students({ kd: [0.9, 0.91], ntkd: [0.92, 0.92] }, [0, 1]) },
        },
      },
      "fashion-mnist": {
        teacher: teacher("F"),
        seeds: [0, 1],
        students: students({ none: [0.85, 0.86] }, [0, 1]),
        // Another teacher: the baseline may not be paired with this study's students.
        baselines: { teacher: teacher("other"), seeds: [0, 1], students: students({ sp: [0.8, 0.81], rkd: [0.82, 0.8] }, [0, 1]) },
      },
    },
  };
}

test("summaryGains pairs every study record of a summary by seed", () => {
  const gains = summaryGains(fixture());
  const by = (record: string, comparison: string) => gains.find((g) => g.record === record && g.comparison === comparison)?.difference;
  assert.deepEqual(
    gains.map((g) => `${g.record}: ${g.comparison}`),
    [
      "mnist: kd − none", "mnist: ntkd − none", "mnist: ntkd − kd",
      "mnist.baselines: sp − none", "mnist.baselines: sp − kd", "mnist.baselines: ntkd − sp",
      "mnist.fabrication: e2e − none", "mnist.fabrication: ntkd − none", "mnist.fabrication: ntkd − e2e",
      "mnist.frontends.fourier: ntkd − none",
      "mnist.gainMap.f0.1: ntkd − kd",
    ],
  );
  // ntkd − kd per seed: 0.01, 0.02, 0.00 → mean 0.01, std 0.01, half-width 4.303 · 0.01 / √3.
  const d = by("mnist", "ntkd − kd")!;
  assert.ok(Math.abs(d.mean - 0.01) < 1e-12);
  assert.ok(Math.abs(d.interval[1] - (0.01 + (4.302653 * 0.01) / Math.sqrt(3))) < 1e-8);
  // The baseline against the study's own KD students (same teacher): −0.01, −0.005, −0.02.
  assert.ok(Math.abs(by("mnist.baselines", "sp − kd")!.mean - -0.035 / 3) < 1e-12);
  // Fabrication rows are in seed order: ntkd − e2e = 0.01, 0, 0.005.
  assert.ok(Math.abs(by("mnist.fabrication", "ntkd − e2e")!.mean - 0.005) < 1e-12);
  assert.deepEqual(by("mnist.fabrication", "ntkd − e2e")!.seeds, [0, 1, 2]);
  // Two seeds: one degree of freedom (t = 12.706).
  const f = by("mnist.frontends.fourier", "ntkd − none")!;
  assert.equal(f.n, 2);
  assert.ok(Math.abs(f.interval[1] - f.mean - (12.7062 * f.std) / Math.sqrt(2)) < 1e-4);
  // A gain-map point: ntkd − kd per seed 0.02, 0.01.
  assert.ok(Math.abs(by("mnist.gainMap.f0.1", "ntkd − kd")!.mean - 0.015) < 1e-12);
});

test("summaryGains keeps a baseline of another teacher apart and skips one-seed studies", () => {
  const gains = summaryGains(fixture());
  assert.equal(gains.filter((g) => g.record === "mnist.frontends.ideal").length, 0, "one seed: no interval");
  assert.equal(gains.filter((g) => g.record.startsWith("fashion-mnist")).length, 0, "sp and rkd are not paired with another teacher's students");
  const wider = summaryGains(fixture(), { level: 0.99 }).find((g) => g.record === "mnist" && g.comparison === "ntkd − kd")!;
  assert.ok(Math.abs(wider.difference.interval[1] - 0.01 - (9.925 * 0.01) / Math.sqrt(3)) < 1e-5);
  const md = summaryGainsMarkdown(gains);
  assert.match(md, /\| mnist \| kd − none \| 2\.00 \| \[/);
  assert.match(md, /\| mnist\.fabrication \| e2e − none \| [0-9.]+ \| \[[0-9.]+, [0-9.]+\] \| 3 \| better \|/);
  const s = fixture();
  s.datasets.mnist.fabrication.e2e.runs = [0.9, 0.9];
  assert.throws(() => summaryGains(s), /mnist\.fabrication\.e2e: 2 runs for 3 seeds/);
  assert.throws(() => summaryGains({ notebooks: [] }), /expected a summary\.json with "datasets"/);
});

test("ntkd-lab gains prints the table of a summary.json and names a bad file in one line", () => {
  const main = path.join(__dirname, "..", "..", "src", "cli", "main.js");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-gains-"));
  const file = path.join(dir, "summary.json");
  fs.writeFileSync(file, JSON.stringify(fixture()));
  const ok = spawnSync(process.execPath, [main, "gains", file], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /\| mnist \| ntkd − kd \| 1\.00 \|/);
  const json = spawnSync(process.execPath, [main, "gains", file, "--json"], { encoding: "utf8" });
  assert.equal(JSON.parse(json.stdout).length, summaryGains(fixture()).length);
  fs.writeFileSync(path.join(dir, "bad.json"), "{ not json");
  const bad = spawnSync(process.execPath, [main, "gains", path.join(dir, "bad.json")], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trimEnd().split("\n").length, 1);
  assert.match(bad.stderr, /bad\.json as JSON/);
  const level = spawnSync(process.execPath, [main, "gains", file, "--level", "95"], { encoding: "utf8" });
  assert.equal(level.status, 2);
  assert.match(level.stderr, /--level must be a number in \(0, 1\), got 95/);
});
