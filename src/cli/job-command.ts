import * as path from "node:path";
import { parseArgs } from "node:util";
import { UsageError, type Command } from "./command";
import { checkBackendEnv } from "./backend-env";

export const jobCommand: Command = {
  name: "job",
  summary: "train one job of a study plan into its own run store (see ntkd-lab plan)",
  usage: `ntkd-lab job <id> --plan plan.json [--jobs dir]

  <id>         the job's id in the plan (the Slurm array task id)
  --plan file  the plan written by ntkd-lab plan
  --jobs dir   folder of the jobs' run stores (default the plan's); this job writes job-<id>/ there,
               first as .job-<id>.partial/ (a rerun resumes it), renamed when complete
A student job needs its teacher's job-<id>/ in the same folder. A complete job-<id>/ is kept: a
rerun trains nothing. The backend is chosen as everywhere (NTKD_BACKEND, else the fastest).`,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { plan: { type: "string" }, jobs: { type: "string" } } });
    if (positionals.length !== 1) throw new UsageError(`job: expected one job id, got ${positionals.length === 0 ? "none" : positionals.join(" ")}`);
    const id = Number(positionals[0]);
    if (!/^\d+$/.test(positionals[0]!)) throw new UsageError(`job: the job id must be a whole number >= 0, got "${positionals[0]}"`);
    if (values.plan === undefined) throw new UsageError("job: --plan is required (the plan.json of ntkd-lab plan)");
    checkBackendEnv();
    const study = require("../experiments/study-plan") as typeof import("../experiments/study-plan");
    const plan = study.readStudyPlan(values.plan);
    const job = study.findJob(plan, id);
    const jobsDir = path.resolve(values.jobs ?? plan.jobsDir);
    const { initBackend } = require("../runtime/backend") as typeof import("../runtime/backend");
    const { backend } = await initBackend();
    const started = Date.now();
    const outcome = await study.runStudyJob(plan, id, jobsDir, (line) => process.stdout.write(`epoch ${line}\n`));
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      outcome.loaded
        ? `job ${id} (${study.describeJob(job)}): already complete in ${outcome.dir}; nothing trained\n`
        : `job ${id} (${study.describeJob(job)}): trained on ${backend} in ${seconds} s, test accuracy ${(100 * outcome.accuracy!).toFixed(2)} % -> ${outcome.dir}\n`,
    );
    return 0;
  },
};
