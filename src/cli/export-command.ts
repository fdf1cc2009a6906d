/**
 * `ntkd-lab export`: writes the designed optics of a saved student (height map as NPY, 16-bit
 * PNG, CSV or GDSII; PSFs for frontends without heights) with a design.json sidecar. The
 * frontend is rebuilt from the checkpoint's `frontend` record (src/export/design-record.ts),
 * else from the run store's config.json `frontend`, else, for the distillation study's students,
 * from the `configKey` their weights carry (data set, kernel count, seed).
 */
import { parseArgs } from "node:util";
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError, type Command } from "./command";
import { checkBackendEnv } from "./backend-env";

const FORMATS = ["npy", "png", "csv", "gds"];

/** Image shapes of the classification data sets, for rebuilding the distillation study's students. */
const DATASET_SHAPES: Record<string, { height: number; width: number; channels: number }> = {
  mnist: { height: 28, width: 28, channels: 1 },
  "fashion-mnist": { height: 28, width: 28, channels: 1 },
  cifar10: { height: 32, width: 32, channels: 3 },
};

/** The checkpoint file a path names: the file itself, or the one student in a run folder. */
function checkpointFile(given: string, model: string | undefined): string {
  if (!fs.existsSync(given)) throw new UsageError(`export: ${given} does not exist (expected a run-store folder or a checkpoint file)`);
  if (fs.statSync(given).isFile()) return given;
  const dir = fs.existsSync(path.join(given, "checkpoints")) ? path.join(given, "checkpoints") : given;
  const candidates = fs.readdirSync(dir).filter((n) => (n.endsWith(".weights") || n.endsWith(".ckpt")) && fs.statSync(path.join(dir, n)).isFile()).sort();
  if (model !== undefined) {
    const pick = [model, `${model}.weights`].find((n) => candidates.includes(n));
    if (!pick) throw new UsageError(`export: --model ${model} is not in ${dir} (it holds ${candidates.join(", ") || "no checkpoints"})`);
    return path.join(dir, pick);
  }
  const students = candidates.filter((n) => !n.startsWith("teacher"));
  if (students.length === 1) return path.join(dir, students[0]);
  if (students.length === 0) throw new UsageError(`export: ${dir} holds no student checkpoint (*.weights); expected a run-store folder of a trained student`);
  throw new UsageError(`export: ${dir} holds ${students.length} students (${students.join(", ")}); choose one with --model NAME`);
}

export const exportCommand: Command = {
  name: "export",
  summary: "write a trained student's optics: height map (npy, png, csv) or GDSII, or its PSFs",
  usage: `ntkd-lab export <run-store folder | checkpoint> --format npy|png|csv|gds [--levels N] [--spacing-um D] [--model NAME] [--out dir]

  --format F       npy, png (16-bit grey), csv or gds; repeat or give a comma list for several
  --levels N       height levels per 2π to quantise to (integer >= 2); default the design's own;
                   gds needs one for a continuous design
  --spacing-um D   gap between kernels on the metasurface in µm (Eq. 1's d); default: the
                   smallest that keeps the sensor tiles apart
  --model NAME     which checkpoint of the run folder (e.g. student-ntkd-seed0) when it holds several
  --out dir        output folder (default <run folder>/export/<model>)
A metasurface design gives heightmap.* or metasurface.gds (1 nm database unit, 1 µm user unit;
top cell METASURFACE, cells KERNEL_000...; layer L+1 = height level L); a PSF frontend gives
psfs.npy / psfs.csv. design.json describes every file (wavelength, index, pitch, levels, layout).`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { format: { type: "string", multiple: true }, levels: { type: "string" }, "spacing-um": { type: "string" }, model: { type: "string" }, out: { type: "string" } },
    });
    if (positionals.length !== 1) throw new UsageError("export: expected exactly one run-store folder or checkpoint file");
    const formats = (values.format ?? []).flatMap((f) => f.split(",")).map((f) => f.trim()).filter((f) => f !== "");
    if (formats.length === 0) throw new UsageError(`export: --format is required (one of ${FORMATS.join(", ")})`);
    const bad = formats.find((f) => !FORMATS.includes(f));
    if (bad !== undefined) throw new UsageError(`export: --format must be one of ${FORMATS.join(", ")}, got "${bad}"`);
    let levels: number | undefined;
    if (values.levels !== undefined) {
      levels = Number(values.levels);
      if (!Number.isInteger(levels) || levels < 2 || levels > 255) throw new UsageError(`export: --levels must be an integer from 2 to 255, got "${values.levels}"`);
    }
    let spacingM: number | undefined;
    if (values["spacing-um"] !== undefined) {
      const um = Number(values["spacing-um"]);
      if (!Number.isFinite(um) || um < 0 || values["spacing-um"].trim() === "") throw new UsageError(`export: --spacing-um must be a number of micrometres >= 0, got "${values["spacing-um"]}"`);
      spacingM = um * 1e-6;
    }
    checkBackendEnv();
    const file = checkpointFile(positionals[0]!, values.model);
    const { initBackend } = require("../runtime/backend") as typeof import("../runtime/backend");
    await initBackend();
    const { readCheckpoint } = require("../train/checkpoint") as typeof import("../train/checkpoint");
    const { loadStoredWeights } = require("../train/loop") as typeof import("../train/loop");
    const exporter = require("../export/index") as typeof import("../export/index");
    const { buildStudentFor } = require("../experiments/architectures") as typeof import("../experiments/architectures");
    let ck;
    try {
      ck = readCheckpoint(file);
    } catch (err) {
      throw new UsageError(`export: ${(err as Error).message}`);
    }
    const stored = ck.tensors.weights;
    if (!stored) throw new UsageError(`export: ${file} holds no "weights" tensors (expected a student saved by saveWeights or a training checkpoint)`);
    const runDir = path.basename(path.dirname(file)) === "checkpoints" ? path.dirname(path.dirname(file)) : path.dirname(file);
    const configFile = path.join(runDir, "config.json");
    const runConfig = fs.existsSync(configFile) ? (JSON.parse(fs.readFileSync(configFile, "utf8")) as Record<string, unknown>) : {};
    const record = exporter.isFrontendRecord(ck.meta.frontend) ? ck.meta.frontend : exporter.isFrontendRecord(runConfig.frontend) ? runConfig.frontend : null;
    let frontend;
    let imageSize: [number, number];
    if (record !== null) {
      frontend = exporter.rebuildFrontend(record, stored, file);
      imageSize = [record.inputShape[0], record.inputShape[1]];
    } else if (typeof ck.meta.configKey === "string") {
      const key = JSON.parse(ck.meta.configKey) as { dataset?: string; seed?: number; kernels?: number | null; what?: string };
      const shape = key.dataset === undefined ? undefined : DATASET_SHAPES[key.dataset];
      if (key.what !== "student" || !shape) throw new UsageError(`export: ${file} is not a student of a known data set (configKey names ${JSON.stringify(key.what)} of ${JSON.stringify(key.dataset)})`);
      // Classes from the logit layer's bias (the last weight).
      const classes = stored[stored.length - 1].shape[0];
      const ds = { name: key.dataset!, images: new Float32Array(0), labels: new Uint8Array(0), count: 0, ...shape, classNames: Array.from({ length: classes }, (_, i) => String(i)) };
      const student = buildStudentFor(ds, key.seed ?? 0, { kernels: key.kernels ?? undefined });
      loadStoredWeights(student.model.weights, stored, file);
      frontend = student.frontend;
      imageSize = [shape.height, shape.width];
    } else {
      throw new UsageError(`export: ${file} does not say which optics it holds (expected a "frontend" record in its metadata or in ${configFile}; see frontendRecord)`);
    }
    const name = path.basename(file).replace(/\.(weights|ckpt)$/, "");
    const outDir = values.out ?? path.join(runDir, "export", name);
    try {
      const result = await exporter.exportDesign(frontend, { formats: formats as import("../export/index").ExportFormat[], outDir, levels, spacingM, imageSize, source: file });
      for (const f of result.files) process.stdout.write(`${f}\n`);
    } catch (err) {
      if (err instanceof exporter.ExportFormatError) throw new UsageError(`export: --format ${formats.join(",")}: ${err.message}`);
      if (/sensor tiles .* overlap/.test((err as Error).message)) throw new UsageError(`export: --spacing-um ${values["spacing-um"] ?? "(default)"}: ${(err as Error).message}`);
      throw err;
    }
    return 0;
  },
};
