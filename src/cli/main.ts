#!/usr/bin/env node
import type { Command } from "./command";
import { InputError } from "../notebook/errors";
import { killAllKernels } from "../notebook/runner";
import { exitWhenOrphaned } from "../runtime/process-tree";
import { runCommand } from "./run-command";
import { reproduceCommand } from "./reproduce-command";
import { kernelInstallCommand, labCommand } from "./kernel-commands";
import { envCommand } from "./env-command";
import { exportCommand } from "./export-command";
import { planCommand } from "./plan-command";
import { jobCommand } from "./job-command";
import { mergeCommand } from "./merge-command";
import { gainsCommand } from "./gains-command";

/** Every subcommand; other areas add theirs (bench, data) here. */
export const COMMANDS: Command[] = [runCommand, reproduceCommand, kernelInstallCommand, labCommand, envCommand, exportCommand, planCommand, jobCommand, mergeCommand, gainsCommand];

function help(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return ["usage: ntkd-lab <command> [options]   (ntkd-lab <command> --help for details)", "", ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), ""].join("\n");
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], commands: Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help(commands));
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`ntkd-lab: unknown command "${name}"\n\n${help(commands)}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(command.usage + "\n");
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const e = err as Error & { code?: string };
    // parseArgs reports unknown options with codes ERR_PARSE_ARGS_*; those are usage errors too.
    if (err instanceof InputError || (typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS"))) {
      // Library messages often start with the command's own name ("reproduce: ..."); say it once.
      const text = e.message.startsWith(`${name}: `) ? e.message.slice(name.length + 2) : e.message;
      process.stderr.write(`ntkd-lab ${name}: ${text} (see ntkd-lab ${name} --help)\n`);
      return 2;
    }
    process.stderr.write(`ntkd-lab ${name}: ${e.stack ?? e.message}\n`);
    return 1;
  }
}

/** Exit codes of a process ended by a signal, by shell convention (128 + the signal number). */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * An interrupted runner (Ctrl-C, kill) ends its notebook kernels and their workers first: they
 * run in process groups of their own, which the terminal's Ctrl-C does not reach.
 */
function stopChildrenOnSignals(): void {
  for (const [signal, code] of Object.entries(SIGNAL_EXIT_CODES)) {
    process.on(signal, () => {
      killAllKernels();
      process.stderr.write(`\nntkd-lab: ${signal}: stopped the notebook kernel and the processes it started\n`);
      process.exit(code);
    });
  }
}

/**
 * A runner whose parent dies without signalling it (`npm start` killed: npm does not always pass
 * the signal on, a wrapper script gone) stops the same way instead of training for nobody.
 */
function stopWhenParentDies(): void {
  const parent = process.ppid;
  exitWhenOrphaned(() => {
    killAllKernels();
    process.stderr.write(`\nntkd-lab: its parent process (pid ${parent}) ended: stopped the notebook kernel and the processes it started\n`);
    process.exit(SIGNAL_EXIT_CODES.SIGHUP);
  });
}

if (require.main === module) {
  stopChildrenOnSignals();
  stopWhenParentDies();
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { process.stderr.write(`${(err as Error).stack ?? err}\n`); process.exitCode = 1; },
  );
}
