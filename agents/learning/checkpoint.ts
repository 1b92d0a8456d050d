/**
 * Checkpoint files of one firm: `<dir>/<firmId>/policy.json` (metadata, counters, generator states)
 * plus one raw little-endian `.bin` file per numeric array. policy.json is written last, via a
 * rename, so its presence means the checkpoint is complete.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { endianness } from "node:os";
import path from "node:path";
import { RuntimeFailure } from "../../services/errors.js";

type NumArray = Float32Array | Float64Array;

interface BlobInfo {
  file: string;
  type: "f32" | "f64";
  length: number;
}

export interface Checkpoint<M> {
  meta: M;
  blobs: Record<string, NumArray>;
}

/** The folder of `firmId`'s checkpoint under `dir`. */
export function firmDir(dir: string, firmId: string): string {
  return path.join(dir, firmId);
}

export async function writeCheckpoint<M>(dir: string, firmId: string, cp: Checkpoint<M>): Promise<void> {
  if (endianness() !== "LE") throw new RuntimeFailure("checkpoints are little-endian; this platform is not");
  const d = firmDir(dir, firmId);
  await mkdir(d, { recursive: true });
  const blobs: Record<string, BlobInfo> = {};
  for (const [name, arr] of Object.entries(cp.blobs)) {
    const file = `${name}.bin`;
    await writeFile(path.join(d, file), new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
    blobs[name] = { file, type: arr instanceof Float32Array ? "f32" : "f64", length: arr.length };
  }
  const tmp = path.join(d, "policy.json.tmp");
  await writeFile(tmp, `${JSON.stringify({ format: 1, meta: cp.meta, blobs }, null, 2)}\n`);
  await rename(tmp, path.join(d, "policy.json"));
}

/** The checkpoint of `firmId` under `dir`, or undefined when there is none. */
export async function readCheckpoint<M>(dir: string, firmId: string): Promise<Checkpoint<M> | undefined> {
  const d = firmDir(dir, firmId);
  let text: string;
  try {
    text = await readFile(path.join(d, "policy.json"), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const doc = JSON.parse(text) as { format: number; meta: M; blobs: Record<string, BlobInfo> };
  if (doc.format !== 1) throw new RuntimeFailure(`${path.join(d, "policy.json")}: unknown checkpoint format ${doc.format}`);
  const blobs: Record<string, NumArray> = {};
  for (const [name, info] of Object.entries(doc.blobs)) {
    const buf = await readFile(path.join(d, info.file));
    const bytes = new Uint8Array(buf.byteLength);
    bytes.set(buf);
    const arr = info.type === "f32" ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
    if (arr.length !== info.length)
      throw new RuntimeFailure(`${path.join(d, info.file)}: expected ${info.length} values, found ${arr.length}`);
    blobs[name] = arr;
  }
  return { meta: doc.meta, blobs };
}
