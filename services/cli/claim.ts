/**
 * `stackelberg firm --claim PATTERN --claim-dir DIR`: a process that does not know which firm it
 * is (a replica of `docker compose up --scale follower=N`, whose replicas are identical) takes
 * the first firm of the experiment that matches PATTERN and that no other process holds. A claim is
 * a file `DIR/<firm id>.claim` created exclusively (O_EXCL), so two processes sharing DIR never
 * take the same firm. It names its holder (`--claim-as`, by default the host name, which in a
 * container is the container's id and survives a restart of that container): a holder started
 * again gets its own firm back, with its checkpoints. A clean exit releases the claim.
 */
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.js";

/** What a claim file holds. */
interface ClaimRecord {
  holder: string;
  pid: number;
  at: string;
}

/** A held claim: the firm id, and how to give it back. */
export interface Claim {
  firmId: string;
  /** The claim file. */
  file: string;
  /** Deletes the claim file if it is still this process's claim. */
  release(): void;
}

/** Whether firm id `id` matches `pattern`: comma-separated alternatives, `*` for any characters. */
export function matchesClaim(pattern: string, id: string): boolean {
  return pattern
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)
    .some((p) => new RegExp(`^${p.split("*").map(escapeRegExp).join(".*")}$`).test(id));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function read(file: string): ClaimRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as Partial<ClaimRecord>;
    return typeof r.holder === "string" && typeof r.pid === "number" ? { holder: r.holder, pid: r.pid, at: String(r.at) } : undefined;
  } catch {
    return undefined; // being written, or not a claim: not ours either way
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Claims the first of `ids` (in order) free in `dir` for `holder`. A claim already held by `holder`
 * is taken back (a restarted holder), unless a live process other than this one wrote it: two
 * processes on one host under the same name would otherwise both play one firm.
 */
export function claimFirm(dir: string, ids: readonly string[], holder: string, pattern = ids.join(",")): Claim {
  if (ids.length === 0) throw new ConfigError(`--claim ${pattern}: no firm of the experiment matches`);
  const me: ClaimRecord = { holder, pid: process.pid, at: new Date().toISOString() };
  const text = `${JSON.stringify(me)}\n`;
  const held: string[] = [];
  for (const id of ids) {
    const file = join(dir, `${id}.claim`);
    try {
      writeFileSync(file, text, { flag: "wx", mode: 0o644 });
      return claimOf(id, file, holder);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "ENOENT" || e.code === "EACCES" || e.code === "EROFS")
        throw new ConfigError(`--claim-dir ${dir}: cannot write claims there (${e.code}); it must be a folder shared by every claiming process, writable`);
      if (e.code !== "EEXIST") throw err;
    }
    const r = read(file);
    if (r && r.holder === holder && (r.pid === process.pid || !alive(r.pid))) {
      writeFileSync(file, text);
      return claimOf(id, file, holder);
    }
    held.push(`${id} (${r ? `${r.holder}, pid ${r.pid}` : "unreadable claim"})`);
  }
  throw new ConfigError(
    `--claim ${pattern}: every matching firm is claimed in ${dir}: ${held.join(", ")}; run as many processes as firms, or delete the .claim file of a holder that is gone`,
  );
}

function claimOf(firmId: string, file: string, holder: string): Claim {
  return {
    firmId,
    file,
    release() {
      const r = read(file);
      if (r?.holder === holder && r.pid === process.pid) unlinkSync(file);
    },
  };
}
