import { formatTable } from "../notebook/table";
import type { Command } from "./command";

export const envCommand: Command = {
  name: "env",
  summary: "print versions, backend, mode and paths (what a notebook's environment cell shows)",
  usage: "ntkd-lab env\n\nHonours NTKD_BACKEND, NTKD_MODE and NTKD_RUNS_DIR.",
  async run() {
    // Loaded here: it pulls in tfjs, which other commands do not need.
    const { environmentCell } = require("../notebook/environment") as typeof import("../notebook/environment");
    const info = await environmentCell({ display: false });
    const rows = Object.entries(info).map(([item, value]) => ({ item, value: String(value) }));
    process.stdout.write(formatTable(rows, { maxRows: 100 }).markdown);
    return 0;
  },
};
