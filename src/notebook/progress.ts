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
    const parts = [`epoch ${Math.min(state.epoch + 1, opts.epochs)}/${opts.epochs}`];
    if (opts.batchesPerEpoch !== undefined && state.batch !== undefined) parts.push(`batch ${state.batch + 1}/${perEpoch}`);
    if (state.loss !== undefined) parts.push(`loss ${formatNumber(state.loss)}`);
    if (state.metric !== undefined) parts.push(`${state.metricName ?? "metric"} ${formatNumber(state.metric)}`);
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
      sendDisplay({ "text/html": html, "text/plain": line }, { displayId: id, update: draws > 0 });
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
