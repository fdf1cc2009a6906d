/**
 * A fault in what the user gave (an argument, a notebook file, a parameter value, an environment
 * variable, an output folder), as opposed to a bug. The CLI prints its message as one line, without
 * a stack trace, and exits 2; the message names the input and what was expected.
 */
export class InputError extends Error {
  override name = "InputError";
}
