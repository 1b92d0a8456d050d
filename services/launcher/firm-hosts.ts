/**
 * How `stackelberg run` packs a run's firms into a few `stackelberg firm` host processes, and how it
 * keeps one log per firm when several firms share a process: a host's JSON log lines go to
 * logs/firm-<id>.log by their firmId field, lines of no firm (process start-up, the CLI's last
 * error line) to the host's own log, or to its one firm's log when it hosts one firm.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { ConfigError } from "../errors.js";

/** Firm host processes when neither --hosts nor deployment.hosts says: up to 4, one per firm below that. */
export const DEFAULT_HOSTS = 4;

/** The number of firm host processes of a run: the flag, else the config's deployment.hosts, else the default; never more than firms. */
export function hostsFor(firms: number, flag: number | undefined, config: number | undefined): number {
  const n = flag ?? config ?? DEFAULT_HOSTS;
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(`${flag !== undefined ? "--hosts" : "deployment.hosts"} must be a positive integer (got ${n})`);
  return Math.min(n, firms);
}

/**
 * Splits firm ids (firm-id order) over `hosts` processes round-robin: leaders and followers, and
 * learners, spread evenly. Each host's list keeps firm-id order.
 */
export function packFirms(ids: readonly string[], hosts: number): string[][] {
  const out: string[][] = Array.from({ length: Math.min(hosts, ids.length) }, () => []);
  ids.forEach((id, i) => out[i % out.length]?.push(id));
  return out;
}

/** A host's name in logs and error messages: firm-<id> for a host of one firm, firms-<k> otherwise. */
export function hostName(ids: readonly string[], k: number): string {
  return ids.length === 1 ? `firm-${ids[0]}` : `firms-${k}`;
}

/** Lines of a firm host's output routed to per-firm log files; remembers what a failure report needs. */
export class HostLogs {
  private readonly files = new Map<string, WriteStream>();
  private readonly own: WriteStream;
  private readonly tail: string[] = [];
  /** Per followed stream: its last, unfinished line. */
  private readonly partial = new Map<Readable, string>();
  /** The firm of the last error-level line (level >= 50) that named one. */
  failedFirm: string | undefined;
  /** The host's own log file (lines of no firm). */
  readonly file: string;

  constructor(
    logDir: string,
    readonly name: string,
    readonly firmIds: readonly string[],
  ) {
    this.file = join(logDir, `${name}.log`);
    this.own = createWriteStream(this.file, { flags: "a" });
    for (const id of firmIds) {
      const f = join(logDir, `firm-${id}.log`);
      this.files.set(id, f === this.file ? this.own : createWriteStream(f, { flags: "a" }));
    }
  }

  /** Follows a stream of the host's output (stdout or stderr; each keeps its own unfinished line). */
  follow(stream: Readable | null): void {
    if (!stream) return;
    this.partial.set(stream, "");
    stream.on("data", (b: Buffer) => {
      const lines = ((this.partial.get(stream) ?? "") + b.toString()).split("\n");
      this.partial.set(stream, lines.pop() ?? "");
      for (const l of lines) this.line(l);
    });
  }

  private line(l: string): void {
    if (l === "") return;
    let firm: string | undefined;
    if (l.startsWith("{")) {
      try {
        const o = JSON.parse(l) as { firmId?: unknown; level?: unknown };
        if (typeof o.firmId === "string" && this.files.has(o.firmId)) firm = o.firmId;
        if (firm && typeof o.level === "number" && o.level >= 50) this.failedFirm = firm;
      } catch {
        // Not a log line: it goes to the host's log as it is.
      }
    }
    (firm ? (this.files.get(firm) ?? this.own) : this.own).write(`${l}\n`);
    this.tail.push(l);
    if (this.tail.length > 5) this.tail.shift();
  }

  /** The last lines the host wrote (any firm). */
  lastLines(): string {
    return [...this.tail, ...[...this.partial.values()].filter(Boolean)].join("\n");
  }

  /** What to say when the host process died: which firms it hosted, which one logged an error, where to look. */
  describeExit(how: string): string {
    const who = this.firmIds.length === 1 ? `${this.name} process` : `firm host process ${this.name} (firms ${this.firmIds.join(", ")})`;
    const culprit =
      this.failedFirm && this.firmIds.length > 1 ? `; firm ${this.failedFirm} logged the last error (logs/firm-${this.failedFirm}.log)` : "";
    return `${who} exited with ${how}${culprit}; its last lines (${this.file}):\n${this.lastLines()}`;
  }

  /** Writes what is buffered and closes the files. */
  async close(): Promise<void> {
    for (const [stream, rest] of this.partial) {
      if (rest) this.line(rest);
      this.partial.set(stream, "");
    }
    const streams = new Set([this.own, ...this.files.values()]);
    await Promise.all([...streams].map((s) => new Promise<void>((r) => s.end(r))));
  }
}
