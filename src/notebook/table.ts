import { sendDisplay } from "./display";

/**
 * The part of an arquero table we use. Declared structurally: arquero 8 is ESM-only and importing
 * its types from CommonJS needs a `resolution-mode` attribute, which node_modules/.bin/tsc (tslab's
 * TypeScript 5.0) rejects; any arquero ColumnTable satisfies this interface.
 */
export interface TableLike {
  numRows(): number;
  columnNames(): string[];
  toHTML(options?: { limit?: number; format?: Record<string, (v: unknown) => string> }): string;
  toMarkdown(options?: { limit?: number; format?: Record<string, (v: unknown) => string> }): string;
}

// Node 20.19+ lets CommonJS require() the ESM-only arquero.
const aq: { from(rows: object[]): TableLike } = require("arquero");

/** A row: any object (interfaces too, which have no index signature and so are not `Record<string, unknown>`). */
type Row = object;

/** Options of {@link table}. */
export interface TableOptions {
  /** Rows shown at most (the rest are summarised as "... N more rows"); default 50. */
  maxRows?: number;
  /** Significant digits for non-integer numbers; default 4. */
  digits?: number;
  /** A caption above the table. */
  title?: string;
}

/** A table formatted for notebooks (HTML) and reports (markdown). */
export interface FormattedTable {
  html: string;
  markdown: string;
}

function isArqueroTable(v: unknown): v is TableLike {
  return v !== null && typeof v === "object" && typeof (v as { toHTML?: unknown }).toHTML === "function" && typeof (v as { numRows?: unknown }).numRows === "function";
}

/** Formats a number for people: integers as is, others to `digits` significant digits. */
export function formatNumber(v: number, digits = 4): string {
  if (Number.isNaN(v)) return "NaN";
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(digits)).toString();
}

/** Formats an arquero table or plain rows as HTML and markdown without showing them. */
export function formatTable(data: TableLike | readonly Row[], opts: TableOptions = {}): FormattedTable {
  let t: TableLike;
  if (isArqueroTable(data)) t = data;
  else if (Array.isArray(data)) {
    data.forEach((r, i) => {
      if (r === null || typeof r !== "object" || Array.isArray(r)) throw new Error(`table: rows[${i}] must be an object`);
    });
    t = aq.from(data as Record<string, unknown>[]);
  } else throw new Error("table: data must be an arquero table or an array of row objects");
  const limit = opts.maxRows ?? 50;
  const digits = opts.digits ?? 4;
  const format: Record<string, (v: unknown) => string> = {};
  for (const name of t.columnNames()) format[name] = (v: unknown) => (typeof v === "number" ? formatNumber(v, digits) : v === undefined || v === null ? "" : String(v));
  const more = t.numRows() > limit ? t.numRows() - limit : 0;
  const suffix = more > 0 ? `\n\n... ${more} more rows` : "";
  const caption = opts.title ? `**${opts.title}**\n\n` : "";
  const markdown = caption + t.toMarkdown({ limit, format }) + suffix;
  const html = (opts.title ? `<p><b>${escapeHtml(opts.title)}</b></p>` : "") + t.toHTML({ limit, format }) + (more > 0 ? `<p>... ${more} more rows</p>` : "");
  return { html, markdown };
}

/**
 * Shows an arquero table or plain rows as ONE output holding HTML, markdown and text. Returns
 * nothing, so a cell ending in `table(rows)` prints nothing more; use {@link formatTable} for the
 * strings.
 */
export function table(data: TableLike | readonly Row[], opts: TableOptions = {}): void {
  const { html, markdown } = formatTable(data, opts);
  sendDisplay({ "text/html": html, "text/markdown": markdown, "text/plain": markdown });
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
