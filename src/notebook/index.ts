/**
 * The tslab notebook toolkit: `show` (charts and rich output), `table`, the live `progress` bar,
 * `params` (quick/full sizes), `environmentCell`, the run store (`openRun`, `savefig`), the
 * Python-free notebook runner behind `ntkd-lab run` and `reproduce`, and the Jupyter kernel spec.
 * Re-exports src/viz, so one import gives a notebook its charts too. Experiments live in
 * src/experiments; this folder only runs and records them.
 */
export * from "./display";
export * from "./show";
export * from "./table";
export * from "./progress";
export * from "./params";
export * from "./run-store";
export * from "./savefig";
export * from "./environment";
export * from "./ipynb";
export * from "./runner";
export * from "./self-link";
export * from "./git";
export * from "./kernel-spec";
export * from "./reproduce";
export type { CellError } from "./kernel-protocol";
export * from "../viz/index";
export * from "./errors";
