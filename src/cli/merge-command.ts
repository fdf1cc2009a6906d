import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { UsageError, type Command } from "./command";
import { checkBackendEnv } from "./backend-env";
import { checkWritableDir, strictJson, writeFileAtomic } from "../notebook/run-store";
import type { StudyPlan } from "../experiments/study-plan";

/**
 * Epochs recorded in each planned data set's model store (metrics.jsonl lines of the teacher's and
 * the students' phases; other stages' training, e.g. fabrication, records other phases).
 */
function trainingRecords(runs: string, plan: StudyPlan): Map<string, number> {
  const phases = new Set<string>(["teacher", ...plan.methods]);
  const counts = new Map<string, number>();
  for (const dataset of plan.datasets) {
    const file = path.join(runs, `models-${dataset}`, plan.mode, "metrics.jsonl");
    const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "") : [];
    counts.set(file, lines.filter((l) => phases.has(String((JSON.parse(l) as { phase?: unknown }).phase))).length);
  }
  return counts;
}

/** Whether `file` is the summary.json of a reproduction (it lists the stage notebooks). */
function isReproduction(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  try {
    return Array.isArray((JSON.parse(fs.readFileSync(file, "utf8")) as { notebooks?: unknown }).notebooks);
  } catch {
    return false;
  }
}

export const mergeCommand: Command = {
  name: "merge",
  summary: "gather a plan's job run stores into one run store, then write summary.json and report.md",
  usage: `ntkd-lab merge --plan plan.json [--from dir...] [--out results/<mode>] [--study-only | --notebooks]

  --plan file    the plan written by ntkd-lab plan
  --from dir...  folders holding the jobs' job-<id>/ stores (default the plan's jobs folder); the
                 first folder holding a job wins. Every job must be present and complete.
  --out dir      output folder (default results/<mode>); models go to <out>/runs/models-<dataset>/<mode>/,
                 where reproduce looks for them. A different model already there is never overwritten.
  --notebooks    after merging, run reproduce on <out> (default for a plan of the notebooks' own
                 settings): every planned model loads instead of training, so summary.json and
                 report.md are those of reproduce; fails if it trained any distillation model
  --study-only   after merging, summarise only the distillation study in-process (default for a plan
                 with --preset, --methods or --datasets of its own): summary.json holds per data set
                 what notebook 03 records (teacher, students' mean/std/runs), trained models: 0.
                 Into the folder of a reproduction (its summary.json lists notebooks), the study
                 joins it as one more stage (runs/study-<datasets>/<mode>/): its data sets are
                 added to summary.json and report.md, and nothing the notebooks recorded changes`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { plan: { type: "string" }, from: { type: "string", multiple: true }, out: { type: "string" }, "study-only": { type: "boolean" }, notebooks: { type: "boolean" } },
    });
    if (values.plan === undefined) throw new UsageError("merge: --plan is required (the plan.json of ntkd-lab plan)");
    if (values["study-only"] && values.notebooks) throw new UsageError("merge: give --study-only or --notebooks, not both");
    if (positionals.length > 0 && values.from === undefined) throw new UsageError(`merge: unexpected argument "${positionals[0]}"; folders of job stores go after --from`);
    checkBackendEnv();
    const study = require("../experiments/study-plan") as typeof import("../experiments/study-plan");
    const plan = study.readStudyPlan(values.plan);
    const from = [...(values.from ?? [plan.jobsDir]), ...positionals].map((d) => path.resolve(d));
    const out = path.resolve(values.out ?? path.join("results", plan.mode));
    checkWritableDir(out, "--out (the merged results folder)");
    const runs = path.join(out, "runs");
    const merged = study.mergeStudyJobs(plan, from, runs);
    process.stderr.write(`merged ${plan.jobs.length} jobs into ${runs} (${merged.copied.length} copied, ${merged.alreadyPresent.length} already there)\n`);
    const notebookSettings = Object.keys(plan.preset).length === 0 && plan.methods.length === 3;
    const useNotebooks = values.notebooks ?? (values["study-only"] ? false : notebookSettings);
    if (useNotebooks) {
      const { reproduce } = require("../notebook/reproduce") as typeof import("../notebook/reproduce");
      const before = trainingRecords(runs, plan);
      const result = await reproduce({ mode: plan.mode, out });
      const retrained = [...trainingRecords(runs, plan)].filter(([file, n]) => n > (before.get(file) ?? 0)).map(([file]) => path.relative(out, file));
      process.stderr.write(`report: ${result.reportPath}\nsummary: ${result.summaryPath}\n`);
      if (retrained.length > 0) {
        process.stderr.write(`ntkd-lab merge: reproduce trained models the plan did not hold (new epochs in ${retrained.join(", ")}); plan every data set the notebooks train\n`);
        return 1;
      }
      return result.ok ? 0 : 1;
    }
    const { initBackend } = require("../runtime/backend") as typeof import("../runtime/backend");
    const { backend } = await initBackend();
    const started = Date.now();
    const summaryPath = path.join(out, "summary.json");
    const reportPath = path.join(out, "report.md");
    const intoReproduction = isReproduction(summaryPath);
    const stage = study.studyStageName(plan);
    // Into a reproduction, the study's report is a fragment in its own run folder, linked from there.
    const { summary, report } = await study.summarizeStudy(plan, runs, intoReproduction ? { linkFrom: path.join(runs, stage, plan.mode) } : {});
    if (intoReproduction) {
      // Into a reproduction's folder: the study becomes one more stage of it, and what the
      // notebooks recorded stays as it is.
      const { addStageToReproduction } = require("../notebook/reproduce") as typeof import("../notebook/reproduce");
      const { openRun } = require("../notebook/run-store") as typeof import("../notebook/run-store");
      const { gitCommit } = require("../notebook/git") as typeof import("../notebook/git");
      const run = openRun(stage, plan.mode, { root: runs });
      writeFileAtomic(path.join(run.dir, "plan.json"), fs.readFileSync(values.plan));
      run.writeResults({ stage: "study", backend, datasets: study.studyStageResults(plan, summary) });
      run.writeReport(report.replace(/^# .*\n\n/, `Merged from the ${plan.jobs.length} jobs of [plan.json](plan.json) (\`ntkd-lab merge --study-only\`).\n\n`));
      const added = addStageToReproduction(out, {
        notebook: stage, ok: true, seconds: (Date.now() - started) / 1000,
        executed: path.relative(out, path.join(run.dir, "plan.json")).split(path.sep).join("/"),
        runs: [path.relative(out, run.dir).split(path.sep).join("/")], stages: ["study"],
        commit: gitCommit(), startedAt: new Date(started).toISOString(),
      });
      process.stderr.write(`${summary.models.loaded} models loaded, ${summary.models.trained} trained; added to the reproduction as ${stage}\nreport: ${added.reportPath}\nsummary: ${added.summaryPath}\n`);
      return 0;
    }
    writeFileAtomic(summaryPath, strictJson({ ...summary, backend }, "summary.json") + "\n");
    writeFileAtomic(reportPath, report);
    process.stderr.write(`${summary.models.loaded} models loaded, ${summary.models.trained} trained\nreport: ${reportPath}\nsummary: ${summaryPath}\n`);
    return 0;
  },
};
