import { displayTarget, newDisplayId, sendDisplay } from "./display";
import { formatNumber } from "./table";

/** Options of {@link progress}. */
export interface ProgressOptions {
  /** Number of epochs the loop runs. */
  epochs: number;
  /** Batches per epoch; when given, progress and ETA count batches, not just epochs. */
  batchesPerEpoch?: number;
  /** A label in front of the bar, e.g. "NTKD student". */
  title?: string;
  /** Minimum milliseconds between two redraws (the last update always draws); default 250. */
  minIntervalMs?: number;
  /** Clock in milliseconds; tests inject one. Default `Date.now`. */
  now?: () => number;
  /** Terminal stream outside a notebook; default `process.stderr`. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Name of the outer counter in the text ("epoch 2/5"); default "epoch" (a pool of jobs says "student"). */
  unitName?: string;
  /** Whether the text shows "batch i/n" when `batchesPerEpoch` is given; default true. */
  showBatch?: boolean;
}

/** One progress report: where the loop is and its latest numbers. */
export interface ProgressUpdate {
  /** Zero-based epoch index. */
  epoch: number;
  /** Zero-based batch index within the epoch (counts as finished). */
  batch?: number;
  /** Latest loss. */
  loss?: number;
  /** Latest metric value (e.g. accuracy). */
  metric?: number;
  /** Name of `metric`; default "metric". */
  metricName?: string;
  /** Free text shown after the numbers (e.g. what each parallel job is doing). */
  note?: string;
}

/** A live progress display: one notebook output updated in place, or a terminal bar. */
export interface Progress {
  /** Reports progress; redraws at most every `minIntervalMs`. */
  update(u: ProgressUpdate): void;
  /** Marks the loop finished and draws the final state. */
  done(final?: Partial<ProgressUpdate>): void;
  /** Fraction done in [0, 1]. */
  readonly fraction: number;
  /** How many times the display was drawn. */
  readonly draws: number;
}

/** Seconds as "1h02m", "3m05s" or "12s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/**
 * A progress display for a training loop (epoch, batch, loss, metric, ETA). In a notebook it is one
 * output replaced in place (Jupyter's update_display_data); in a terminal a bar redrawn with \r
 * (one line per redraw when stderr is not a TTY).
 */
export function progress(opts: ProgressOptions): Progress {
  if (!opts || !Number.isInteger(opts.epochs) || opts.epochs <= 0) {
    throw new Error(`progress: opts.epochs must be a positive integer, got ${opts?.epochs}`);
  }
  if (opts.batchesPerEpoch !== undefined && (!Number.isInteger(opts.batchesPerEpoch) || opts.batchesPerEpoch <= 0)) {
    throw new Error(`progress: opts.batchesPerEpoch must be a positive integer, got ${opts.batchesPerEpoch}`);
  }
  const now = opts.now ?? Date.now;
  const minInterval = opts.minIntervalMs ?? 250;
  const stream = opts.stream ?? process.stderr;
  const perEpoch = opts.batchesPerEpoch ?? 1;
  const totalSteps = opts.epochs * perEpoch;
  const started = now();
  const id = newDisplayId();
  let lastDraw = -Infinity;
  let draws = 0;
  let steps = 0;
  let finished = false;
  let state: ProgressUpdate = { epoch: 0 };

  const render = () => {
    const fraction = steps / totalSteps;
    const elapsed = (now() - started) / 1000;
    const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : NaN;
    const parts = [`${opts.unitName ?? "epoch"} ${Math.min(state.epoch + 1, opts.epochs)}/${opts.epochs}`];
    if (opts.batchesPerEpoch !== undefined && state.batch !== undefined && opts.showBatch !== false) parts.push(`batch ${state.batch + 1}/${perEpoch}`);
    if (state.loss !== undefined) parts.push(`loss ${formatNumber(state.loss)}`);
    if (state.metric !== undefined) parts.push(`${state.metricName ?? "metric"} ${formatNumber(state.metric)}`);
    if (state.note) parts.push(state.note);
    parts.push(finished ? `done in ${formatDuration(elapsed)}` : `ETA ${formatDuration(eta)}`);
    return { fraction, text: parts.join("  ") };
  };

  const draw = () => {
    const { fraction, text } = render();
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
    const title = opts.title ? `${opts.title} ` : "";
    const line = `${title}[${bar}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${text}`;
    if (displayTarget() === "stdout") {
      const tty = Boolean(stream.isTTY);
      stream.write(tty ? `\r${line}${finished ? "\n" : ""}` : `${line}\n`);
    } else {
      const pct = (fraction * 100).toFixed(1);
      const html =
        `<div style="font-family: monospace">${escape(title)}` +
        `<progress value="${pct}" max="100" style="width: 16em; vertical-align: middle"></progress> ${pct}%  ${escape(text)}</div>`;
      sendDisplay({ "text/html": html, "text/plain": line }, { displayId: id, update: draws > 0, progressText: line });
    }
    draws += 1;
    lastDraw = now();
  };

  return {
    update(u: ProgressUpdate) {
      if (finished) throw new Error("progress: update() after done()");
      if (!Number.isInteger(u.epoch) || u.epoch < 0 || u.epoch >= opts.epochs) {
        throw new Error(`progress: update.epoch must be an integer in [0, ${opts.epochs - 1}], got ${u.epoch}`);
      }
      if (u.batch !== undefined && (!Number.isInteger(u.batch) || u.batch < 0 || u.batch >= perEpoch)) {
        throw new Error(`progress: update.batch must be an integer in [0, ${perEpoch - 1}], got ${u.batch}`);
      }
      for (const k of ["loss", "metric"] as const) {
        if (u[k] !== undefined && Number.isNaN(u[k])) throw new Error(`progress: update.${k} is NaN at epoch ${u.epoch}`);
      }
      state = { ...state, ...u };
      steps = u.batch !== undefined ? u.epoch * perEpoch + u.batch + 1 : (u.epoch + 1) * perEpoch;
      if (now() - lastDraw >= minInterval || steps === totalSteps) draw();
    },
    done(final: Partial<ProgressUpdate> = {}) {
      if (finished) return;
      state = { ...state, ...final };
      finished = true;
      steps = totalSteps;
      draw();
    },
    get fraction() {
      return steps / totalSteps;
    },
    get draws() {
      return draws;
    },
  };
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Options of {@link statusLine}. */
export interface StatusLineOptions {
  /** Where the line goes; default `process.stderr`. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** On a TTY: minimum milliseconds between two redraws of the line; default 250 (four a second). */
  ttyIntervalMs?: number;
  /** Not on a TTY (a log file, CI): minimum milliseconds between two printed lines; default 10000. */
  logIntervalMs?: number;
  /** Text in front of every line, e.g. "   " to indent under a cell heading. */
  prefix?: string;
  /** Clock in milliseconds; tests inject one. Default `Date.now`. */
  now?: () => number;
}

/** The latest progress of a running cell in a terminal (see {@link statusLine}). */
export interface StatusLine {
  /** Records the latest progress text; draws it unless the last draw was too recent. */
  set(text: string): void;
  /** On a TTY removes the line (before other output, or when the cell ends); elsewhere does nothing. */
  clear(): void;
  /** On a TTY draws the line again after {@link StatusLine.clear} (after other output). */
  redraw(): void;
  /** Forgets the text: the next {@link StatusLine.set} draws at once (a new cell). */
  reset(): void;
}

/**
 * One live status line for CLI progress. On a TTY the line is rewritten in place (\r, cut to
 * the terminal width) at most every `ttyIntervalMs`; elsewhere a line is printed at most every
 * `logIntervalMs`, so a log shows where a long cell is without filling up.
 */
export function statusLine(opts: StatusLineOptions = {}): StatusLine {
  const stream = opts.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const now = opts.now ?? Date.now;
  const interval = tty ? opts.ttyIntervalMs ?? 250 : opts.logIntervalMs ?? 10_000;
  const prefix = opts.prefix ?? "";
  let latest = "";
  let shown = false;
  let lastDraw = -Infinity;
  const draw = () => {
    const line = `${prefix}${latest}`;
    if (tty) {
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      stream.write(`\r\x1b[2K${line.length > width ? line.slice(0, width - 1) + "…" : line}`);
      shown = true;
    } else {
      stream.write(`${line}\n`);
    }
    lastDraw = now();
  };
  return {
    set(text: string) {
      const oneLine = text.replace(/\s*\n\s*/g, " ").trim();
      if (oneLine === "" || oneLine === latest) return;
      latest = oneLine;
      if (now() - lastDraw >= interval) draw();
    },
    clear() {
      if (tty && shown) stream.write("\r\x1b[2K");
      shown = false;
    },
    redraw() {
      if (tty && latest !== "" && !shown) draw();
    },
    reset() {
      this.clear();
      latest = "";
      lastDraw = -Infinity;
    },
  };
}
