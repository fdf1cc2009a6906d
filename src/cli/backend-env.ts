import { UsageError } from "./command";

/**
 * Refuses an NTKD_BACKEND that names no backend before any notebook starts (inside a kernel it
 * would surface only as a failing cell). Loads the runtime only when the variable is set.
 */
export function checkBackendEnv(env: NodeJS.ProcessEnv = process.env): void {
  const raw = env.NTKD_BACKEND;
  if (raw === undefined || raw === "") return;
  const { BACKEND_NAMES } = require("../runtime/backend") as typeof import("../runtime/backend");
  if (!(BACKEND_NAMES as readonly string[]).includes(raw)) throw new UsageError(`NTKD_BACKEND="${raw}" is not a backend; expected one of ${BACKEND_NAMES.join(", ")}`);
}
