/** One `ntkd-lab` subcommand. Add a command by writing one of these and listing it in main.ts. */
export interface Command {
  name: string;
  /** One line for `ntkd-lab --help`. */
  summary: string;
  /** Full usage text for `ntkd-lab <name> --help`. */
  usage: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

import { InputError } from "../notebook/errors";
import { NOTEBOOK_MODES, type NotebookMode } from "../notebook/params";

/** A user error in the command line: printed as one line without a stack trace, exit code 2. */
export class UsageError extends InputError {
  override name = "UsageError";
}

/** The `--smoke | --quick | --full` flags of a command as parseArgs options. */
export const MODE_FLAGS = { smoke: { type: "boolean" }, quick: { type: "boolean" }, full: { type: "boolean" } } as const;

/** The mode those flags name (default quick); two at once is a usage error naming `command`. */
export function modeFromFlags(command: string, values: { smoke?: boolean; quick?: boolean; full?: boolean }): NotebookMode {
  const chosen = NOTEBOOK_MODES.filter((m) => values[m]);
  if (chosen.length > 1) throw new UsageError(`${command}: give one of --smoke, --quick or --full, got ${chosen.map((m) => `--${m}`).join(" and ")}`);
  return chosen[0] ?? "quick";
}
