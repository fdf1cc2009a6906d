/**
 * Reads what a notebook's parameters cell declares through `params(defaults, { ranges })` without
 * running the notebook, so `ntkd-lab run` can refuse a bad `--param` before the first cell runs
 * (instead of after config.json was written, deep in a training cell).
 */
import * as vm from "node:vm";
import { checkParamRange, coerceParam, type ParamRange, type ParamValue } from "./params";
import { InputError } from "./errors";

/** What a `params()` call of a parameters cell declares. */
export interface ParamDeclarations {
  defaults: Record<string, ParamValue>;
  ranges: Record<string, ParamRange>;
}

/**
 * Evaluates the parameters cell in an empty sandbox where every import's `params` records its
 * arguments. The cell is meant to hold plain literals; a cell that needs more (other imports, file
 * reads) yields undefined and its values are checked by `params()` itself when the cell runs.
 */
export function declaredParams(cellSource: string): ParamDeclarations | undefined {
  const ts = require("typescript") as typeof import("typescript");
  let js: string;
  try {
    js = ts.transpileModule(cellSource, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
  } catch {
    return undefined;
  }
  let captured: ParamDeclarations | undefined;
  const capture = (defaults: unknown, opts?: { ranges?: unknown }) => {
    if (captured === undefined && defaults !== null && typeof defaults === "object" && !Array.isArray(defaults)) {
      const ranges = opts && typeof opts === "object" && opts.ranges && typeof opts.ranges === "object" ? opts.ranges : {};
      // Copied out of the sandbox's realm, so Array.isArray and friends behave in ours.
      captured = JSON.parse(JSON.stringify({ defaults, ranges })) as ParamDeclarations;
    }
    return {};
  };
  const sandboxModule = { exports: {} };
  try {
    vm.runInNewContext(js, { require: () => ({ params: capture }), module: sandboxModule, exports: sandboxModule.exports, process: { env: {} } }, { timeout: 1000 });
  } catch {
    // Whatever the cell does after its params() call does not matter here.
  }
  return captured;
}

/**
 * Checks `--param` values against the declarations: the type of the default (as `params()` would
 * coerce the env value) and the declared range. Errors name the parameter and what was expected.
 */
export function checkParamsAgainstDeclarations(file: string, given: Record<string, unknown>, declarations: ParamDeclarations): void {
  for (const [name, value] of Object.entries(given)) {
    if (!(name in declarations.defaults)) continue;
    const label = `${file}: --param ${name}`;
    try {
      const raw = typeof value === "string" ? value : JSON.stringify(value);
      const coerced = coerceParam(name, raw, declarations.defaults[name]!);
      checkParamRange(label, coerced, declarations.ranges[name]);
    } catch (err) {
      const message = (err as Error).message;
      throw new InputError(message.startsWith(label) ? message : `${label}=${JSON.stringify(value)}: ${message}`);
    }
  }
}
