/**
 * The distillation study as independent jobs, for schedulers outside this machine (Slurm arrays).
 * `planDistillationStudy` lists one job per teacher (data set) and per student (data set x method
 * x seed); `runStudyJob` trains exactly one of them into a run store of its own
 * (`<jobs>/job-<id>/`, written under a temporary name and renamed when complete);
 * `mergeStudyJobs` copies every job's model into one run store laid out like the notebooks'
 * (`<runs>/models-<dataset>/<mode>/checkpoints/`), where `runDistillationStudy` and `reproduce`
 * load them instead of training.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InputError } from "../notebook/errors";
import { openRun, writeFileAtomic, strictJson } from "../notebook/run-store";
import { byMode, type NotebookMode } from "../notebook/params";
import { readCheckpoint } from "../train/checkpoint";
import { cifar10Available } from "../data/cifar10";
import { loadClassificationSplits, resolveClassificationDatasets, CLASSIFICATION_DATASETS, type ClassificationDatasetName } from "./datasets";
import { DEFAULT_STUDENT_METHODS, STUDENT_METHODS, type DistillationPreset, type StudentMethod } from "./presets";
import { keyedKernelSize, keyedKernelsOf, obtainStudent, obtainTeacher, resolvePreset, studentTag, runDistillationStudy, studentKey, studySummary, teacherKey, type DistillationStudyResult } from "./distillation";
import { comparisonMarkdown, distillationRows } from "./report";

/** The file format tag of a plan, checked when one is read. */
export const STUDY_PLAN_FORMAT = "ntkd-lab-study-plan/1";

/** One job of a plan: a teacher, or one student that needs its data set's teacher. */
export interface StudyJob {
  /** Index in the plan's job list, and the Slurm array index that runs it. */
  id: number;
  kind: "teacher" | "student";
  dataset: ClassificationDatasetName;
  /** Student jobs only. */
  method?: StudentMethod;
  /** Student jobs only. */
  seed?: number;
  /** Jobs whose models this one needs (a student's teacher). */
  dependsOn: number[];
  /** The model's checkpoint name in `models-<dataset>/<mode>/checkpoints/`. */
  file: string;
  /** The config key the model must carry; anything else is a different model. */
  configKey: string;
  /** The shell command that runs this job. */
  command: string;
}

/** A planned study (plan.json). */
export interface StudyPlan {
  format: typeof STUDY_PLAN_FORMAT;
  mode: NotebookMode;
  datasets: ClassificationDatasetName[];
  methods: StudentMethod[];
  /** Overrides of every data set's mode preset (`{}`: exactly the notebooks' settings). */
  preset: Partial<DistillationPreset>;
  /** The settings each data set's jobs train with (the mode's preset with the overrides). */
  resolved: Record<string, DistillationPreset>;
  /** Folder of the per-job run stores `job-<id>/` the commands write. */
  jobsDir: string;
  /** plan.json's path as the commands name it. */
  planPath: string;
  /** How the commands start ntkd-lab. */
  launcher: string;
  /** Teachers first (ids 0 .. teachers-1), then students. */
  jobs: StudyJob[];
}

/** Options of {@link planDistillationStudy}. */
export interface PlanOptions {
  mode: NotebookMode;
  /** Data sets (default the notebooks': MNIST, Fashion-MNIST in quick mode, CIFAR-10 when installed). */
  datasets?: string[];
  /** Student methods (default the paper's three, DEFAULT_STUDENT_METHODS). */
  methods?: StudentMethod[];
  /** Overrides of the mode's preset (sizes, epochs, seeds ...), the same for every data set. */
  preset?: Partial<DistillationPreset>;
  /** Path of plan.json as the job commands should name it. */
  planPath: string;
  /** Folder of the per-job run stores, as the job commands should name it. */
  jobsDir: string;
  /** How the commands start ntkd-lab (default "ntkd-lab"; e.g. "node /opt/ntkd-lab/dist/cli/main.js"). */
  launcher?: string;
}

/** Quotes a word for POSIX sh when it holds anything but safe characters. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function studentFile(method: StudentMethod, seed: number, p: DistillationPreset, kernels: number | undefined): string {
  return `student-${studentTag(method, seed, kernels, p.frontend, p.studentTrainFraction, keyedKernelSize(p.studentKernelSize))}.weights`;
}

/** The study as jobs; see the module comment. Data sets are checked (installed, known) here. */
export function planDistillationStudy(opts: PlanOptions): StudyPlan {
  const explicit = opts.datasets !== undefined;
  // The notebooks' defaults (02-teacher, 03-ntkd): a plan without --datasets covers what reproduce trains.
  // The data sets notebook 03 trains in each mode.
  const requested = opts.datasets ?? byMode(opts.mode, { smoke: ["mnist", "fashion-mnist"], quick: ["mnist"], full: ["mnist"] });
  let datasets: ClassificationDatasetName[];
  try {
    datasets = resolveClassificationDatasets(requested, { explicit, log: () => {} });
  } catch (err) {
    throw new InputError(`plan: --datasets: ${(err as Error).message}`);
  }
  if (!explicit && cifar10Available() && !datasets.includes("cifar10")) datasets.push("cifar10");
  if (datasets.length === 0) throw new InputError(`plan: none of the data sets ${requested.join(", ")} is installed; expected some of ${CLASSIFICATION_DATASETS.join(", ")}`);
  const methods = opts.methods ?? [...DEFAULT_STUDENT_METHODS];
  for (const m of methods) if (!STUDENT_METHODS.includes(m)) throw new InputError(`plan: --methods: unknown method "${m}"; expected some of ${STUDENT_METHODS.join(", ")}`);
  if (methods.length === 0 || new Set(methods).size !== methods.length) throw new InputError(`plan: --methods must name each method once, got ${methods.join(",") || "none"}`);
  const preset = opts.preset ?? {};
  const launcher = opts.launcher ?? "ntkd-lab";
  const resolved: Record<string, DistillationPreset> = {};
  for (const d of datasets) resolved[d] = resolvePreset(d, opts.mode, preset);
  const jobs: StudyJob[] = [];
  const command = (id: number) => jobCommand({ launcher, planPath: opts.planPath, jobsDir: opts.jobsDir }, String(id));
  const teacherOf = new Map<ClassificationDatasetName, number>();
  for (const dataset of datasets) {
    const id = jobs.length;
    teacherOf.set(dataset, id);
    jobs.push({ id, kind: "teacher", dataset, dependsOn: [], file: "teacher.weights", configKey: teacherKey(dataset, resolved[dataset]!), command: command(id) });
  }
  for (const dataset of datasets) {
    const p = resolved[dataset]!;
    const kernels = keyedKernelsOf(dataset, p.studentKernels);
    if (!Array.isArray(p.seeds) || p.seeds.length === 0) throw new InputError(`plan: ${dataset}: the preset has no seeds; expected a list such as [0, 1]`);
    // Seed-major, as the worker pool orders them: a partial run compares the methods of a seed.
    for (const seed of p.seeds) {
      for (const method of methods) {
        const id = jobs.length;
        jobs.push({ id, kind: "student", dataset, method, seed, dependsOn: [teacherOf.get(dataset)!], file: studentFile(method, seed, p, kernels), configKey: studentKey(dataset, p, method, seed, kernels), command: command(id) });
      }
    }
  }
  return { format: STUDY_PLAN_FORMAT, mode: opts.mode, datasets, methods, preset, resolved, jobsDir: opts.jobsDir, planPath: opts.planPath, launcher, jobs };
}

/** The command that runs job `id` (a number, or a shell expression such as "$SLURM_ARRAY_TASK_ID"). */
export function jobCommand(plan: Pick<StudyPlan, "launcher" | "planPath" | "jobsDir">, id: string): string {
  const word = /^\d+$/.test(id) ? id : `"${id}"`;
  return `${plan.launcher} job ${word} --plan ${shellQuote(plan.planPath)} --jobs ${shellQuote(plan.jobsDir)}`;
}

/** Reads and checks plan.json; errors name the file. */
export function readStudyPlan(file: string): StudyPlan {
  let plan: StudyPlan;
  try {
    plan = JSON.parse(fs.readFileSync(file, "utf8")) as StudyPlan;
  } catch (err) {
    throw new InputError(`--plan ${file}: cannot read the plan (expected the JSON file \`ntkd-lab plan\` wrote): ${(err as Error).message}`);
  }
  if (!plan || plan.format !== STUDY_PLAN_FORMAT || !Array.isArray(plan.jobs)) {
    throw new InputError(`--plan ${file}: not a study plan (expected "format": "${STUDY_PLAN_FORMAT}" and a "jobs" list)`);
  }
  return plan;
}

/** The job of a plan by id, or a one-line error with the ids there are. */
export function findJob(plan: StudyPlan, id: number): StudyJob {
  const job = Number.isInteger(id) ? plan.jobs[id] : undefined;
  if (!job) throw new InputError(`job: no job ${id} in the plan; expected an id from 0 to ${plan.jobs.length - 1}`);
  return job;
}

/** "student ntkd seed 1 of mnist", for messages. */
export function describeJob(job: StudyJob): string {
  return job.kind === "teacher" ? `teacher of ${job.dataset}` : `student ${job.method} seed ${job.seed} of ${job.dataset}`;
}

/** A job's run store root (`<jobsDir>/job-<id>`). */
export function jobDir(jobsDir: string, id: number): string {
  return path.join(jobsDir, `job-${id}`);
}

/** Where a job's model lies under a runs root laid out like the notebooks'. */
export function modelPath(runsRoot: string, plan: StudyPlan, job: StudyJob): string {
  return path.join(runsRoot, `models-${job.dataset}`, plan.mode, "checkpoints", job.file);
}

/** Why a job's model under `runsRoot` is not complete, or null when it is. */
export function entryProblem(runsRoot: string, plan: StudyPlan, job: StudyJob): string | null {
  const file = modelPath(runsRoot, plan, job);
  if (!fs.existsSync(file)) return `${file} does not exist`;
  try {
    const key = readCheckpoint(file).meta.configKey;
    return key === job.configKey ? null : `${file} holds a model of other settings (config key ${String(key)})`;
  } catch (err) {
    return `${file} is unreadable: ${(err as Error).message}`;
  }
}

/** What {@link runStudyJob} did. */
export interface JobOutcome {
  job: StudyJob;
  /** True when the job's store was already complete, so nothing was trained. */
  loaded: boolean;
  /** Test accuracy (absent when `loaded`: the model was not evaluated again). */
  accuracy?: number;
  /** The job's run store root. */
  dir: string;
}

/**
 * Trains one job into `<jobsDir>/job-<id>/`. The store is written as `.job-<id>.partial/` (which a
 * rerun resumes from) and renamed when complete; a complete store is left as it is.
 */
export async function runStudyJob(plan: StudyPlan, id: number, jobsDir: string, onEpoch?: (line: string) => void): Promise<JobOutcome> {
  const job = findJob(plan, id);
  const dir = jobDir(jobsDir, id);
  if (fs.existsSync(dir)) {
    const problem = entryProblem(dir, plan, job);
    if (problem === null) return { job, loaded: true, dir };
    throw new InputError(`job ${id} (${describeJob(job)}): ${dir} exists but is not this job's complete result (${problem}); remove it to train again`);
  }
  const preset = plan.resolved[job.dataset];
  if (!preset) throw new InputError(`job ${id}: the plan has no settings for ${job.dataset} (expected it under "resolved")`);
  for (const dep of job.dependsOn) {
    const depJob = findJob(plan, dep);
    const problem = fs.existsSync(jobDir(jobsDir, dep)) ? entryProblem(jobDir(jobsDir, dep), plan, depJob) : `${jobDir(jobsDir, dep)} does not exist`;
    if (problem !== null) throw new InputError(`job ${id} needs job ${dep} (${describeJob(depJob)}) first: ${problem}`);
  }
  const partial = path.join(jobsDir, `.job-${id}.partial`);
  const store = openRun(`models-${job.dataset}`, plan.mode, { root: partial });
  const splits = loadClassificationSplits(job.dataset, preset.sizes);
  let accuracy: number;
  if (job.kind === "teacher") {
    const t = await obtainTeacher({ dataset: job.dataset, mode: plan.mode, run: store }, splits, preset);
    accuracy = t.evaluation.accuracy;
    t.model.dispose();
  } else {
    const teacherStore = openRun(`models-${job.dataset}`, plan.mode, { root: jobDir(jobsDir, job.dependsOn[0]!) });
    const teacher = await obtainTeacher({ dataset: job.dataset, mode: plan.mode, run: teacherStore }, splits, preset);
    if (!teacher.loaded) throw new Error(`job ${id}: the teacher of job ${job.dependsOn[0]} did not load; it was retrained (a bug)`);
    const { student, run } = await obtainStudent({ dataset: job.dataset, run: store }, splits, preset, teacher.model, job.method!, job.seed!);
    accuracy = run.accuracy;
    student.dispose();
    teacher.model.dispose();
  }
  for (const record of store.readMetrics<Record<string, unknown>>()) onEpoch?.(JSON.stringify(record));
  writeFileAtomic(path.join(partial, "job.json"), strictJson({ id, kind: job.kind, dataset: job.dataset, method: job.method, seed: job.seed, configKey: job.configKey, accuracy }, "job.json") + "\n");
  fs.renameSync(partial, dir);
  return { job, loaded: false, accuracy, dir };
}

/** What {@link mergeStudyJobs} did per job. */
export interface MergeOutcome {
  copied: number[];
  /** Jobs whose model the target already held, byte for byte. */
  alreadyPresent: number[];
}

/**
 * Copies every job's model from the first of `fromDirs` holding `job-<id>/` into `runsRoot`.
 * Every job is checked before anything is copied; a job missing or incomplete is a one-line error
 * naming it and its command, and a different model already in the target is never overwritten.
 */
export function mergeStudyJobs(plan: StudyPlan, fromDirs: string[], runsRoot: string): MergeOutcome {
  if (fromDirs.length === 0) throw new InputError("merge: --from needs at least one folder of job-<id>/ run stores");
  const sources = plan.jobs.map((job) => {
    const found = fromDirs.map((d) => jobDir(d, job.id)).find((d) => fs.existsSync(d));
    if (!found) throw new InputError(`merge: job ${job.id} (${describeJob(job)}) is missing: no job-${job.id}/ in ${fromDirs.join(", ")}; run \`${job.command}\``);
    const problem = entryProblem(found, plan, job);
    if (problem !== null) throw new InputError(`merge: job ${job.id} (${describeJob(job)}) is incomplete: ${problem}; rerun \`${job.command}\``);
    const target = modelPath(runsRoot, plan, job);
    const bytes = fs.readFileSync(modelPath(found, plan, job));
    const same = fs.existsSync(target) ? fs.readFileSync(target).equals(bytes) : undefined;
    if (same === false) throw new InputError(`merge: ${target} already holds a different model than job ${job.id} (${describeJob(job)}); merge into another --out, or remove it`);
    return { job, bytes, target, same };
  });
  const outcome: MergeOutcome = { copied: [], alreadyPresent: [] };
  for (const { job, bytes, target, same } of sources) {
    if (same) {
      outcome.alreadyPresent.push(job.id);
      continue;
    }
    // openRun lays out the run folder as the notebooks expect it (checkpoints/, figures/).
    openRun(`models-${job.dataset}`, plan.mode, { root: runsRoot });
    writeFileAtomic(target, bytes);
    outcome.copied.push(job.id);
  }
  return outcome;
}

/**
 * The stage name a merged study takes in a reproduction: `study-<datasets>`, with the frontend
 * when the plan names one (`study-mnist-metasurface`, `study-mnist-psf`).
 */
export function studyStageName(plan: StudyPlan): string {
  const frontend = plan.preset.frontend !== undefined ? [plan.preset.frontend] : [];
  const point = gainMapPoint(plan.preset);
  return ["study", ...plan.datasets, ...frontend, ...(point ? [point.tag] : isBaselinePlan(plan) ? plan.methods : [])].join("-");
}

/** The preset fields a gain-map point may move off the protocol, in the order its tag names them. */
export const GAIN_MAP_AXES = ["studentKernels", "studentTrainFraction"] as const;
/** One of {@link GAIN_MAP_AXES}. */
export type GainMapAxis = (typeof GAIN_MAP_AXES)[number];

/** A point of the gain map (issue "when does NTKD help?"): the settings that move it off the study's protocol. */
export interface GainMapPoint {
  /**
   * The axis the point lies on: the kernel count when it is set (a point of the kernel axis,
   * which crosses the data axis at one share), else the share of the training split.
   */
  axis: GainMapAxis;
  value: number;
  /** Every gain-map field the preset sets, e.g. { studentKernels: 4, studentTrainFraction: 0.1 }. */
  setting: Partial<Record<GainMapAxis, number>>;
  /** Its name in stage names, file names and `gainMap`, e.g. "f0.1", "k4-f0.1". */
  tag: string;
}

const AXIS_PREFIX: Record<GainMapAxis, string> = { studentKernels: "k", studentTrainFraction: "f" };

/** The gain-map point a preset sits at, or null for the study's own protocol. */
export function gainMapPoint(preset: Partial<DistillationPreset>): GainMapPoint | null {
  const axes = GAIN_MAP_AXES.filter((a) => preset[a] !== undefined);
  if (axes.length === 0) return null;
  const setting = Object.fromEntries(axes.map((a) => [a, preset[a]!])) as GainMapPoint["setting"];
  const axis = axes[0]!;
  return { axis, value: setting[axis]!, setting, tag: axes.map((a) => `${AXIS_PREFIX[a]}${setting[a]}`).join("-") };
}

/**
 * A plan of methods other than the paper's three (e.g. `--methods sp,rkd`): transfer baselines
 * beside a study, which the reproduction records apart from it (see {@link studyStageResults}).
 */
function isBaselinePlan(plan: StudyPlan): boolean {
  return plan.methods.some((m) => !DEFAULT_STUDENT_METHODS.includes(m));
}

/**
 * A merged study's results as a reproduction records them: per data set what notebook 03 records,
 * or, for a plan that names its frontend, under `<dataset>.frontends.<frontend>` (a row of the
 * hardware table), beside the study of the notebooks. A plan naming psf trains the notebooks'
 * own students (psf is left out of their keys), but records them as the table's psf row, so
 * that every row of the table comes from one teacher and one protocol. A plan of other methods
 * than the paper's three (transfer baselines such as SP and RKD) is recorded under `baselines`
 * there (`datasets.mnist.baselines`), with its own seeds, beside the study it is compared with.
 */
export function studyStageResults(plan: StudyPlan, summary: StudySummaryFile): Record<string, Record<string, unknown>> {
  const frontend = plan.preset.frontend;
  const point = gainMapPoint(plan.preset);
  // Baselines keep their own teacher, seeds and students under `baselines`, so a study's record stays as it was.
  const asBaseline = (s: Record<string, unknown>) => (isBaselinePlan(plan) ? { baselines: s } : s);
  // A gain-map point is one study of its own under `gainMap.<tag>`, with its setting and every
  // method it compares (baselines included: the point has no protocol study to keep apart from).
  const place = (s: Record<string, unknown>) => (point === null ? asBaseline(s) : { gainMap: { [point.tag]: { axis: point.axis, value: point.value, setting: point.setting, ...s } } });
  if (frontend === undefined) return Object.fromEntries(Object.entries(summary.datasets).map(([d, s]) => [d, place(s)]));
  return Object.fromEntries(Object.entries(summary.datasets).map(([d, s]) => [d, { frontends: { [frontend]: place(s) } }]));
}

/** summary.json of {@link summarizeStudy}. */
export interface StudySummaryFile {
  mode: NotebookMode;
  /** Per data set: what the notebooks' `studySummary` records. */
  datasets: Record<string, Record<string, unknown>>;
  /** Models loaded from the run store; the route guarantees that no model was trained. */
  models: { loaded: number; trained: number };
}

/**
 * Runs the planned study over a run store that already holds every model (after
 * {@link mergeStudyJobs}): every model is loaded, none trained (checked: an error otherwise), so
 * the accuracies are those of the jobs. Returns the summary and the report's Markdown, whose
 * links are relative to `opts.linkFrom` (default the folder holding `runsRoot`, where merge
 * writes report.md).
 */
export async function summarizeStudy(plan: StudyPlan, runsRoot: string, opts: { linkFrom?: string } = {}): Promise<{ summary: StudySummaryFile; report: string; results: DistillationStudyResult[] }> {
  for (const job of plan.jobs) {
    const problem = entryProblem(runsRoot, plan, job);
    if (problem !== null) throw new InputError(`merge: job ${job.id} (${describeJob(job)}) is not in ${runsRoot}: ${problem}`);
  }
  const datasets: Record<string, Record<string, unknown>> = {};
  const results: DistillationStudyResult[] = [];
  const sections: string[] = [`# ntkd-lab distillation study (${plan.mode}, merged from ${plan.jobs.length} jobs)`, ""];
  let loaded = 0;
  let trained = 0;
  for (const dataset of plan.datasets) {
    const r = await runDistillationStudy({
      dataset,
      mode: plan.mode,
      run: openRun(`models-${dataset}`, plan.mode, { root: runsRoot }),
      preset: plan.preset,
      methods: plan.methods,
      onModelDone: (m) => (m.loaded ? loaded++ : trained++),
    });
    results.push(r);
    datasets[dataset] = studySummary(r);
    // report.md sits beside runs/: each row links its models' logs from there.
    sections.push(comparisonMarkdown(distillationRows(r, { linkFrom: opts.linkFrom ?? path.dirname(runsRoot) }), `${dataset}: teacher and students (paper Table 3)`), "");
  }
  if (trained > 0) throw new Error(`merge: ${trained} model(s) were trained while summarising, though every job's model was in ${runsRoot} (a bug)`);
  return { summary: { mode: plan.mode, datasets, models: { loaded, trained } }, report: sections.join("\n").trimEnd() + "\n", results };
}

/** Options of {@link slurmScripts}. */
export interface SlurmScriptOptions {
  /** Path of the array script as submit.sh names it. */
  batchPath: string;
  /** CPUs per job (`--cpus-per-task`); a job's wasm backend runs as many threads (NTKD_THREADS). */
  cpusPerTask?: number;
  /** Folder of the jobs' Slurm logs (`--output`). */
  logsDir: string;
  /** Extra `#SBATCH` lines, e.g. "--partition=gpu" or "--gres=gpu:1". */
  sbatchOptions?: string[];
}

/**
 * The Slurm scripts of a plan: one array script whose task id is the job id, and a submit script
 * that submits the teachers' array, then the students' array with `--dependency=afterok` on it.
 * Extra arguments of submit.sh go to both `sbatch` calls.
 */
export function slurmScripts(plan: StudyPlan, opts: SlurmScriptOptions): { batch: string; submit: string } {
  const teachers = plan.jobs.filter((j) => j.kind === "teacher").map((j) => j.id);
  const students = plan.jobs.filter((j) => j.kind === "student").map((j) => j.id);
  const range = (ids: number[]) => `${Math.min(...ids)}-${Math.max(...ids)}`;
  const cpus = opts.cpusPerTask ?? 2;
  const batch = [
    "#!/usr/bin/env bash",
    `# ntkd-lab study plan (${plan.mode}, ${plan.jobs.length} jobs): array task N runs job N of the plan.`,
    "#SBATCH --job-name=ntkd-study",
    `#SBATCH --cpus-per-task=${cpus}`,
    `#SBATCH --output=${opts.logsDir}/job-%a.out`,
    ...(opts.sbatchOptions ?? []).map((o) => `#SBATCH ${o}`),
    "set -euo pipefail",
    "# One XNNPACK thread per CPU Slurm gave the task (the wasm backend; tfjs-node picks its own).",
    'export NTKD_THREADS="${NTKD_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"',
    `exec ${jobCommand(plan, "$SLURM_ARRAY_TASK_ID")}`,
    "",
  ].join("\n");
  const batchPath = shellQuote(opts.batchPath);
  const submit = [
    "#!/usr/bin/env bash",
    "# Submits the plan: the teachers' array, then the students' array once every teacher succeeded.",
    "# Arguments go to both sbatch calls (e.g. --partition=short). Prints both Slurm job ids.",
    "set -euo pipefail",
    `mkdir -p ${shellQuote(opts.logsDir)}`,
    `teachers=$(sbatch --parsable --array=${range(teachers)} "$@" ${batchPath})`,
    "teachers=${teachers%%;*}",
    students.length > 0 ? `students=$(sbatch --parsable --array=${range(students)} --dependency=afterok:"$teachers" "$@" ${batchPath})` : "students=",
    'echo "$teachers ${students%%;*}"',
    "",
  ].join("\n");
  return { batch, submit };
}
