import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { MODE_FLAGS, modeFromFlags, UsageError, type Command } from "./command";
import { checkWritableFile, writeFileAtomic } from "../notebook/run-store";
import type { DistillationPreset, StudentMethod } from "../experiments/presets";

/** Keys `--preset` may override: those of a resolved preset. */
const PRESET_KEYS: readonly (keyof DistillationPreset)[] = ["sizes", "seeds", "teacherEpochs", "studentEpochs", "batchSize", "teacherLearningRate", "studentLearningRate", "studentCosine", "teacherCosine", "patience", "kd", "ntkd", "sp", "rkd", "gram", "frontend", "studentTrainFraction", "studentKernels", "studentKernelSize"];

/** `--preset` as an object of known preset keys, or a one-line usage error. */
export function parsePresetOverrides(raw: string | undefined): Partial<DistillationPreset> {
  if (raw === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`plan: --preset must be a JSON object such as '{"teacherEpochs":1}', got ${JSON.stringify(raw)} (${(err as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UsageError(`plan: --preset must be a JSON object of preset settings, got ${raw}`);
  const unknown = Object.keys(value).filter((k) => !(PRESET_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new UsageError(`plan: --preset: unknown setting ${unknown.join(", ")}; expected some of ${PRESET_KEYS.join(", ")}`);
  return value as Partial<DistillationPreset>;
}

function list(raw: string | undefined): string[] | undefined {
  return raw === undefined ? undefined : raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

export const planCommand: Command = {
  name: "plan",
  summary: "write the distillation study as independent jobs (plan.json) and a Slurm array script",
  usage: `ntkd-lab plan [--smoke | --quick | --full] [--out plan.json] [--datasets list] [--methods list] [--preset json]
                [--jobs dir] [--launcher command] [--cpus-per-task n] [--sbatch option]...

  --smoke / --quick / --full
                     the mode's preset (default --quick), as reproduce trains it
  --out file         plan.json to write (default plan.json); study.sbatch and submit.sh go beside it
  --datasets list    e.g. mnist,fashion-mnist (default the notebooks': mnist, + fashion-mnist in smoke
                     mode, + cifar10 when installed)
  --methods list     student methods: none, kd, ntkd, kd+ntkd, sp, rkd, gram (default none,kd,ntkd)
  --preset json      overrides of the mode's preset, e.g. '{"seeds":[0,1],"teacherEpochs":1,
                     "sizes":{"trainCount":300,"validationCount":100,"testCount":200}}';
                     "frontend" picks the students' optical layer (psf, metasurface, fourier, ideal)
                     "studentTrainFraction" (0-1] trains the students on that stratified share of
                     the training split (the teacher on all of it): a point of the gain map;
                     "studentKernels" n gives the students n optical kernels (the map's kernel axis)
                     "studentKernelSize" k gives them k x k-pixel kernels (odd; default 7)
  --jobs dir         where each job writes its run store job-<id>/ (default jobs/ beside the plan;
                     on a cluster, a folder of the shared file system)
  --launcher cmd     how jobs start ntkd-lab (default ntkd-lab; e.g. "node /opt/ntkd-lab/dist/cli/main.js")
  --cpus-per-task n  CPUs per Slurm task (default 2); the wasm backend runs that many threads
  --sbatch option    extra #SBATCH line, repeatable (e.g. --sbatch=--partition=gpu --sbatch=--gres=gpu:1)
Jobs 0..T-1 train the teachers (one per data set), the others one student each (data set x seed x
method). Run them with: bash submit.sh (two sbatch --array calls, students after the teachers), or
one by one: ntkd-lab job <id> --plan plan.json. Then: ntkd-lab merge --plan plan.json.`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...MODE_FLAGS, out: { type: "string" }, datasets: { type: "string" }, methods: { type: "string" },
        preset: { type: "string" }, jobs: { type: "string" }, launcher: { type: "string" }, "cpus-per-task": { type: "string" }, sbatch: { type: "string", multiple: true },
      },
    });
    const mode = modeFromFlags("plan", values);
    const cpus = values["cpus-per-task"] === undefined ? 2 : Number(values["cpus-per-task"]);
    if (!Number.isInteger(cpus) || cpus < 1) throw new UsageError(`plan: --cpus-per-task must be an integer >= 1, got "${values["cpus-per-task"]}"`);
    if (values.launcher !== undefined && values.launcher.trim() === "") throw new UsageError("plan: --launcher must be a command, e.g. ntkd-lab");
    const planPath = path.resolve(values.out ?? "plan.json");
    checkWritableFile(planPath, "--out (the plan file)", "plan.json");
    const dir = path.dirname(planPath);
    const jobsDir = path.resolve(values.jobs ?? path.join(dir, "jobs"));
    const preset = parsePresetOverrides(values.preset);
    // Loaded here: the study modules load tfjs, which --help and usage errors do not need.
    const { planDistillationStudy, slurmScripts, describeJob } = require("../experiments/study-plan") as typeof import("../experiments/study-plan");
    const plan = planDistillationStudy({ mode, datasets: list(values.datasets), methods: list(values.methods) as StudentMethod[] | undefined, preset, planPath, jobsDir, launcher: values.launcher });
    const batchPath = path.join(dir, "study.sbatch");
    const submitPath = path.join(dir, "submit.sh");
    const scripts = slurmScripts(plan, { batchPath, cpusPerTask: cpus, logsDir: path.join(dir, "logs"), sbatchOptions: values.sbatch });
    writeFileAtomic(planPath, JSON.stringify(plan, null, 2) + "\n");
    writeFileAtomic(batchPath, scripts.batch);
    writeFileAtomic(submitPath, scripts.submit);
    fs.chmodSync(submitPath, 0o755);
    const lines = plan.jobs.map((j) => `  ${String(j.id).padStart(3)}  ${describeJob(j).padEnd(34)}  ${j.command}`);
    process.stdout.write([`${plan.jobs.length} jobs (${mode}) in ${planPath}:`, ...lines, `Slurm array script: ${batchPath}`, `submit: bash ${submitPath}`, ""].join("\n"));
    return 0;
  },
};
