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
import { parseParamValue } from "../notebook/runner";

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

/** The `--param name=value` flags of a command (values JSON when they parse); a malformed one names `command`. */
export function paramsFromFlags(command: string, flags: string[] | undefined): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const p of flags ?? []) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new UsageError(`${command}: --param expects name=value, got "${p}"`);
    params[p.slice(0, eq)] = parseParamValue(p.slice(eq + 1));
  }
  return params;
}
