/**
 * Downloads the official CIFAR-10 binary archive, checks its MD5 and extracts it, for users with
 * internet access: `npm run data:cifar10` (or `-- --archive <file>` for an archive fetched by hand,
 * `-- --dir <folder>` for another destination than data/cache/cifar10).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { cifar10Available, cifar10Dir } from "./cifar10";

/** The official archive (about 163 MB). */
export const CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/** MD5 of {@link CIFAR10_URL}, as published on the CIFAR page. */
export const CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530";

/** Options of {@link installCifar10}. */
export interface InstallCifar10Options {
  /** Destination folder; the archive extracts to `<dir>/cifar-10-batches-bin/`. Default: {@link cifar10Dir}. */
  dir?: string;
  /** An already downloaded archive to check and extract instead of downloading. */
  archive?: string;
  /** Where to download from. Default {@link CIFAR10_URL}. */
  url?: string;
  /** Expected MD5 of the archive. Default {@link CIFAR10_MD5}. */
  expectedMd5?: string;
  /** Progress messages; default console.log. */
  log?: (message: string) => void;
}

/** Hex MD5 of a file, streamed. */
export async function md5File(file: string): Promise<string> {
  const hash = crypto.createHash("md5");
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest("hex");
}

/** Downloads `url` to `file` (via `file.part`, renamed when complete). */
export async function downloadFile(url: string, file: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new Error(
      `could not download ${url} (${cause}). Without internet access, fetch the file on another machine ` +
        `and run: npm run data:cifar10 -- --archive <path to cifar-10-binary.tar.gz>`,
    );
  }
  if (!response.ok || !response.body) {
    throw new Error(`could not download ${url}: HTTP ${response.status} ${response.statusText}`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const partial = file + ".part";
  await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream), fs.createWriteStream(partial));
  fs.renameSync(partial, file);
}

/**
 * Extracts the regular files of a .tar.gz archive into `destDir` (ustar/GNU tar, the format of the
 * CIFAR archive). Entries with absolute paths or `..` are refused so an archive cannot write
 * outside `destDir`. Returns the extracted relative paths.
 */
export function extractTarGz(archive: string, destDir: string): string[] {
  let tar: Buffer;
  try {
    tar = zlib.gunzipSync(fs.readFileSync(archive));
  } catch (err) {
    throw new Error(`${archive}: not a readable .tar.gz archive (${(err as Error).message})`);
  }
  const readString = (offset: number, length: number) => {
    const end = tar.indexOf(0, offset);
    return tar.toString("utf8", offset, end >= 0 && end < offset + length ? end : offset + length);
  };
  const extracted: string[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const sizeField = readString(offset + 124, 12).trim();
    const size = parseInt(sizeField || "0", 8);
    if (!Number.isFinite(size) || size < 0) throw new Error(`${archive}: corrupt tar header at byte ${offset}`);
    const type = String.fromCharCode(header[156]!);
    const prefix = readString(offset + 345, 155);
    let name = longName ?? (prefix ? prefix + "/" : "") + readString(offset, 100);
    longName = undefined;
    const dataStart = offset + 512;
    if (dataStart + size > tar.length) throw new Error(`${archive}: truncated tar entry ${name}`);
    const data = tar.subarray(dataStart, dataStart + size);
    if (type === "L") {
      longName = readString(dataStart, size); // GNU long name for the next entry
    } else if (type === "0" || type === "\0") {
      name = name.replace(/^\.\//, "");
      if (path.isAbsolute(name) || name.split(/[\\/]/).includes("..")) {
        throw new Error(`${archive}: refusing tar entry with unsafe path ${JSON.stringify(name)}`);
      }
      const target = path.join(destDir, name);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, data);
      extracted.push(name);
    }
    offset = dataStart + Math.ceil(size / 512) * 512;
  }
  return extracted;
}

/** Downloads (unless `archive` is given), verifies and extracts CIFAR-10. Returns the destination folder. */
export async function installCifar10(opts: InstallCifar10Options = {}): Promise<string> {
  const log = opts.log ?? console.log;
  const dir = opts.dir ?? cifar10Dir();
  const expectedMd5 = opts.expectedMd5 ?? CIFAR10_MD5;
  let archive = opts.archive;
  if (archive === undefined) {
    archive = path.join(dir, "cifar-10-binary.tar.gz");
    if (!fs.existsSync(archive)) {
      const url = opts.url ?? CIFAR10_URL;
      log(`downloading ${url} -> ${archive}`);
      await downloadFile(url, archive);
    }
  } else if (!fs.existsSync(archive)) {
    throw new Error(`${archive}: archive not found (expected the CIFAR-10 binary .tar.gz)`);
  }
  const md5 = await md5File(archive);
  if (md5 !== expectedMd5) {
    throw new Error(`${archive}: MD5 ${md5} does not match the expected ${expectedMd5}; the download is incomplete or not the CIFAR-10 binary archive`);
  }
  log(`MD5 ok (${md5}); extracting into ${dir}`);
  extractTarGz(archive, dir);
  if (!cifar10Available(dir)) {
    throw new Error(`${archive}: extracted, but ${dir} does not hold the six CIFAR-10 batch files`);
  }
  log(`CIFAR-10 ready in ${dir}`);
  return dir;
}

/** Command-line entry: `node dist/data/cifar10-download.js [--dir <folder>] [--archive <file>]`. */
async function main(argv: string[]): Promise<void> {
  const opts: InstallCifar10Options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if ((arg === "--dir" || arg === "--archive") && value !== undefined) {
      opts[arg === "--dir" ? "dir" : "archive"] = value;
      i++;
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)}; expected --dir <folder> or --archive <file>`);
    }
  }
  await installCifar10(opts);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(`data:cifar10: ${err.message}`);
    process.exit(1);
  });
}
