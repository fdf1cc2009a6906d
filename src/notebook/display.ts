/**
 * The one way our helpers send rich output. Inside a tslab kernel (Jupyter, or our runner) it uses
 * tslab's internal display writer, the only route that puts several mime types in ONE output
 * (tslab's public `display.raw` sends one mime type per output). Elsewhere it prints the
 * text/plain part, so helpers never crash in scripts, tests or the CLI.
 */

/** The mime bundle of one display output, as Jupyter's `display_data` message carries it. */
export interface MimeBundle {
  /** mime type -> data; JSON types (vega-lite) as objects, text types as strings. */
  [mimeType: string]: unknown;
}

/** The `transient` key that carries {@link SendDisplayOptions.progressText} to our runner. */
export const PROGRESS_TRANSIENT_KEY = "ntkd_lab_progress";

/** Where an output goes: a tslab kernel, a test sink, or plain stdout. */
export type DisplayTarget = "kernel" | "sink" | "stdout";

/** A display message as our sink receives it (same shape as tslab's writer argument). */
export interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string; [PROGRESS_TRANSIENT_KEY]?: string };
  /** True for `update_display_data` (replace the output with this display id in place). */
  update: boolean;
}

type Writer = (data: { data: MimeBundle; metadata: Record<string, unknown>; transient: DisplayMessage["transient"] }, update: boolean) => void;

let sink: ((message: DisplayMessage) => void) | null = null;

/**
 * Routes every display output to `fn` instead of the kernel (tests and embedding hosts); pass
 * null to restore normal routing.
 */
export function setDisplaySink(fn: ((message: DisplayMessage) => void) | null): void {
  sink = fn;
}

/**
 * tslab keeps the writer of the running execute request in `tslab/dist/jupyter.js`. We look it up
 * in the module cache rather than requiring it: requiring would load the TypeScript compiler
 * into every script, and a kernel may run a tslab other than the one next to this package.
 */
function kernelWriter(): Writer | null {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!mod || !/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) continue;
    const writer = (mod.exports as { lastWriteDisplayData?: unknown }).lastWriteDisplayData;
    if (typeof writer === "function") return writer as Writer;
  }
  return null;
}

/** Where the next output would go. */
export function displayTarget(): DisplayTarget {
  if (sink) return "sink";
  return kernelWriter() ? "kernel" : "stdout";
}

/** Options of {@link sendDisplay}. */
export interface SendDisplayOptions {
  /** Jupyter display id; outputs with the same id can be replaced in place. */
  displayId?: string;
  /** Replace the earlier output with `displayId` instead of adding a new one. */
  update?: boolean;
  /** Do not print text/plain when no kernel is present (progress bars draw their own). */
  quietOutsideKernel?: boolean;
  /** Output metadata, keyed by mime type (e.g. `{ "image/png": { width, height } }` for the CSS size). */
  metadata?: Record<string, unknown>;
  /**
   * A one-line progress text for the terminal of `ntkd-lab run` / `reproduce`. It travels in the
   * message's `transient` part, which Jupyter never stores in the notebook.
   */
  progressText?: string;
}

/** Sends one output holding every mime type of `bundle`. Returns where it went. */
export function sendDisplay(bundle: MimeBundle, options: SendDisplayOptions = {}): DisplayTarget {
  if (bundle === null || typeof bundle !== "object" || Object.keys(bundle).length === 0) {
    throw new Error("sendDisplay: bundle must be an object with at least one mime type");
  }
  if (options.update && !options.displayId) throw new Error("sendDisplay: options.update needs options.displayId");
  const transient: DisplayMessage["transient"] = options.displayId ? { display_id: options.displayId } : {};
  if (options.progressText !== undefined) transient[PROGRESS_TRANSIENT_KEY] = options.progressText;
  const metadata = options.metadata ?? {};
  if (sink) {
    sink({ data: bundle, metadata, transient, update: options.update ?? false });
    return "sink";
  }
  const writer = kernelWriter();
  if (writer) {
    writer({ data: bundle, metadata, transient }, options.update ?? false);
    return "kernel";
  }
  if (!options.quietOutsideKernel) {
    const text = bundle["text/plain"];
    process.stdout.write(`${typeof text === "string" ? text : "[rich output: " + Object.keys(bundle).join(", ") + "]"}\n`);
  }
  return "stdout";
}

let displayCounter = 0;

/** A fresh display id for outputs that will be updated in place. */
export function newDisplayId(): string {
  displayCounter += 1;
  return `ntkd-${process.pid}-${Date.now().toString(36)}-${displayCounter}`;
}
