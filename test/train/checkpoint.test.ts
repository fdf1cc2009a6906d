import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { readCheckpoint, writeCheckpoint, type CheckpointContents } from "../../src/train/checkpoint";

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "ntkd-ckpt-"));
const contents = (epoch: number, values: number): CheckpointContents => ({
  meta: { epoch },
  tensors: { weights: [{ shape: [values], data: Float32Array.from({ length: values }, (_, i) => epoch * 1000 + i) }] },
});
const strays = (dir: string) => fs.readdirSync(dir).filter((n) => n !== "last.ckpt");

test("partial writes are continued until the whole checkpoint is on disk", () => {
  const file = path.join(tempDir(), "last.ckpt");
  const calls: number[] = [];
  // A disk that accepts at most 100 bytes per call, as a pipe or a nearly full filesystem does.
  const trickle = (fd: number, buffer: Uint8Array, offset: number, length: number) => {
    calls.push(length);
    return fs.writeSync(fd, buffer, offset, Math.min(length, 100));
  };
  writeCheckpoint(file, contents(3, 200), { writeSync: trickle });
  assert.ok(calls.length > 5, `expected several partial writes, got ${calls.length}`);
  const back = readCheckpoint(file);
  assert.deepEqual(back.meta, { epoch: 3 });
  assert.deepEqual(Array.from(back.tensors.weights![0]!.data), Array.from(contents(3, 200).tensors.weights![0]!.data));
});

test("a write that stops short (full disk) fails naming the file and keeps the previous checkpoint", () => {
  const dir = tempDir();
  const file = path.join(dir, "last.ckpt");
  writeCheckpoint(file, contents(1, 8));
  const before = fs.readFileSync(file);
  let budget = 300;
  // Accepts 300 bytes in all, then reports no progress, as write(2) does once the disk is full.
  const fullDisk = (fd: number, buffer: Uint8Array, offset: number, length: number) => {
    const n = fs.writeSync(fd, buffer, offset, Math.min(length, budget));
    budget -= n;
    return n;
  };
  assert.throws(() => writeCheckpoint(file, contents(2, 500), { writeSync: fullDisk }), (err: Error) => {
    assert.match(err.message, new RegExp(`writeCheckpoint ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: short write: 300 of \\d+ bytes`));
    return true;
  });
  assert.deepEqual(fs.readFileSync(file), before);
  assert.deepEqual(readCheckpoint(file).meta, { epoch: 1 });
  assert.deepEqual(strays(dir), [], "the torn temporary is removed");
});

test("a write that throws (ENOSPC) removes the temporary and keeps the previous checkpoint", () => {
  const dir = tempDir();
  const file = path.join(dir, "last.ckpt");
  writeCheckpoint(file, contents(1, 8));
  const enospc = () => {
    throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  };
  assert.throws(() => writeCheckpoint(file, contents(2, 8), { writeSync: enospc }), /writeCheckpoint .*last\.ckpt: ENOSPC: no space left on device/);
  assert.deepEqual(readCheckpoint(file).meta, { epoch: 1 });
  assert.deepEqual(strays(dir), []);
});

// A real small filesystem: the kernel's own short write and ENOSPC, not a simulation of them.
test("on a 64 KiB tmpfs a checkpoint that does not fit fails and the previous one stays readable", (t) => {
  const dir = tempDir();
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { encoding: "utf8" });
  if (mounted.status !== 0) {
    t.skip(`cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): ${(mounted.stderr || String(mounted.error)).trim()}`);
    return;
  }
  try {
    const file = path.join(dir, "last.ckpt");
    writeCheckpoint(file, contents(1, 1000));
    // 40,000 floats = 160 KB: more than the filesystem holds next to the first checkpoint.
    assert.throws(() => writeCheckpoint(file, contents(2, 40_000)), /writeCheckpoint .*last\.ckpt: .*(ENOSPC|short write)/);
    const back = readCheckpoint(file);
    assert.deepEqual(back.meta, { epoch: 1 });
    assert.equal(back.tensors.weights![0]!.data[999], 1999);
    assert.deepEqual(strays(dir), []);
  } finally {
    spawnSync("umount", [dir]);
  }
});

test("a corrupt checkpoint header is refused naming the file and the expected header", () => {
  const file = path.join(tempDir(), "last.ckpt");
  writeCheckpoint(file, contents(1, 4));
  const bytes = fs.readFileSync(file);
  const headerStart = 12;
  bytes[headerStart] = "#".charCodeAt(0); // the header's opening brace
  fs.writeFileSync(file, bytes);
  assert.throws(() => readCheckpoint(file), (err: Error) => {
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /corrupt header \(expected a JSON header \{version: 1/);
    return true;
  });
  // Valid JSON of the wrong shape is refused as well, naming the broken field.
  const header = Buffer.from(JSON.stringify({ version: 1, meta: {}, tensors: { weights: [{ shape: [2], offset: 0 }] } }));
  const padded = Math.ceil((12 + header.length) / 4) * 4;
  const forged = Buffer.alloc(padded + 8);
  forged.write("NTKDCKPT", 0, "latin1");
  forged.writeUInt32LE(header.length, 8);
  header.copy(forged, 12);
  fs.writeFileSync(file, forged);
  assert.throws(() => readCheckpoint(file), /last\.ckpt has a corrupt header: tensor group "weights" must be a list of \{shape, offset, length\}/);
});
