#!/usr/bin/env node
import { UsageError, type Command } from "./command";
import { runCommand } from "./run-command";
import { reproduceCommand } from "./reproduce-command";
import { kernelInstallCommand, labCommand } from "./kernel-commands";
import { envCommand } from "./env-command";

/** Every subcommand; other areas add theirs (bench, data) here. */
export const COMMANDS: Command[] = [runCommand, reproduceCommand, kernelInstallCommand, labCommand, envCommand];

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
    if (err instanceof UsageError || (typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS"))) {
      process.stderr.write(`ntkd-lab ${name}: ${e.message}\n\n${command.usage}\n`);
      return 2;
    }
    process.stderr.write(`ntkd-lab ${name}: ${e.stack ?? e.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { process.stderr.write(`${(err as Error).stack ?? err}\n`); process.exitCode = 1; },
  );
}
