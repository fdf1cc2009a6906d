/**
 * Loads the tfjs packages onto one `@tensorflow/tfjs-core` engine: @tensorflow/tfjs (with its
 * cpu backend), the wasm backend and, when installed, tfjs-node. Only src/runtime imports this
 * module; everything else imports `tf` from ./tf, which also makes the engine ready to train.
 *
 * `@tensorflow/tfjs-node` is required first when it is installed: it registers its native
 * "tensorflow" backend on the same core that `@tensorflow/tfjs` re-exports (npm dedupes the
 * core package). It is an optionalDependency whose install fails without internet, so a
 * missing module is normal and silently ignored; any other load failure is remembered and
 * reported by `initBackend` when the node backend is requested explicitly.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

let tfjsNodeLoadError: string | null = null;

/** Why tfjs-node could not be loaded, or null when it loaded. */
export function tfjsNodeError(): string | null {
  return tfjsNodeLoadError;
}

function tryLoadTfjsNode(): void {
  try {
    require("@tensorflow/tfjs-node");
  } catch (err) {
    tfjsNodeLoadError = err instanceof Error ? err.message.split("\n")[0] : String(err);
  }
}

// Skipped when NTKD_BACKEND forces another backend: loading libtensorflow costs ~1 s and
// prints banners that a forced wasm/cpu run does not want.
if (process.env.NTKD_BACKEND === undefined || process.env.NTKD_BACKEND === "node") {
  tryLoadTfjsNode();
} else {
  tfjsNodeLoadError = `not loaded because NTKD_BACKEND=${process.env.NTKD_BACKEND}`;
}

export { tf };
