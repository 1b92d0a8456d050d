/**
 * The durable record of a run: a JetStream stream with two subjects.
 * - `stk.<run>.outcome`: the Outcome of every cleared round, exactly as the firms received it (one
 *   message per round, idempotent id <run>-<round>). A run's results are rebuilt from it and a
 *   restarted market resumes after its last round.
 * - `stk.<run>.stats`: RoundStatsBatch messages (batch means of consecutive rounds, published
 *   after their outcomes), which progress and metrics follow without receiving the batch arrays.
 */
import { DeliverPolicy, type JetStreamManager, jetstream, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { decode, type Outcome, type RoundStats, runSubjects } from "../bus/index.js";
import { ConfigError } from "../errors.js";

/** Creates the run's record stream when it does not exist yet (idempotent); refuses a stream of another layout. */
export async function ensureRecordStream(jsm: JetStreamManager, runId: string): Promise<void> {
  const s = runSubjects(runId);
  const subjects = [s.outcome, s.stats];
  let existing: string[] | undefined;
  try {
    existing = (await jsm.streams.info(s.stream)).config.subjects;
  } catch {
    // not there yet
  }
  if (existing) {
    if (!subjects.every((x) => existing.includes(x)))
      throw new ConfigError(
        `the stream ${s.stream} of run ${s.run} records ${existing.join(", ")}, not ${subjects.join(" and ")}: it was made by an older version of this framework and cannot be resumed; start a new run`,
      );
    return;
  }
  await jsm.streams.add({
    name: s.stream,
    subjects,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    // Idempotent ids: a re-published message is stored once. A resumed market never re-publishes a
    // recorded round, so the window is a safety net; with one id per round it stays short to bound
    // the server's memory (~2,000 ids per second at B = 1).
    duplicate_window: 2 * 60 * 1_000_000_000,
  });
}

/** Resolves once the run's stream exists (the market creates it); polls, for readers that may not create it. */
export async function waitForStream(jsm: JetStreamManager, runId: string, everyMs = 100): Promise<void> {
  const name = runSubjects(runId).stream;
  for (;;) {
    try {
      await jsm.streams.info(name);
      return;
    } catch (err) {
      // Anything but "not there yet" (a permission error, a closed connection) will not pass by waiting.
      if (!/not found/i.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}

/** Round statistics held by one stats message. */
export function statsIn(data: Uint8Array): RoundStats[] {
  return decode.stats(data).rounds ?? [];
}

/** How many messages the stream holds on `subject` now (0 when the stream does not exist). */
async function countOn(jsm: JetStreamManager, stream: string, subject: string): Promise<number> {
  try {
    const info = await jsm.streams.info(stream, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  } catch {
    return 0;
  }
}

/** How many rounds the run's record holds. */
export async function recordedRounds(jsm: JetStreamManager, runId: string): Promise<number> {
  const s = runSubjects(runId);
  return countOn(jsm, s.stream, s.outcome);
}

/** The last sequence number of the run's stream (0 when empty); the stream must exist. */
export async function streamSeq(jsm: JetStreamManager, runId: string): Promise<number> {
  return (await jsm.streams.info(runSubjects(runId).stream)).state.last_seq;
}

/** Reads the messages on one subject of the run's stream that exist when called, in order. */
async function readSubject(
  nc: NatsConnection,
  runId: string,
  subject: string,
  onMessage: (data: Uint8Array) => void,
): Promise<void> {
  const s = runSubjects(runId);
  const js = jetstream(nc);
  const n = await countOn(await js.jetstreamManager(), s.stream, subject);
  if (n === 0) return;
  const c = await js.consumers.get(s.stream, { deliver_policy: DeliverPolicy.All, filter_subjects: subject });
  const it = await c.consume();
  let read = 0;
  for await (const m of it) {
    onMessage(m.data);
    // Stop at the last message that existed when the read began (the stream may still grow).
    if (++read >= n) break;
  }
  await it.close();
}

/** Reads every recorded outcome in order (round 0 first), up to the record's end when called. */
export async function readRecord(nc: NatsConnection, runId: string, onOutcome?: (o: Outcome) => void): Promise<Outcome[]> {
  const out: Outcome[] = [];
  await readSubject(nc, runId, runSubjects(runId).outcome, (data) => {
    const o = decode.outcome(data);
    if (onOutcome) onOutcome(o);
    else out.push(o);
  });
  return out;
}

/** Reads every recorded round's statistics in order, up to the stream's end when called. */
export async function readStats(nc: NatsConnection, runId: string): Promise<RoundStats[]> {
  const out: RoundStats[] = [];
  await readSubject(nc, runId, runSubjects(runId).stats, (data) => out.push(...statsIn(data)));
  return out;
}
