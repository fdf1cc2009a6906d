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

/** A user error in the command line: printed as one line without a stack trace, exit code 2. */
export class UsageError extends InputError {
  override name = "UsageError";
}
