/**
 * The durable record of a run: a JetStream stream with two subjects.
 * - `stk.<run>.outcome`: the Outcome of every cleared round, exactly as the firms received it (one
 *   message per round, idempotent id <run>-<round>). A run's results are rebuilt from it and a
 *   restarted market resumes after its last round.
 * - `stk.<run>.stats`: RoundStatsBatch messages (batch means of consecutive rounds, published
 *   after their outcomes), which progress and metrics follow without receiving the batch arrays.
 * Reading uses JetStream direct gets only (no consumers): a consumer's deliver subject, like any
 * reply subject, could aim stored messages at the protocol's subjects. The results reader sits in
 * an account of its own and reaches the stream through an import (RunSubjects.recordApi), so even
 * its replies land outside the run's subjects (services/auth/server-config.ts).
 */
import { type JetStreamManager, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { clip, decode, type Outcome, type RoundStats, runSubjects } from "../bus/index.js";
import { ConfigError, RecordBroken } from "../errors.js";

/**
 * Creates the run's record stream when it does not exist yet (idempotent); refuses a stream of
 * another layout. `replicas` > 1 (a NATS cluster) stores each message on that many nodes, so the
 * record survives losing a node; a stream that exists keeps its own.
 */
export async function ensureRecordStream(jsm: JetStreamManager, runId: string, o: { replicas?: number } = {}): Promise<void> {
  const s = runSubjects(runId);
  const subjects = [s.outcome, s.stats];
  let existing: string[] | undefined;
  let direct = false;
  try {
    const cfg = (await jsm.streams.info(s.stream)).config;
    existing = cfg.subjects;
    direct = cfg.allow_direct === true;
  } catch {
    // not there yet
  }
  if (existing) {
    if (!subjects.every((x) => existing.includes(x)) || !direct)
      throw new ConfigError(
        `the stream ${s.stream} of run ${s.run} records ${existing.join(", ")}${direct ? "" : " without direct gets"}, not ${subjects.join(" and ")} with direct gets: it was made by an older version of this framework and cannot be resumed; start a new run`,
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
    // Readers fetch by sequence (direct get), never through consumers.
    allow_direct: true,
    num_replicas: o.replicas ?? 1,
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
  } catch (err) {
    // No stream yet means nothing recorded; any other failure must not pass for "empty".
    if (/not found/i.test((err as Error).message)) return 0;
    throw err;
  }
}

/** How many rounds the run's record holds. */
export async function recordedRounds(jsm: JetStreamManager, runId: string): Promise<number> {
  const s = runSubjects(runId);
  return countOn(jsm, s.stream, s.outcome);
}

/**
 * What a market repairing its record needs to know (market/service/recorder.ts, StreamState): how
 * many outcomes the stream holds, its last message (sequence, id) and its last outcome. Read from
 * the stream's leader (info) and by direct get.
 */
export async function recordState(
  jsm: JetStreamManager,
  runId: string,
): Promise<{ outcomes: number; lastSeq: number; lastMsgId: string | undefined; lastOutcome: { seq: number; msgId: string | undefined } | undefined }> {
  const s = runSubjects(runId);
  const info = await jsm.streams.info(s.stream, { subjects_filter: s.outcome });
  const outcomes = info.state.subjects?.[s.outcome] ?? 0;
  const lastSeq = info.state.last_seq;
  const idOf = (m: { header?: { get(k: string): string } } | null) => m?.header?.get("Nats-Msg-Id") || undefined;
  const last = lastSeq > 0 ? await jsm.direct.getMessage(s.stream, { seq: lastSeq }) : null;
  // The last outcome, walking back from the end (a last_by_subj get needs a permission the
  // market does not have): stats messages come at most one per outcome, so it is close.
  let lastOutcome: { seq: number; msgId: string | undefined } | undefined;
  for (let seq = lastSeq, m = last; outcomes > 0 && seq > 0 && lastOutcome === undefined; ) {
    if (m?.subject === s.outcome) lastOutcome = { seq, msgId: idOf(m) };
    else if (--seq > 0) m = await jsm.direct.getMessage(s.stream, { seq });
  }
  return { outcomes, lastSeq, lastMsgId: idOf(last), lastOutcome };
}

/** The last sequence number of the run's stream (0 when empty); the stream must exist. */
export async function streamSeq(jsm: JetStreamManager, runId: string): Promise<number> {
  return (await jsm.streams.info(runSubjects(runId).stream)).state.last_seq;
}

/**
 * The JetStream manager that reads run `runId`'s record over `nc`: `asReader` for the results
 * reader identity, whose API calls go through its account's import prefix.
 */
export function recordManager(nc: NatsConnection, runId: string, asReader = false): Promise<JetStreamManager> {
  return jetstreamManager(nc, asReader ? { checkAPI: false, apiPrefix: runSubjects(runId).recordApi } : {});
}

/**
 * One batched direct get (servers >= 2.11; older ones get one message per request): at most this
 * many messages and bytes. The library times a batch out 5 s after its request, so a batch stays
 * small enough to arrive within that on a slow link (1 MiB: 5 s at 200 KB/s).
 */
const BATCH = 512;
const BATCH_BYTES = 1024 * 1024;

/**
 * Calls `onMessage` for each message on `subject` of the run's stream, in order, from sequence 1;
 * stops after the message at sequence `until`, or, without `until`, when the stream holds no
 * further message and `more()` says to stop waiting (polling every `everyMs`).
 */
async function scan(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  onMessage: (data: Uint8Array, seq: number) => void,
  o: { until?: number; more?: () => boolean; everyMs?: number } = {},
): Promise<void> {
  let seq = 1;
  let batched = true;
  let idle = false;
  const past = (s: number) => o.until !== undefined && s > o.until;
  const none = (err: unknown) => /no message|not found/i.test((err as Error).message);
  const transient = (err: unknown) =>
    /timeout|timed out|disconnect|not enabled|no responders|unavailable|503/i.test(`${(err as Error).name} ${(err as Error).message}`);
  for (;;) {
    if (past(seq)) return;
    let got = 0;
    try {
      // Following a live stream: probe with one request before opening a batch (a batch holds a
      // subscription for seconds; an idle follower would keep hundreds open).
      const probe = idle ? await jsm.direct.getMessage(stream, { seq, next_by_subj: subject }) : undefined;
      if (probe === null) got = 0;
      else if (batched) {
        try {
          const it = await jsm.direct.getBatch(stream, { seq, batch: BATCH, max_bytes: BATCH_BYTES, next_by_subj: subject });
          for await (const m of it) {
            if (past(m.seq)) {
              it.stop();
              return;
            }
            onMessage(m.data, m.seq);
            seq = m.seq + 1;
            got++;
          }
        } catch (err) {
          if (/require server/i.test((err as Error).message)) {
            batched = false; // an older server: one message per request
            continue;
          }
          // A batch cut short by its timeout after some messages: carry on from where it stopped.
          const short = got > 0 && /timeout/i.test(`${(err as Error).name} ${(err as Error).message}`);
          if (!short && !none(err)) throw err;
        }
      } else {
        const m = probe ?? (await jsm.direct.getMessage(stream, { seq, next_by_subj: subject }));
        if (m !== null && !past(m.seq)) {
          onMessage(m.data, m.seq);
          seq = m.seq + 1;
          got = 1;
        }
      }
    } catch (err) {
      // Following a live run: a server restarting, or a cluster electing the stream's leader,
      // answers with timeouts or errors for a while. Ask again from the same place (nothing is
      // skipped); anything else, or a read of what exists now, fails.
      if (!(o.more?.() ?? false) || !transient(err)) throw err;
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    idle = got === 0;
    if (got === 0) {
      if (o.until !== undefined || !(o.more?.() ?? false)) return;
      await new Promise((r) => setTimeout(r, o.everyMs ?? 50));
    }
  }
}

/** Reads the messages on one subject of the run's stream that exist when called, in order. */
async function readSubject(jsm: JetStreamManager, runId: string, subject: string, onMessage: (data: Uint8Array, seq: number) => void): Promise<void> {
  const s = runSubjects(runId);
  let until: number;
  try {
    until = (await jsm.streams.info(s.stream)).state.last_seq;
  } catch (err) {
    if (/not found/i.test((err as Error).message)) return; // no stream yet: nothing recorded
    throw err;
  }
  await scan(jsm, s.stream, subject, onMessage, { until });
}

/** Decodes a stored message, or stops with RecordBroken naming where and what was found. */
function stored<T>(runId: string, what: string, seq: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new RecordBroken(
      `the record of run ${runId} holds a message at sequence ${seq} that does not decode as ${what} (${clip((err as Error).message, 200)})`,
    );
  }
}

export interface ReadOptions {
  /** Called with each outcome instead of collecting them. */
  onOutcome?: (o: Outcome) => void;
  /** Read as the results reader (through its account's import prefix). */
  asReader?: boolean;
}

/** Reads every recorded outcome in order (round 0 first), up to the record's end when called. */
export async function readRecord(nc: NatsConnection, runId: string, o: ReadOptions = {}): Promise<Outcome[]> {
  const out: Outcome[] = [];
  const jsm = await recordManager(nc, runId, o.asReader);
  await readSubject(jsm, runId, runSubjects(runId).outcome, (data, seq) => {
    const outcome = stored(runId, "an Outcome", seq, () => decode.outcome(data));
    if (o.onOutcome) o.onOutcome(outcome);
    else out.push(outcome);
  });
  return out;
}

/** Reads every recorded round's statistics in order, up to the stream's end when called. */
export async function readStats(nc: NatsConnection, runId: string, o: { asReader?: boolean } = {}): Promise<RoundStats[]> {
  const out: RoundStats[] = [];
  const jsm = await recordManager(nc, runId, o.asReader);
  await readSubject(jsm, runId, runSubjects(runId).stats, (data, seq) => out.push(...stored(runId, "a RoundStatsBatch", seq, () => statsIn(data))));
  return out;
}

/**
 * Follows the stats subject of the run's stream from its start while `more()` is true, calling
 * `onStats` with each batch in order (live: polls for messages not stored yet).
 */
export async function followStats(jsm: JetStreamManager, runId: string, onStats: (s: RoundStats[]) => void, more: () => boolean): Promise<void> {
  const s = runSubjects(runId);
  await scan(jsm, s.stream, s.stats, (data, seq) => onStats(stored(runId, "a RoundStatsBatch", seq, () => statsIn(data))), { more });
}

/**
 * How a record's rounds compare with the run's rounds 0..rounds-1: rounds missing (lost) and extra
 * copies (cleared twice; a round number outside the run counts as one too). The fault tests and
 * the soak report these two figures.
 */
export function roundIntegrity(record: readonly Outcome[], rounds: number): { lost: number; clearedTwice: number } {
  const seen = new Map<number, number>();
  for (const o of record) seen.set(Number(o.round ?? -1), (seen.get(Number(o.round ?? -1)) ?? 0) + 1);
  let lost = 0;
  let clearedTwice = 0;
  for (let r = 0; r < rounds; r++) {
    const k = seen.get(r) ?? 0;
    if (k === 0) lost++;
    if (k > 1) clearedTwice += k - 1;
  }
  for (const [r, k] of seen) if (r < 0 || r >= rounds) clearedTwice += k;
  return { lost, clearedTwice };
}
