/** A minimal reader of .tar.gz archives (ustar/GNU tar), the format of both CIFAR-10 downloads. */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

/** One regular file of an archive. */
export interface TarEntry {
  /** Path inside the archive, without a leading "./". */
  name: string;
  /** The file's bytes (a view into the decompressed archive). */
  data: Buffer;
}

/**
 * The regular files of a .tar.gz archive, in archive order. `source` names the archive in errors.
 * Entries with absolute paths or `..` are refused so that no caller can be made to write outside
 * its destination.
 */
export function readTarGzEntries(gzipped: Buffer, source: string): TarEntry[] {
  let tar: Buffer;
  try {
    tar = zlib.gunzipSync(gzipped);
  } catch (err) {
    throw new Error(`${source}: not a readable .tar.gz archive (${(err as Error).message})`);
  }
  const readString = (offset: number, length: number) => {
    const end = tar.indexOf(0, offset);
    return tar.toString("utf8", offset, end >= 0 && end < offset + length ? end : offset + length);
  };
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const sizeField = readString(offset + 124, 12).trim();
    const size = parseInt(sizeField || "0", 8);
    if (!Number.isFinite(size) || size < 0) throw new Error(`${source}: corrupt tar header at byte ${offset}`);
    const type = String.fromCharCode(header[156]!);
    const prefix = readString(offset + 345, 155);
    let name = longName ?? (prefix ? prefix + "/" : "") + readString(offset, 100);
    longName = undefined;
    const dataStart = offset + 512;
    if (dataStart + size > tar.length) throw new Error(`${source}: truncated tar entry ${name}`);
    const data = tar.subarray(dataStart, dataStart + size);
    if (type === "L") {
      longName = readString(dataStart, size); // GNU long name for the next entry
    } else if (type === "0" || type === "\0") {
      name = name.replace(/^\.\//, "");
      if (path.isAbsolute(name) || name.split(/[\\/]/).includes("..")) {
        throw new Error(`${source}: refusing tar entry with unsafe path ${JSON.stringify(name)}`);
      }
      entries.push({ name, data });
    }
    offset = dataStart + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** Extracts the regular files of the .tar.gz `archive` into `destDir`; returns their relative paths. */
export function extractTarGz(archive: string, destDir: string): string[] {
  const entries = readTarGzEntries(fs.readFileSync(archive), archive);
  for (const { name, data } of entries) {
    const target = path.join(destDir, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, data);
  }
  return entries.map((e) => e.name);
}
