/**
 * How much work a notebook does:
 * - "smoke": the smallest sizes that still exercise every cell (a few thousand images; the test
 *   suite's preset, so CI time does not grow with the other modes);
 * - "quick": `npm start`, a real but shortened reproduction (the full MNIST training and test sets,
 *   one seed, fewer epochs: about ten minutes on two cores);
 * - "full": the paper's protocol (five seeds, every data set, full schedules).
 */
export type NotebookMode = "smoke" | "quick" | "full";

/** Every mode, smallest first. */
export const NOTEBOOK_MODES: readonly NotebookMode[] = ["smoke", "quick", "full"];

/** Whether `value` names a mode. */
export function isNotebookMode(value: unknown): value is NotebookMode {
  return typeof value === "string" && (NOTEBOOK_MODES as readonly string[]).includes(value);
}

/** The mode from env NTKD_MODE ("quick" when unset). */
export function notebookMode(env: NodeJS.ProcessEnv = process.env): NotebookMode {
  const raw = env.NTKD_MODE;
  if (raw === undefined || raw === "") return "quick";
  if (isNotebookMode(raw)) return raw;
  throw new Error(`NTKD_MODE must be one of ${NOTEBOOK_MODES.join(", ")}, got "${raw}"`);
}

/**
 * Picks the value of a mode. Smoke falls back to the quick value when it has none of its own:
 * most settings only need shrinking once, and a mode without its own value must never silently
 * get the full one.
 */
export function byMode<T>(mode: NotebookMode, values: { smoke?: T; quick: T; full: T }): T {
  if (mode === "full") return values.full;
  if (mode === "smoke" && values.smoke !== undefined) return values.smoke;
  if (mode === "smoke" || mode === "quick") return values.quick;
  throw new Error(`mode must be one of ${NOTEBOOK_MODES.join(", ")}, got ${JSON.stringify(mode)}`);
}

/** The environment variable that overrides parameter `name`. */
export function paramEnvName(name: string): string {
  return `NTKD_PARAM_${name}`;
}

/** Parameter values: numbers, booleans, strings, or JSON values (arrays, objects). */
export type ParamValue = number | boolean | string | null | ParamValue[] | { [key: string]: ParamValue };

/**
 * The values one parameter may take. {@link params} checks every value against it (defaults, the
 * mode's values and env overrides), and `ntkd-lab run` checks `--param` values before any cell runs.
 * For an array parameter each element is checked.
 */
export interface ParamRange {
  /** Smallest allowed number. */
  min?: number;
  /** Largest allowed number. */
  max?: number;
  /** Only whole numbers. */
  integer?: boolean;
  /** The allowed values (e.g. dataset names). */
  oneOf?: readonly (string | number)[];
}

/** Describes a range in words, for error messages: "an integer >= 1", "one of mnist, cifar10". */
export function describeRange(range: ParamRange): string {
  const parts: string[] = [];
  if (range.oneOf) parts.push(`one of ${range.oneOf.join(", ")}`);
  const bounds = [range.min !== undefined ? `>= ${range.min}` : "", range.max !== undefined ? `<= ${range.max}` : ""].filter(Boolean).join(" and ");
  if (range.integer || bounds) parts.push(`${range.integer ? "an integer" : "a number"}${bounds ? ` ${bounds}` : ""}`);
  return parts.join(", ");
}

/**
 * Throws when `value` (or an element of it, for arrays) is outside `range`; `label` names the
 * source of the value in the message ("--param epochs", "NTKD_PARAM_epochs").
 */
export function checkParamRange(label: string, value: ParamValue, range: ParamRange | undefined): void {
  if (!range) return;
  const items = Array.isArray(value) ? value : [value];
  for (const item of items) {
    const fits =
      (range.oneOf === undefined || range.oneOf.includes(item as string | number)) &&
      (range.min === undefined && range.max === undefined && !range.integer
        ? true
        : typeof item === "number" && Number.isFinite(item) && (!range.integer || Number.isInteger(item)) && (range.min === undefined || item >= range.min) && (range.max === undefined || item <= range.max));
    if (!fits) throw new Error(`${label} must be ${Array.isArray(value) ? "a list of " : ""}${describeRange(range)}, got ${JSON.stringify(value)}`);
  }
}

/** Options of {@link params}. */
export interface ParamsOptions<T> {
  /** Values replacing the defaults in quick mode (`npm start`: fewer epochs, one seed). */
  quick?: Partial<T>;
  /** Values replacing the defaults in smoke mode, applied over `quick` (the test suite's sizes). */
  smoke?: Partial<T>;
  /** Values replacing the defaults in full mode. */
  full?: Partial<T>;
  /** Allowed values per parameter ({@link ParamRange}); a value outside its range is an error. */
  ranges?: { [K in keyof T]?: ParamRange };
  /** Environment to read NTKD_MODE and NTKD_PARAM_<name> from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Parses one env string into the type of the default it overrides; errors name the variable. */
export function coerceParam(name: string, raw: string, fallback: ParamValue): ParamValue {
  const variable = paramEnvName(name);
  if (typeof fallback === "number") {
    const n = Number(raw.trim());
    if (raw.trim() === "" || !Number.isFinite(n)) throw new Error(`${variable} must be a finite number (default ${fallback}), got "${raw}"`);
    return n;
  }
  if (typeof fallback === "boolean") {
    const v = raw.trim().toLowerCase();
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
    throw new Error(`${variable} must be true, false, 1 or 0, got "${raw}"`);
  }
  if (typeof fallback === "string") return raw;
  try {
    const parsed = JSON.parse(raw) as ParamValue;
    if (Array.isArray(fallback) !== Array.isArray(parsed) || (fallback !== null && typeof parsed !== typeof fallback)) {
      throw new Error(`expected ${Array.isArray(fallback) ? "an array" : typeof fallback}`);
    }
    return parsed;
  } catch (err) {
    throw new Error(`${variable} must be JSON matching its default ${JSON.stringify(fallback)}: ${(err as Error).message}`);
  }
}

/**
 * Typed notebook parameters. Returns `defaults`, overlaid by the mode's values (`opts.quick`,
 * `opts.quick` then `opts.smoke`, or `opts.full`; mode from NTKD_MODE), overlaid by env NTKD_PARAM_<name> (what `ntkd-lab run
 * --param name=value` sets). Put it in the notebook's cell tagged `parameters`.
 */
export function params<T extends Record<string, ParamValue>>(defaults: T, opts: ParamsOptions<T> = {}): T & { mode: NotebookMode } {
  if (defaults === null || typeof defaults !== "object" || Array.isArray(defaults)) {
    throw new Error("params: defaults must be an object of named values");
  }
  const env = opts.env ?? process.env;
  const mode = notebookMode(env);
  const out: Record<string, ParamValue> = { ...defaults };
  const layers: [string, Partial<T> | undefined][] = mode === "full" ? [["full", opts.full]] : mode === "quick" ? [["quick", opts.quick]] : [["quick", opts.quick], ["smoke", opts.smoke]];
  for (const [layer, modeValues] of layers) {
    for (const [k, v] of Object.entries(modeValues ?? {})) {
      if (!(k in defaults)) throw new Error(`params: opts.${layer}.${k} has no default; add it to defaults`);
      out[k] = v as ParamValue;
    }
  }
  for (const name of Object.keys(opts.ranges ?? {})) {
    if (!(name in defaults)) throw new Error(`params: opts.ranges.${name} has no default; add it to defaults`);
  }
  for (const name of Object.keys(defaults)) {
    const raw = env[paramEnvName(name)];
    if (raw !== undefined) out[name] = coerceParam(name, raw, out[name]!);
    const range = (opts.ranges as Record<string, ParamRange | undefined> | undefined)?.[name];
    checkParamRange(raw !== undefined ? paramEnvName(name) : `parameter ${name} (${mode} value)`, out[name]!, range);
  }
  if ("mode" in defaults) throw new Error('params: "mode" is reserved (it comes from NTKD_MODE)');
  return { ...(out as T), mode };
}
