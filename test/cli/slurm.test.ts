/**
 * The Slurm round trip for real: a single-node cluster (munged, slurmctld, slurmd on localhost, as
 * root, in a temp folder, on free ports) runs a tiny planned study as two `sbatch --array` calls
 * (students after the teachers); `ntkd-lab merge` gathers the jobs, and its summary must equal the
 * same study run in this process. CI installs slurm-wlm and munge (.ci/run); when they are missing
 * or the cluster does not come up, the test fails with the daemons' logs, it does not skip.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { initBackend } from "../../src/runtime/backend";
import { openRun } from "../../src/notebook/run-store";
import { runDistillationStudy, studySummary } from "../../src/experiments/distillation";

const MAIN = path.join(__dirname, "..", "..", "src", "cli", "main.js");
/** The smallest study that still trains: 300 images, one epoch, 2 methods x 2 seeds. */
const PRESET = { seeds: [0, 1], teacherEpochs: 1, studentEpochs: 1, sizes: { trainCount: 300, validationCount: 100, testCount: 200 } };
const METHODS = ["none", "kd"] as const;

const work = fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-slurm-"));
const daemons: { name: string; child: ChildProcess; log: string }[] = [];
let env: NodeJS.ProcessEnv = {};

function findProgram(name: string): string {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/bin", "/sbin"];
  const found = dirs.map((d) => path.join(d, name)).find((p) => fs.existsSync(p));
  if (!found) throw new Error(`${name} is not installed: apt-get install -y slurm-wlm munge (.ci/run does it)`);
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** The last lines of every daemon log, for a failure message. */
function logTails(): string {
  const files = [...daemons.map((d) => d.log), ...["slurmctld.log", "slurmd.log", "munged.log"].map((f) => path.join(work, f))];
  return [...new Set(files)].filter((f) => fs.existsSync(f)).map((f) => `--- ${f}\n${fs.readFileSync(f, "utf8").trim().split("\n").slice(-15).join("\n")}`).join("\n");
}

/** Starts a daemon in the foreground, in a process group of its own (so after() can end it all). */
function startDaemon(name: string, args: string[]): void {
  const log = path.join(work, `${name}.out`);
  const fd = fs.openSync(log, "a");
  const child = spawn(findProgram(name), args, { detached: true, stdio: ["ignore", fd, fd], env });
  fs.closeSync(fd);
  child.on("error", () => {});
  daemons.push({ name, child, log });
}

function slurm(command: string, args: string[]): string {
  const r = spawnSync(findProgram(command), args, { encoding: "utf8", env });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")}: exit ${r.status}: ${r.stderr.trim()}\n${logTails()}`);
  return r.stdout;
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${logTails()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

before(async () => {
  if (process.getuid?.() !== 0) throw new Error("the Slurm test starts munged, slurmctld and slurmd, which needs root");
  const host = os.hostname().split(".")[0]!;
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  for (const d of ["state", "spool", "munge"]) fs.mkdirSync(path.join(work, d), { mode: 0o700 });
  const key = path.join(work, "munge", "munge.key");
  fs.writeFileSync(key, Buffer.from(Array.from({ length: 1024 }, () => Math.floor(Math.random() * 256))), { mode: 0o400 });
  const socket = path.join(work, "munge", "munge.socket");
  const conf = path.join(work, "slurm.conf");
  fs.writeFileSync(conf, [
    "ClusterName=ntkdtest", `SlurmctldHost=${host}(127.0.0.1)`, "SlurmUser=root", "SlurmdUser=root",
    `SlurmctldPort=${ctldPort}`, `SlurmdPort=${slurmdPort}`, "AuthType=auth/munge", "CredType=cred/munge", `AuthInfo=socket=${socket}`,
    `StateSaveLocation=${work}/state`, `SlurmdSpoolDir=${work}/spool`, `SlurmctldPidFile=${work}/slurmctld.pid`, `SlurmdPidFile=${work}/slurmd.pid`,
    `SlurmctldLogFile=${work}/slurmctld.log`, `SlurmdLogFile=${work}/slurmd.log`,
    "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU",
    "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none", "MpiDefault=none", "ReturnToService=2",
    `NodeName=${host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN`, `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`, "",
  ].join("\n"));
  // One thread per job on both sides, so the jobs compute exactly what this process computes.
  env = { ...process.env, SLURM_CONF: conf, NTKD_THREADS: "1" };
  startDaemon("munged", ["--foreground", "--force", `--socket=${socket}`, `--key-file=${key}`, `--pid-file=${work}/munge/munged.pid`, `--log-file=${work}/munged.log`, `--seed-file=${work}/munge/seed`]);
  await waitFor("munged's socket", 10_000, () => fs.existsSync(socket));
  startDaemon("slurmctld", ["-D", "-c", "-f", conf]);
  startDaemon("slurmd", ["-D", "-f", conf]);
  await waitFor(`sinfo to show node ${host} idle`, 30_000, () => {
    const r = spawnSync(findProgram("sinfo"), ["-h", "-N", "-o", "%t"], { encoding: "utf8", env });
    return r.status === 0 && r.stdout.trim() === "idle";
  });
});

after(async () => {
  // Jobs first (their slurmstepd would outlive slurmd), then every daemon's process group.
  if (daemons.length > 0) spawnSync(findProgram("scancel"), ["--user=root"], { env });
  for (const { child } of daemons.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      continue;
    }
    const timer = setTimeout(() => { try { process.kill(-child.pid!, "SIGKILL"); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(timer);
  }
  fs.rmSync(work, { recursive: true, force: true });
});

function cli(args: string[]): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env }) as ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
}

test("a planned study runs as Slurm arrays, and merge gives what the same study gives in-process", { timeout: 90_000 }, async () => {
  const planPath = path.join(work, "study", "plan.json");
  const planned = cli(["plan", "--datasets", "mnist", "--methods", METHODS.join(","), "--preset", JSON.stringify(PRESET), "--out", planPath, "--launcher", `${process.execPath} ${MAIN}`, "--cpus-per-task", "1"]);
  assert.equal(planned.status, 0, planned.stderr);
  const plan = JSON.parse(fs.readFileSync(planPath, "utf8"));
  assert.equal(plan.jobs.length, 1 + METHODS.length * PRESET.seeds.length);

  const submitted = spawnSync("bash", [path.join(work, "study", "submit.sh")], { encoding: "utf8", env });
  assert.equal(submitted.status, 0, `${submitted.stderr}\n${logTails()}`);
  const [teachers, students] = submitted.stdout.trim().split(/\s+/);
  assert.match(`${teachers} ${students}`, /^\d+ \d+$/);
  await waitFor("the study's jobs to leave the queue", 60_000, () => slurm("squeue", ["-h", "-j", `${teachers},${students}`]).trim() === "");
  // Without accounting, finished jobs stay in the controller (MinJobAge): each array task's state.
  const states = slurm("scontrol", ["show", "job", "-o", teachers!]) + slurm("scontrol", ["show", "job", "-o", students!]);
  const taskStates = [...states.matchAll(/ArrayTaskId=(\d+) .*?JobState=(\w+)/g)].map((m) => `${m[1]}:${m[2]}`).sort();
  const logs = path.join(work, "study", "logs");
  const jobLogs = () => (fs.existsSync(logs) ? fs.readdirSync(logs).map((f) => `--- ${f}\n${fs.readFileSync(path.join(logs, f), "utf8").slice(-800)}`).join("\n") : "no job logs");
  assert.deepEqual(taskStates, plan.jobs.map((j: { id: number }) => `${j.id}:COMPLETED`).sort(), jobLogs());

  const out = path.join(work, "merged");
  const merged = cli(["merge", "--plan", planPath, "--out", out]);
  assert.equal(merged.status, 0, merged.stderr);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  assert.deepEqual(summary.models, { loaded: plan.jobs.length, trained: 0 });
  // Training appends epochs to the store's metrics.jsonl: the merged store must have none.
  assert.equal(fs.existsSync(path.join(out, "runs", "models-mnist", "quick", "metrics.jsonl")), false, "merge trained a model");
  const report = fs.readFileSync(path.join(out, "report.md"), "utf8");
  assert.match(report, /\| KD \| 95\.9 ± 0\.6 \| \d+\.\d\d ± \d+\.\d\d \| 2 \|/);
  // Every model's own training log, linked from the report, exists.
  const linkedLogs = [...report.matchAll(/\]\(([^)]+\.metrics\.jsonl)\)/g)].map((m) => m[1]);
  assert.equal(linkedLogs.length, 5, "teacher + 2 methods x 2 seeds");
  for (const log of linkedLogs) assert.ok(fs.existsSync(path.join(out, log)), `${log} is linked but missing`);

  process.env.NTKD_THREADS = "1";
  await initBackend();
  // A run store named runs/ like the merged one, so the models' relative links compare equal too.
  const reference = await runDistillationStudy({ dataset: "mnist", mode: "quick", run: openRun("models-mnist", "quick", { root: path.join(work, "in-process", "runs") }), preset: PRESET, methods: [...METHODS] });
  assert.equal(reference.teacher.loaded, false, "the in-process reference must train, not load");
  assert.deepEqual(summary.datasets.mnist, JSON.parse(JSON.stringify(studySummary(reference))));

  // Rerunning a job trains nothing; merging again into the same store is a no-op.
  const rerun = cli(["job", "1", "--plan", planPath]);
  assert.equal(rerun.status, 0, rerun.stderr);
  assert.match(rerun.stdout, /^job 1 \(student none seed 0 of mnist\): already complete in .*job-1; nothing trained\n$/);
  const again = cli(["merge", "--plan", planPath, "--out", out]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /0 copied, 5 already there/);
});
