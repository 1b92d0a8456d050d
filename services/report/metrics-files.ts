/**
 * The run's metrics files, written and read in bounded memory however long the run:
 * metrics.jsonl (one JSON line per round) and metrics.csv (the same rows, flat columns), written as
 * rounds arrive; at the end each learner's metrics (learners/<id>.jsonl, written by the firm
 * processes) are merged into both, streaming, one line at a time.
 */
import { once } from "node:events";
import { closeSync, createWriteStream, existsSync, openSync, readSync, renameSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { csvHeader, csvRow, type LearnerColumns } from "./csv.js";
import type { RoundMetrics } from "./metrics.js";

/** A metrics.jsonl line: the round's metrics, with the learners' metrics once merged. */
export type MetricsLine = RoundMetrics & { learners?: Record<string, Record<string, number>> };

/** Writes metrics.jsonl and metrics.csv side by side in a run's output folder. */
export class MetricsFiles {
  readonly jsonlFile: string;
  readonly csvFile: string;
  private readonly jsonl: WriteStream;
  private readonly csv: WriteStream;
  private jsonChunk = "";
  private csvChunk = "";

  constructor(
    outDir: string,
    private readonly firmIds: readonly string[],
  ) {
    this.jsonlFile = join(outDir, "metrics.jsonl");
    this.csvFile = join(outDir, "metrics.csv");
    this.jsonl = createWriteStream(this.jsonlFile, { flags: "w" });
    this.csv = createWriteStream(this.csvFile, { flags: "w" });
    this.csv.write(csvHeader(firmIds));
  }

  /** Queues one round's line in both files (written by flush()). */
  add(m: RoundMetrics): void {
    this.jsonChunk += `${JSON.stringify(m)}\n`;
    this.csvChunk += csvRow(m, this.firmIds);
  }

  /** Writes what add() queued. */
  flush(): void {
    if (this.jsonChunk === "") return;
    this.jsonl.write(this.jsonChunk);
    this.csv.write(this.csvChunk);
    this.jsonChunk = this.csvChunk = "";
  }

  /** Flushes and closes both files. */
  async end(): Promise<void> {
    this.flush();
    await Promise.all([new Promise<void>((r) => this.jsonl.end(r)), new Promise<void>((r) => this.csv.end(r))]);
  }
}

/**
 * The non-empty lines of a text file, one at a time, read in 1 MiB chunks (synchronously: several
 * times faster than readline's async iteration, and memory stays at one chunk). A generator left
 * early closes the file.
 */
export function* fileLines(file: string): Generator<string> {
  const fd = openSync(file, "r");
  const decoder = new StringDecoder("utf8");
  const buf = Buffer.allocUnsafe(1 << 20);
  let rest = "";
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      const text = rest + (n > 0 ? decoder.write(buf.subarray(0, n)) : decoder.end());
      const lines = text.split("\n");
      rest = n > 0 ? (lines.pop() ?? "") : "";
      for (const line of lines) {
        const l = line.endsWith("\r") ? line.slice(0, -1) : line;
        if (l !== "") yield l;
      }
      if (n === 0) return;
    }
  } finally {
    closeSync(fd);
  }
}

/** The rows of a metrics.jsonl, one at a time. */
export function* metricsRows(file: string): Generator<MetricsLine> {
  for (const line of fileLines(file)) yield JSON.parse(line) as MetricsLine;
}

type LearnerLine = { round: number } & Record<string, number>;

/**
 * What one pass over a learner's file tells: where a resumed run restarted it (the round of a line
 * is not above the line before: the firm went back to its checkpoint and played those rounds
 * again), its metric names, and its last line.
 */
interface LearnerScan {
  /** First line index and first round of each segment (a segment: lines with rising rounds). */
  segments: { line: number; round: number }[];
  keys: string[];
  last: Record<string, number> | undefined;
}

function scanLearner(file: string, keep: (key: string) => boolean): LearnerScan {
  const segments: LearnerScan["segments"] = [];
  const keys = new Set<string>();
  let last: Record<string, number> | undefined;
  let prev = Number.POSITIVE_INFINITY;
  let i = 0;
  for (const line of fileLines(file)) {
    const { round, ...m } = JSON.parse(line) as LearnerLine;
    if (!(round > prev)) segments.push({ line: i, round });
    prev = round;
    for (const k of Object.keys(m)) if (keep(k)) keys.add(k);
    last = m;
    i++;
  }
  return { segments, keys: [...keys], last };
}

/**
 * A learner's lines in rising round order, each round once: where a resumed run played rounds
 * again, the later lines win (as they did in the run).
 */
function* effectiveLearnerLines(file: string, scan: LearnerScan): Generator<LearnerLine> {
  const segs = scan.segments;
  // A line of segment k stands unless a later segment starts at or before its round.
  const upTo = new Array<number>(segs.length).fill(Number.POSITIVE_INFINITY);
  for (let k = segs.length - 2; k >= 0; k--) upTo[k] = Math.min(upTo[k + 1]!, segs[k + 1]!.round);
  let k = -1;
  let i = 0;
  for (const line of fileLines(file)) {
    while (k + 1 < segs.length && segs[k + 1]!.line <= i) k++;
    i++;
    const row = JSON.parse(line) as LearnerLine;
    if (row.round < upTo[k]!) yield row;
  }
}

/**
 * Adds each learner's per-round metrics (learners/<id>.jsonl) to metrics.jsonl under `learners`
 * and to metrics.csv as `learners.<id>.<metric>` columns, streaming (memory does not grow with the
 * run), and returns each learner's last metrics. A round logged twice (a resumed firm goes back to
 * its checkpoint, at or before the round after its last line, and plays on) takes its later line. `keep` picks the metric names that go into the
 * files (deterministic runs leave out timing).
 */
export async function mergeLearnerMetrics(
  outDir: string,
  firmIds: readonly string[],
  keep: (key: string) => boolean = () => true,
): Promise<Record<string, Record<string, number>>> {
  const last: Record<string, Record<string, number>> = {};
  const learners: { id: string; file: string; scan: LearnerScan }[] = [];
  for (const id of firmIds) {
    const file = join(outDir, "learners", `${id}.jsonl`);
    if (!existsSync(file)) continue;
    const scan = scanLearner(file, () => true);
    if (scan.last === undefined) continue;
    last[id] = scan.last;
    learners.push({ id, file, scan: { ...scan, keys: scan.keys.filter(keep) } });
  }
  if (learners.length === 0) return last;
  const columns: LearnerColumns = learners.map((l) => [l.id, l.scan.keys] as const);
  const metricsFile = join(outDir, "metrics.jsonl");
  const csvFile = join(outDir, "metrics.csv");
  const jsonl = createWriteStream(`${metricsFile}.tmp`);
  const csv = createWriteStream(`${csvFile}.tmp`);
  const write = async (s: WriteStream, text: string) => {
    if (!s.write(text)) await once(s, "drain");
  };
  await write(csv, csvHeader(firmIds, columns));
  const cursors = learners.map((l) => ({
    ...l,
    it: effectiveLearnerLines(l.file, l.scan),
    row: undefined as LearnerLine | undefined,
    done: false,
  }));
  for (const c of cursors) {
    const n = c.it.next();
    c.done = n.done === true;
    c.row = n.done ? undefined : n.value;
  }
  let jsonChunk = "";
  let csvChunk = "";
  for (const row of metricsRows(metricsFile)) {
    const merged: Record<string, Record<string, number>> = {};
    for (const c of cursors) {
      while (!c.done && c.row !== undefined && c.row.round < row.round) {
        const n = c.it.next();
        c.done = n.done === true;
        c.row = n.done ? undefined : n.value;
      }
      if (c.row?.round !== row.round) continue;
      const { round: _, ...m } = c.row;
      merged[c.id] = Object.fromEntries(Object.entries(m).filter(([k]) => keep(k)));
    }
    if (Object.keys(merged).length > 0) row.learners = merged;
    else delete row.learners;
    jsonChunk += `${JSON.stringify(row)}\n`;
    csvChunk += csvRow(row, firmIds, columns);
    if (jsonChunk.length > 1 << 16) {
      await write(jsonl, jsonChunk);
      await write(csv, csvChunk);
      jsonChunk = csvChunk = "";
    }
  }
  await write(jsonl, jsonChunk);
  await write(csv, csvChunk);
  await Promise.all([new Promise<void>((r) => jsonl.end(r)), new Promise<void>((r) => csv.end(r))]);
  renameSync(`${metricsFile}.tmp`, metricsFile);
  renameSync(`${csvFile}.tmp`, csvFile);
  return last;
}
