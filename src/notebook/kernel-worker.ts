/**
 * The kernel process of `ntkd-lab run`: tslab's own converter and executor, driven over Node's
 * IPC channel instead of Jupyter's ZeroMQ protocol, so notebooks run without Python. The runner
 * starts it with the notebook's folder as cwd (tslab resolves imports from there).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { CellError, FromKernel, ToKernel } from "./kernel-protocol";
import { mapGeneratedLine } from "./line-map";
import { PROGRESS_TRANSIENT_KEY } from "./display";
import { endProcessTree, exitWhenOrphaned, PROCESS_GROUP_ENV } from "../runtime/process-tree";

interface TslabConverter {
  convert(prevDecl: string, src: string): { output?: string; diagnostics: unknown[] };
  close(): void;
}
interface TslabExecutor {
  execute(src: string): Promise<boolean>;
  close(): void;
}

const send = (msg: FromKernel) => {
  if (process.send) process.send(msg);
};

function main(): void {
  if (!process.send) {
    process.stderr.write("kernel-worker: must be started by the ntkd-lab runner with an IPC channel\n");
    process.exit(2);
  }
  // tslab is loaded from this package's dependencies; its display writer lives in tslab/dist/jupyter.
  const { createConverter } = require("tslab/dist/converter") as { createConverter(o: object): TslabConverter };
  const { createExecutor } = require("tslab/dist/executor") as {
    createExecutor(root: string, convs: object, console: { log(...a: unknown[]): void; error(...a: unknown[]): void }): TslabExecutor;
  };
  const jupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData: unknown };
  const tslabVersion = (require("tslab/package.json") as { version: string }).version;

  let currentId = 0;
  let lastOutput = "";
  let errors: CellError[] = [];
  let source = "";

  const converter = createConverter({ isJS: false, isBrowser: false });
  // Wrap convert to keep the JavaScript tslab runs: runtime error lines refer to it.
  const recording: TslabConverter = {
    convert(prevDecl, src) {
      const result = converter.convert(prevDecl, src);
      lastOutput = result.output ?? "";
      return result;
    },
    close: () => converter.close(),
  };
  const convs = { node: recording, browser: recording, close: () => recording.close() };

  const writeStream = (name: "stdout" | "stderr") => (chunk: string | Uint8Array): boolean => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    send({ type: "stream", id: currentId, name, text });
    return true;
  };
  process.stdout.write = writeStream("stdout") as typeof process.stdout.write;
  process.stderr.write = writeStream("stderr") as typeof process.stderr.write;

  const onError = (...args: unknown[]) => {
    const [first] = args;
    if (first instanceof Error || (first && typeof first === "object" && "stack" in first)) {
      const err = first as Error;
      const line = lineOfError(err);
      errors.push({ ename: err.name || "Error", evalue: err.message ?? String(err), traceback: cellFrames(err.stack ?? String(err)), line });
    } else if (typeof first === "string" && first.startsWith("%s%d:%d - %s")) {
      // tslab's compile diagnostic: ("%s%d:%d - %s", fileName, line, character, message).
      const [, file, line, character, message] = args as [string, string, number, number, string];
      const where = file ? `${file}${line}:${character}` : `${line}:${character}`;
      errors.push({ ename: "TypeScriptError", evalue: `${where} - ${message}`, traceback: [`${where} - ${message}`], line: file ? undefined : line });
    } else {
      const text = args.map((a) => (typeof a === "string" ? a : require("node:util").inspect(a))).join(" ");
      errors.push({ ename: "Error", evalue: text, traceback: [text] });
    }
  };

  function lineOfError(err: Error): number | undefined {
    const m = /evalmachine\.<anonymous>:(\d+)/.exec(err.stack ?? "");
    if (!m) return undefined;
    return mapGeneratedLine(lastOutput, source, Number(m[1]));
  }

  const executor = createExecutor(process.cwd(), convs, { log: (...a) => console.log(...a), error: onError });

  jupyter.lastWriteDisplayData = (data: { data: Record<string, unknown>; metadata?: Record<string, unknown>; transient?: { display_id?: string; [PROGRESS_TRANSIENT_KEY]?: unknown } }, update: boolean) => {
    const progressText = data.transient?.[PROGRESS_TRANSIENT_KEY];
    send({
      type: "display", id: currentId, data: data.data, metadata: data.metadata ?? {}, displayId: data.transient?.display_id, update,
      ...(typeof progressText === "string" ? { progress: progressText } : {}),
    });
  };

  // Which cell's code is running: timers and promises a cell creates carry its execute id, so an
  // exception they throw after the cell returned is charged to that cell.
  const cellContext = new AsyncLocalStorage<number>();
  const reportLate = (what: string, reason: unknown) => {
    const origin = cellContext.getStore() ?? currentId;
    const err = reason instanceof Error ? reason : new Error(String(reason));
    const line = origin === currentId ? lineOfError(err) : undefined;
    const evalue = `${what}: ${err.message}`;
    send({ type: "late-error", id: origin, error: { ename: err.name || "Error", evalue, traceback: cellFrames(err.stack ?? String(err)), line } });
  };
  process.on("uncaughtException", (err) => reportLate("uncaught exception (thrown in a timer or callback)", err));
  process.on("unhandledRejection", (reason) => reportLate("unhandled promise rejection (a promise nobody awaited)", reason));

  // The runner owns this kernel: when it goes away (killed, crashed), so do the kernel and every
  // process a cell started (study workers), instead of training on as orphans. The runner starts
  // the kernel as the leader of its own process group, which the kernel's children inherit.
  process.env[PROCESS_GROUP_ENV] = String(process.pid);
  let shuttingDown = false;
  process.on("disconnect", () => {
    if (!shuttingDown) endProcessTree();
  });
  exitWhenOrphaned();

  process.on("message", (msg: ToKernel) => {
    if (msg.type === "shutdown") {
      shuttingDown = true;
      executor.close();
      process.disconnect?.();
      return;
    }
    if (msg.type === "ping") {
      // After what is due now (rejections nobody handled, immediate timers) has had its turn.
      setTimeout(() => setImmediate(() => send({ type: "pong", id: msg.id })), 0);
      return;
    }
    if (msg.type !== "execute") return;
    currentId = msg.id;
    errors = [];
    source = msg.code;
    lastOutput = "";
    cellContext.run(msg.id, () => executor.execute(msg.code)).then(
      (ok) => {
        const error = ok ? undefined : mergeErrors(errors);
        send({ type: "done", id: msg.id, ok, error });
      },
      (err: unknown) => send({ type: "done", id: msg.id, ok: false, error: { ename: "KernelError", evalue: String(err), traceback: [String(err)] } }),
    );
  });
  send({ type: "ready", tslabVersion });
}

/** Drops the frames of Node's vm, tslab and this worker below the cell's own frames. */
function cellFrames(stack: string): string[] {
  return stack.split("\n").filter((l) => !/\((?:node:vm|node:internal|node:events)|node:internal|[\\/]tslab[\\/]dist[\\/]|kernel-worker\.js/.test(l));
}

function mergeErrors(errors: CellError[]): CellError {
  if (errors.length === 0) return { ename: "Error", evalue: "the cell failed without an error message", traceback: [] };
  if (errors.length === 1) return errors[0]!;
  const first = errors[0]!;
  return {
    ename: first.ename,
    evalue: errors.map((e) => e.evalue).join("\n"),
    traceback: errors.flatMap((e) => e.traceback),
    line: first.line,
  };
}

main();
