import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { InputError } from "../notebook/errors";
import type { Command } from "./command";

export const gainsCommand: Command = {
  name: "gains",
  summary: "paired differences between methods over seeds, with confidence intervals, from a summary.json",
  usage: [
    "ntkd-lab gains [summary.json] [--level p] [--json]",
    "",
    "  summary.json  a reproduction's or a merged study's summary (default results/full/summary.json)",
    "  --level p     confidence of the intervals, in (0, 1) (default 0.95)",
    "  --json        print the rows as JSON instead of a Markdown table",
    "Pairs the methods of each study record by seed (KD, NTKD, SP, RKD against no transfer; NTKD",
    "against each other transfer method; each fabrication table's compensations) and gives the mean",
    "difference with its Student-t interval over the paired seeds.",
  ].join("\n"),
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { level: { type: "string" }, json: { type: "boolean" } } });
    if (positionals.length > 1) throw new InputError(`gains: expected at most one summary.json, got ${positionals.length} paths`);
    const file = positionals[0] ?? "results/full/summary.json";
    const level = values.level === undefined ? 0.95 : Number(values.level);
    if (!(level > 0 && level < 1)) throw new InputError(`gains: --level must be a number in (0, 1), got ${values.level}`);
    let summary: unknown;
    try {
      summary = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
      throw new InputError(`gains: cannot read ${file} as JSON (${(err as Error).message}); expected a summary.json of reproduce or merge`);
    }
    const { summaryGains, summaryGainsMarkdown } = require("../experiments/summary-gains") as typeof import("../experiments/summary-gains");
    let gains;
    try {
      gains = summaryGains(summary, { level });
    } catch (err) {
      throw new InputError(`gains: ${file}: ${(err as Error).message}`);
    }
    process.stdout.write((values.json ? JSON.stringify(gains, null, 2) : summaryGainsMarkdown(gains)) + "\n");
    return 0;
  },
};
