/**
 * Whole-file writes that a crash or a full disk never leave half done: write a temporary file in
 * the same folder, then rename it over the target. Lives in runtime so every folder (data caches,
 * the run store, exports) writes files the same way.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Writes `file` atomically. `data` may be several parts, written one after the other, so a large
 * file (a decoded data set) needs no concatenated copy in memory. A failed write removes its
 * temporary file and leaves any previous `file` untouched.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    if (typeof data === "string" || data instanceof Uint8Array) {
      fs.writeFileSync(tmp, data);
    } else {
      const fd = fs.openSync(tmp, "w");
      try {
        for (const part of data) fs.writeFileSync(fd, part);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
